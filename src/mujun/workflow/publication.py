"""Publication (公示) of a run: the notice, its objection window and public annexes, then the
final results once the window has closed.

A notice opens with its basis documents (with document numbers), the counts by class, the period,
a contact phone and how to object; one public annex workbook per county follows, one sheet per
category, without confidential figures (ux.md, Publication). Every publication is kept: when a
later run of the same year and region is published (after objections were accepted), the
earlier run and its notice are marked superseded, never removed.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date as Date
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mujun.auth.audit import Actor
from mujun.notifications import notify_publication
from mujun.reference.divisions import division_name
from mujun.reports import write_published_workbooks
from mujun.store import Store
from mujun.workflow.errors import WorkflowError
from mujun.workflow.runs import (
    STATUS_ZH,
    UNPUBLISHED,
    get_run,
    local_today,
    move_status,
    runs_in_force,
)

DEFAULT_WINDOW_DAYS = 7
# Who finalises a run once its window is over and every objection has been reviewed.
PLATFORM = Actor("platform", "system")
DEFAULT_PROCEDURE = (
    "对公示结果有异议的企业，请于公示期内通过所在乡镇（街道）或园区提出书面异议，并附相关证明材料；"
    "逾期提出的异议不予受理。"
)


@dataclass(frozen=True)
class BasisDocument:
    """A document the evaluation rests on: its title and document number (文号)."""

    title: str
    doc_no: str


@dataclass(frozen=True)
class PublicationSpec:
    """What an analyst gives to publish a run; unset dates default to today + 7 days."""

    basis: list[BasisDocument]
    contact_phone: str
    window_start: Date | None = None
    window_end: Date | None = None
    window_days: int = DEFAULT_WINDOW_DAYS
    procedure: str | None = None
    title: str | None = None
    # A publication that took place before it was recorded (e.g. last years' results brought
    # into the platform): its window may lie in the past.
    historical: bool = False


def class_counts(store: Store, run_id: str) -> dict[str, Any]:
    """Counts of the run's firms by class (unclassed firms by status), overall and per category."""
    rows = store.rows(
        'SELECT "class", any_value(class_name), status, category, count(*) FROM results '
        "WHERE run_id = ? GROUP BY ALL ORDER BY 1, 3, 4",
        [run_id],
    )
    by_class: dict[str, dict[str, Any]] = {}
    by_category: dict[str, dict[str, int]] = {}
    total = 0
    for klass, name, status, category, n in rows:
        key = klass or {"provisional": "暂评", "not-evaluated": "不参评"}.get(status, "未分类")
        entry = by_class.setdefault(key, {"class": klass or "", "name": name or key, "firms": 0})
        entry["firms"] += int(n)
        cat = by_category.setdefault(category or "", {})
        cat[key] = cat.get(key, 0) + int(n)
        total += int(n)
    return {"firms": total, "by_class": list(by_class.values()), "by_category": by_category}


def _window(spec: PublicationSpec, today: Date) -> tuple[Date, Date]:
    if spec.historical and spec.window_start is None:
        raise WorkflowError(
            "invalid", "补录的公示须写明开始日期 / a historical publication needs its start date"
        )
    start = spec.window_start or today
    end = spec.window_end or start + timedelta(days=spec.window_days - 1)
    problems = []
    if start < today and not spec.historical:
        problems.append(
            f"公示开始日期 {start} 早于今天 {today} / the window cannot start in the past"
        )
    if end < start:
        problems.append(
            f"公示结束日期 {end} 早于开始日期 {start} / the window ends before it starts"
        )
    if problems:
        raise WorkflowError("invalid", "; ".join(problems))
    return start, end


def publish_run(
    store: Store,
    run_id: str,
    spec: PublicationSpec,
    *,
    actor: Actor,
    now: datetime,
    annex_root: Path,
) -> dict[str, Any]:
    """Publish a draft run (or one in confirmation): record the notice, write the public
    annexes, mark it published, and mark the runs it replaces (published or final runs of the
    same year and region) superseded.

    Call from the store's one writer: the notice, the statuses and the audit entries are one
    transaction, and the annex folder is removed again if anything fails.
    """
    run = get_run(store, run_id)
    if run.status not in UNPUBLISHED:
        raise WorkflowError(
            "conflict",
            f"只有草稿批次可以公示，批次 {run_id} 为{STATUS_ZH.get(run.status, run.status)} / "
            f"only a draft run can be published; {run_id} is {run.status}",
        )
    start, end = _window(spec, local_today(now))
    if not spec.basis:
        raise WorkflowError("invalid", "请列出公示依据文件及文号 / list the basis documents")
    counts = class_counts(store, run_id)
    pub_id = int(store.scalar("SELECT nextval('publication_id_seq')"))
    folder = Path(annex_root) / run_id / f"P{pub_id:04d}"
    title = spec.title or (
        f"{division_name(run.region) or run.region}{run.year}年度工业企业亩均效益综合评价结果公示"
    )
    basis = [{"title": b.title, "doc_no": b.doc_no} for b in spec.basis]
    try:
        with store.transaction():
            folder.mkdir(parents=True, exist_ok=False)
            paths = write_published_workbooks(store, run_id, run.region, folder, public=True)
            annexes = [p.name for p in paths]
            store.execute(
                "INSERT INTO publications (publication_id, run_id, region, title, window_start, "
                "window_end, basis, contact_phone, procedure, counts, annex_dir, annexes, "
                "published_at, published_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    pub_id,
                    run_id,
                    run.region,
                    title,
                    start,
                    end,
                    json.dumps(basis, ensure_ascii=False),
                    spec.contact_phone,
                    spec.procedure or DEFAULT_PROCEDURE,
                    json.dumps(counts, ensure_ascii=False),
                    str(folder),
                    json.dumps(annexes, ensure_ascii=False),
                    now,
                    actor.name,
                ],
            )
            move_status(
                store,
                run,
                "published",
                actor,
                now,
                publication_id=pub_id,
                window_start=start,
                window_end=end,
                basis=basis,
                counts=counts,
                annexes=annexes,
            )
            for old in runs_in_force(store, run.year, run.region):
                if old.run_id != run_id:
                    supersede(store, old.run_id, run_id, pub_id, actor=actor, now=now)
            if not spec.historical:  # a past window: nobody is told to object now
                notify_publication(
                    store,
                    {
                        "publication_id": pub_id,
                        "run_id": run_id,
                        "title": title,
                        "window_start": start,
                        "window_end": end,
                        "contact_phone": spec.contact_phone,
                    },
                    now,
                )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    found = latest_publication(store, run_id)
    assert found is not None
    return found


def supersede(
    store: Store, run_id: str, by_run: str, by_publication: int, *, actor: Actor, now: datetime
) -> None:
    """Mark a published or final run, and its newest notice, superseded by a later run's
    publication (inside the caller's transaction)."""
    run = get_run(store, run_id)
    pub = latest_publication(store, run_id)
    move_status(
        store,
        run,
        "superseded",
        actor,
        now,
        superseded_by=by_run,
        by_publication=by_publication,
        publication_id=pub and pub["publication_id"],
    )
    if pub is not None:
        store.execute(
            "UPDATE publications SET superseded_at = ?, superseded_by = ?, "
            "superseded_by_publication = ? WHERE publication_id = ?",
            [now, by_run, by_publication, pub["publication_id"]],
        )


def finalise_run(store: Store, run_id: str, *, actor: Actor, now: datetime) -> dict[str, Any]:
    """Make a published run final once its objection window has closed and every objection
    filed in it has been reviewed."""
    run = get_run(store, run_id)
    pub = latest_publication(store, run_id)
    if run.status != "published" or pub is None:
        raise WorkflowError(
            "conflict",
            f"批次 {run_id} 未处于公示状态 / run {run_id} is {run.status}, not published",
        )
    today = local_today(now)
    if today <= pub["window_end"]:
        raise WorkflowError(
            "conflict",
            f"公示期至 {pub['window_end']} 结束，之后才能定稿 / the objection window runs until "
            f"{pub['window_end']}; finalise after it",
        )
    pending = int(
        store.scalar(
            "SELECT count(*) FROM confirmations WHERE run_id = ? AND status = 'contested'",
            [run_id],
        )
    )
    if pending:
        raise WorkflowError(
            "conflict",
            f"尚有 {pending} 条异议未处理 / {pending} objections still await review",
        )
    with store.transaction():
        store.execute(
            "UPDATE publications SET finalised_at = ?, finalised_by = ? WHERE publication_id = ?",
            [now, actor.name, pub["publication_id"]],
        )
        move_status(store, run, "final", actor, now, publication_id=pub["publication_id"])
    found = latest_publication(store, run_id)
    assert found is not None
    return found


def due_for_final(store: Store, today: Date) -> list[str]:
    """Published runs whose window closed before ``today`` and whose objections have all been
    reviewed: they are final now."""
    return [
        r[0]
        for r in store.rows(
            "SELECT r.run_id FROM runs r JOIN publications p ON p.run_id = r.run_id "
            "WHERE r.status = 'published' AND p.publication_id = (SELECT max(publication_id) "
            "FROM publications q WHERE q.run_id = r.run_id) AND p.window_end < ? "
            "AND NOT EXISTS (SELECT 1 FROM confirmations c WHERE c.run_id = r.run_id "
            "AND c.status = 'contested') ORDER BY r.run_id",
            [today],
        )
    ]


def finalise_due_runs(store: Store, *, now: datetime, actor: Actor = PLATFORM) -> list[str]:
    """Make final every published run whose window is over and objections reviewed (the
    platform does this on its own, as the notice says); return their ids."""
    done = []
    for run_id in due_for_final(store, local_today(now)):
        finalise_run(store, run_id, actor=actor, now=now)
        done.append(run_id)
    return done


_PUB_COLUMNS = (
    "publication_id, run_id, region, title, window_start, window_end, basis::VARCHAR, "
    "contact_phone, procedure, counts::VARCHAR, annexes::VARCHAR, published_at, published_by, "
    "finalised_at, finalised_by, superseded_at, superseded_by, superseded_by_publication"
)
_PUB_NAMES = [c.split("::")[0].strip() for c in _PUB_COLUMNS.split(",")]


def _publication(row: tuple, today: Date | None = None) -> dict[str, Any]:
    pub = dict(zip(_PUB_NAMES, row, strict=True))
    for key in ("basis", "counts", "annexes"):
        pub[key] = json.loads(pub[key]) if pub[key] else None
    pub["region_name"] = division_name(pub["region"]) or pub["region"]
    if today is not None:
        pub["window_open"] = (
            pub["window_start"] <= today <= pub["window_end"] and pub["superseded_at"] is None
        )
    pub["state"] = publication_state(pub, today)
    return pub


def publication_state(pub: dict[str, Any], today: Date | None) -> str:
    """``superseded``, ``final``, ``upcoming``, ``open`` or ``closed`` (window over, run not
    final yet); ``published`` when no date is given."""
    if pub["superseded_at"] is not None:
        return "superseded"
    if pub["finalised_at"] is not None:
        return "final"
    if today is None:
        return "published"
    if today < pub["window_start"]:
        return "upcoming"
    return "open" if today <= pub["window_end"] else "closed"


def latest_publication(
    store: Store, run_id: str, today: Date | None = None
) -> dict[str, Any] | None:
    """The run's newest publication (None when it was never published)."""
    rows = store.rows(
        f"SELECT {_PUB_COLUMNS} FROM publications WHERE run_id = ? "
        "ORDER BY publication_id DESC LIMIT 1",
        [run_id],
    )
    return _publication(rows[0], today) if rows else None


def list_publications(store: Store, today: Date | None = None) -> list[dict[str, Any]]:
    """Every publication, newest first (the whole history is kept)."""
    rows = store.rows(f"SELECT {_PUB_COLUMNS} FROM publications ORDER BY publication_id DESC")
    return [_publication(r, today) for r in rows]


def annex_path(store: Store, run_id: str, name: str) -> Path:
    """The path of one public annex of the run's newest publication (not-found otherwise)."""
    row = store.rows(
        "SELECT annex_dir, annexes::VARCHAR FROM publications WHERE run_id = ? "
        "ORDER BY publication_id DESC LIMIT 1",
        [run_id],
    )
    if not row or name not in json.loads(row[0][1] or "[]"):
        raise WorkflowError("not-found", f"未找到公示附件 {name} / annex {name} not found")
    path = Path(row[0][0]) / name
    if not path.is_file():
        raise WorkflowError("not-found", f"公示附件 {name} 已不在服务器上 / annex file missing")
    return path

"""Confirmation (确认) and objections: an enterprise confirms or contests each figure of its sheet
(land first, then the 一企一单), an analyst accepts or rejects each contest with a note.

A filing is one row per run × firm × field × phase: ``confirmed``, or ``contested`` and later
``accepted`` or ``rejected``. Filing is possible while the run is open for confirmation (status
``confirming``, with an open round: ``land`` for land areas, ``sheet`` for every figure) or during
its publication's objection window; late objections, and objections to a superseded run, are
refused. Nothing here edits facts or results:
accepted corrections feed a new run (:mod:`mujun.workflow.rerun`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date as Date
from datetime import datetime
from typing import Any

from mujun.auth.audit import Actor, record
from mujun.evaluation.inputs import EXEMPTION_EVENT, EXEMPTION_FIELD
from mujun.notifications import (
    notify_confirmation_open,
    notify_objection_decided,
    notify_objection_filed,
)
from mujun.reports.common import departments
from mujun.reports.sheet_data import FIGURES, Correction, RunFacts, run_facts
from mujun.store import Store
from mujun.workflow.errors import WorkflowError
from mujun.workflow.evidence import EvidenceFile, store_evidence
from mujun.workflow.publication import latest_publication
from mujun.workflow.runs import (
    IN_FORCE,
    STATUS_ZH,
    UNPUBLISHED,
    RunRef,
    get_run,
    local_today,
    move_status,
)

STAGES = ("land", "sheet")
LAND_FIELDS = ("land_own_mu", "land_leased_mu")
REVIEWED = ("accepted", "rejected")


@dataclass(frozen=True)
class FieldInfo:
    """A figure of the sheet an enterprise can confirm or contest."""

    field: str
    label: str
    unit: str
    source: str
    stage: str  # land: shown first; sheet: the rest of the 一企一单


FIELDS: dict[str, FieldInfo] = {
    f.field: FieldInfo(
        f.field, f.label, f.unit, f.source, "land" if f.field in LAND_FIELDS else "sheet"
    )
    for f in sorted(FIGURES, key=lambda f: f.field not in LAND_FIELDS)
}
FIELDS[EXEMPTION_FIELD] = FieldInfo(EXEMPTION_FIELD, "豁免申请", "", "events", "sheet")


def field_info(name: str) -> FieldInfo:
    """The sheet field ``name`` (invalid when unknown)."""
    if name not in FIELDS:
        raise WorkflowError(
            "invalid",
            f"未知字段 {name} / unknown field; known: {', '.join(FIELDS)}",
        )
    return FIELDS[name]


def open_round(
    store: Store, run_id: str, stage: str, *, closes_on: Date | None, actor: Actor, now: datetime
) -> dict[str, Any]:
    """Open a draft run for confirmation by its firms: ``land`` first, then ``sheet``; the
    first round moves the run from ``draft`` to ``confirming``."""
    if stage not in STAGES:
        raise WorkflowError("invalid", f"未知确认阶段 {stage} / stage must be land or sheet")
    run = get_run(store, run_id)
    if run.status not in UNPUBLISHED:
        raise WorkflowError(
            "conflict",
            f"只有草稿批次可以开放确认，批次 {run_id} 为{STATUS_ZH.get(run.status, run.status)} / "
            f"only a draft run can be opened for confirmation; {run_id} is {run.status}",
        )
    if closes_on is not None and closes_on < local_today(now):
        raise WorkflowError("invalid", f"截止日期 {closes_on} 已过 / closes_on is in the past")
    if store.scalar(
        "SELECT count(*) FROM confirmation_rounds WHERE run_id = ? AND stage = ?", [run_id, stage]
    ):
        raise WorkflowError("conflict", f"该阶段已开放 / stage {stage} is already open")
    with store.transaction():
        store.execute(
            "INSERT INTO confirmation_rounds VALUES (?, ?, ?, ?, ?)",
            [run_id, stage, now, actor.name, closes_on],
        )
        # One audit entry: the round, and the run's move to 'confirming' with the first one.
        if run.status == "draft":
            move_status(store, run, "confirming", actor, now, stage=stage, closes_on=closes_on)
        else:
            record(
                store,
                actor,
                now,
                "run.confirmation.open",
                f"run:{run_id}",
                before={"status": run.status},
                after={"status": run.status, "stage": stage, "closes_on": closes_on},
            )
        notify_confirmation_open(store, run_id, run.year, stage, closes_on, now)
    return {"run_id": run_id, "stage": stage, "closes_on": closes_on, "opened_at": now}


def _rounds(store: Store, run_id: str) -> dict[str, Date | None]:
    return dict(
        store.rows("SELECT stage, closes_on FROM confirmation_rounds WHERE run_id = ?", [run_id])
    )


def filing_phase(store: Store, run: RunRef, field: str, today: Date) -> str:
    """``confirmation`` or ``publication`` when ``field`` may be answered today; otherwise a
    conflict saying why (not open yet, window closed: late objections are not accepted)."""
    if run.status == "superseded":
        pub = latest_publication(store, run.run_id)
        later = pub and pub["superseded_by"]
        raise WorkflowError(
            "conflict",
            f"批次 {run.run_id} 已被批次 {later} 取代，请对新公示的结果提出异议 / run "
            f"{run.run_id} was superseded by {later}; object to the new publication",
        )
    if run.status in IN_FORCE:
        pub = latest_publication(store, run.run_id)
        if pub is None:
            raise WorkflowError("conflict", f"批次 {run.run_id} 没有公示记录 / no publication")
        start, end = pub["window_start"], pub["window_end"]
        if today < start:
            raise WorkflowError(
                "conflict", f"公示期自 {start} 开始 / the objection window opens on {start}"
            )
        if today > end or run.status == "final":
            raise WorkflowError(
                "conflict",
                f"公示期已于 {end} 结束，逾期异议不予受理 / the objection window closed on {end}; "
                "late objections are not accepted",
            )
        return "publication"
    rounds = _rounds(store, run.run_id)
    # The land round answers land areas only; the sheet round every figure, land included.
    allowed = [s for s in STAGES if s in rounds and (s == "sheet" or field in LAND_FIELDS)]
    if not allowed:
        what = "用地面积确认" if field in LAND_FIELDS else "一企一单确认"
        raise WorkflowError(
            "conflict",
            f"批次 {run.run_id} 尚未开放{what} / run {run.run_id} is not open for confirmation "
            f"of {field}",
        )
    closes = [rounds[s] for s in allowed]
    if all(c is not None and today > c for c in closes):
        last = max(c for c in closes if c is not None)
        raise WorkflowError(
            "conflict",
            f"确认期已于 {last} 结束，逾期不予受理 / confirmation closed on {last}; late "
            "answers are not accepted",
        )
    return "confirmation"


def firm_values(store: Store, run: RunRef, uscc: str) -> dict[str, float | None]:
    """Each sheet figure of the firm as the run used it: stored facts with the run's overrides."""
    return {name: v for name, (v, _) in firm_figures(store, run, uscc).items()}


def firm_figures(
    store: Store, run: RunRef, uscc: str
) -> dict[str, tuple[float | None, Correction | None]]:
    """Each sheet figure of the firm as the run used it, with the correction that set it (the
    same :func:`~mujun.reports.sheet_data.run_facts` the 一企一单 shows)."""
    facts = run_facts(store, run.run_id, run.year, "uscc = ?", [uscc]).get(uscc, RunFacts())
    out: dict[str, tuple[float | None, Correction | None]] = {
        name: (facts.values.get(name), facts.corrections.get(name))
        for name in FIELDS
        if name != EXEMPTION_FIELD
    }
    exemption = facts.corrections.get(EXEMPTION_FIELD)
    if exemption is not None:
        out[EXEMPTION_FIELD] = (exemption.value, exemption)
    else:
        applied = store.table_exists("events") and store.scalar(
            "SELECT count(*) FROM events WHERE year = ? AND uscc = ? AND event = ?",
            [run.year, uscc, EXEMPTION_EVENT],
        )
        out[EXEMPTION_FIELD] = (float(bool(applied)), None)
    return out


def in_run(store: Store, run_id: str, uscc: str) -> bool:
    """Whether the firm has a result in the run."""
    return bool(
        store.scalar("SELECT count(*) FROM results WHERE run_id = ? AND uscc = ?", [run_id, uscc])
    )


_ROW_COLUMNS = (
    "confirmation_id, run_id, year, uscc, field, phase, status, original_value, proposed_value, "
    "reason, evidence_id, filed_at, filed_by, accepted_value, note, reviewed_at, reviewed_by"
)
_ROW_NAMES = [c.strip() for c in _ROW_COLUMNS.split(",")]


def _filing(row: tuple) -> dict[str, Any]:
    out = dict(zip(_ROW_NAMES, row, strict=True))
    info = FIELDS.get(out["field"])
    out["label"] = info.label if info else out["field"]
    out["unit"] = info.unit if info else ""
    return out


def enterprise_runs(store: Store, uscc: str) -> list[RunRef]:
    """Runs whose sheet the firm may see: runs in confirmation, published, final or
    superseded (history) that include it; newest first."""
    rows = store.rows(
        "SELECT r.run_id FROM runs r WHERE r.kind = 'evaluation' AND EXISTS (SELECT 1 FROM "
        "results x WHERE x.run_id = r.run_id AND x.uscc = ?) AND r.status IN ('confirming', "
        "'published', 'final', 'superseded') ORDER BY r.created_at DESC, r.run_id DESC",
        [uscc],
    )
    return [get_run(store, r[0]) for r in rows]


def firm_sheet(store: Store, run: RunRef, uscc: str, today: Date) -> dict[str, Any]:
    """The firm's figures in the run with the state of each confirmation, in sheet order."""
    figures = firm_figures(store, run, uscc)
    latest: dict[str, dict] = {}
    for row in store.rows(
        f"SELECT {_ROW_COLUMNS} FROM confirmations WHERE run_id = ? AND uscc = ? "
        "ORDER BY filed_at, confirmation_id",
        [run.run_id, uscc],
    ):
        filing = _filing(row)
        latest[filing["field"]] = filing
    names = departments()
    fields = []
    for info in FIELDS.values():
        try:
            phase = filing_phase(store, run, info.field, today)
            closed = None
        except WorkflowError as exc:
            phase, closed = None, exc.message
        filing = latest.get(info.field)
        answered = filing is not None and filing["phase"] == phase
        value, corr = figures.get(info.field, (None, None))
        fields.append(
            {
                "field": info.field,
                "label": info.label,
                "unit": info.unit,
                "stage": info.stage,
                "source": info.source,
                "department": names.get(info.source, info.source),
                "period": f"{run.year}年度",
                "value": value,
                # The run was evaluated on a corrected figure: what it replaced, and the objection.
                "correction": corr
                and {
                    "original": corr.original,
                    "confirmation_id": corr.confirmation_id,
                    "objection_run_id": corr.objection_run_id,
                },
                "status": filing["status"] if filing else "open",
                "filing": filing,
                "can_answer": phase is not None and not answered,
                "closed_reason": closed,
            }
        )
    pub = latest_publication(store, run.run_id, today)
    return {
        "run_id": run.run_id,
        "year": run.year,
        "run_status": run.status,
        "publication": pub
        and {k: pub[k] for k in ("publication_id", "window_start", "window_end", "window_open")},
        "rounds": _rounds(store, run.run_id),
        "uscc": uscc,
        "fields": fields,
    }


def file_answer(
    store: Store,
    *,
    run_id: str,
    uscc: str,
    field: str,
    contest: bool,
    actor: Actor,
    now: datetime,
    proposed_value: float | None = None,
    reason: str | None = None,
    evidence: EvidenceFile | None = None,
) -> dict[str, Any]:
    """The firm confirms a figure, or contests it with a reason, a proposed value and evidence."""
    info = field_info(field)
    run = get_run(store, run_id)
    if not in_run(store, run_id, uscc):
        raise WorkflowError("not-found", f"该企业不在批次 {run_id} 中 / firm not in run {run_id}")
    phase = filing_phase(store, run, field, local_today(now))
    if store.scalar(
        "SELECT count(*) FROM confirmations WHERE run_id = ? AND uscc = ? AND field = ? "
        "AND phase = ?",
        [run_id, uscc, field, phase],
    ):
        raise WorkflowError(
            "conflict",
            f"{info.label}已提交过确认或异议 / {field} was already answered in this {phase}",
        )
    original = firm_values(store, run, uscc).get(field)
    problems = []
    if contest:
        reason = (reason or "").strip()
        if not reason:
            problems.append("请填写异议理由 / give the reason")
        if field == EXEMPTION_FIELD:
            proposed_value = 1.0
        elif proposed_value is None:
            problems.append(f"请填写{info.label}的正确数值 / give the correct value")
        elif proposed_value < 0:
            problems.append(f"{info.label}不能为负数 / the value cannot be negative")
        if evidence is None:
            problems.append("请上传证明材料 / attach an evidence file")
    if problems:
        raise WorkflowError("invalid", "; ".join(problems))
    with store.transaction():
        evidence_id = store_evidence(store, evidence, by=actor.name, now=now) if evidence else None
        cid = int(store.scalar("SELECT nextval('confirmation_id_seq')"))
        status = "contested" if contest else "confirmed"
        store.execute(
            f"INSERT INTO confirmations ({_ROW_COLUMNS}) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL)",
            [
                cid,
                run_id,
                run.year,
                uscc,
                field,
                phase,
                status,
                original,
                proposed_value if contest else None,
                reason if contest else None,
                evidence_id,
                now,
                actor.name,
            ],
        )
        after: dict[str, Any] = {
            "confirmation_id": cid,
            "field": field,
            "phase": phase,
            "status": status,
            "value": original,
        }
        if contest:
            assert evidence is not None
            after |= {
                "proposed_value": proposed_value,
                "reason": reason,
                "evidence": {
                    "filename": evidence.filename,
                    "sha256": evidence.sha256,
                    "size": len(evidence.data),
                },
            }
        record(
            store,
            actor,
            now,
            "objection.file" if contest else "confirmation.confirm",
            f"run:{run_id}/firm:{uscc}/field:{field}",
            after=after,
        )
        if contest:
            notify_objection_filed(store, get_filing(store, cid), now)
    return get_filing(store, cid)


def get_filing(store: Store, confirmation_id: int) -> dict[str, Any]:
    """One filing with the firm's name and region in its run (not-found when unknown)."""
    rows = store.rows(
        f"SELECT {', '.join('c.' + c for c in _ROW_NAMES)}, r.name, r.county_code, r.city_code, "
        "e.filename, e.sha256, e.size FROM confirmations c "
        "LEFT JOIN results r ON r.run_id = c.run_id AND r.uscc = c.uscc "
        "LEFT JOIN evidence e ON e.evidence_id = c.evidence_id WHERE c.confirmation_id = ?",
        [confirmation_id],
    )
    if not rows:
        raise WorkflowError("not-found", f"未找到异议 {confirmation_id} / filing not found")
    return _with_firm(rows[0])


def _with_firm(row: tuple) -> dict[str, Any]:
    n = len(_ROW_NAMES)
    out = _filing(row[:n])
    name, county, city, ev_name, ev_sha, ev_size = row[n:]
    out |= {"name": name, "county_code": county, "city_code": city}
    out["evidence"] = (
        {"filename": ev_name, "sha256": ev_sha, "size": ev_size} if ev_name is not None else None
    )
    return out


def list_filings(
    store: Store,
    run_id: str,
    scope_sql: str,
    scope_params: list,
    *,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Filings of a run whose firm lies in the scope (``scope_sql`` on results ``r``); by
    default the objections (every status but ``confirmed``)."""
    cond = "c.status = ?" if status else "c.status <> 'confirmed'"
    rows = store.rows(
        f"SELECT {', '.join('c.' + c for c in _ROW_NAMES)}, r.name, r.county_code, r.city_code, "
        "e.filename, e.sha256, e.size FROM confirmations c "
        "JOIN results r ON r.run_id = c.run_id AND r.uscc = c.uscc "
        "LEFT JOIN evidence e ON e.evidence_id = c.evidence_id "
        f"WHERE c.run_id = ? AND {cond} AND {scope_sql} ORDER BY c.confirmation_id",
        [run_id, *([status] if status else []), *scope_params],
    )
    return [_with_firm(r) for r in rows]


def review_objection(
    store: Store,
    confirmation_id: int,
    *,
    accept: bool,
    note: str,
    actor: Actor,
    now: datetime,
    value: float | None = None,
) -> dict[str, Any]:
    """Accept (with the proposed or a given value) or reject a contested figure, with a note."""
    before = get_filing(store, confirmation_id)
    if before["status"] != "contested":
        raise WorkflowError(
            "conflict",
            f"异议 {confirmation_id} 的状态为 {before['status']}，不能再审核 / filing "
            f"{confirmation_id} is {before['status']}; only contested figures are reviewed",
        )
    note = (note or "").strip()
    if not note:
        raise WorkflowError("invalid", "请填写审核意见 / give a note with the decision")
    if value is not None and value < 0:
        raise WorkflowError("invalid", "数值不能为负 / the value cannot be negative")
    status = "accepted" if accept else "rejected"
    accepted = (value if value is not None else before["proposed_value"]) if accept else None
    with store.transaction():
        store.execute(
            "UPDATE confirmations SET status = ?, accepted_value = ?, note = ?, reviewed_at = ?, "
            "reviewed_by = ? WHERE confirmation_id = ?",
            [status, accepted, note, now, actor.name, confirmation_id],
        )
        record(
            store,
            actor,
            now,
            f"objection.{'accept' if accept else 'reject'}",
            f"objection:{confirmation_id}/run:{before['run_id']}/firm:{before['uscc']}",
            before={"status": "contested", "value": before["original_value"]},
            after={"status": status, "accepted_value": accepted, "note": note},
        )
        notify_objection_decided(store, get_filing(store, confirmation_id), now)
    return get_filing(store, confirmation_id)

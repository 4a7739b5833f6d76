"""Accepted corrections feed a new draft run, and the diff of two runs says who changed and why.

The stored facts are never edited: a rerun evaluates the base run's year, region and rules with
the accepted corrections applied as overrides (``evaluate(..., overrides=...)``), and writes the
overrides it used to the ``overrides`` table under the new run. Corrections of the base run's
own base are carried forward, so a chain of reruns keeps every accepted correction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mujun.auth.audit import Actor, record
from mujun.evaluation import evaluate
from mujun.evaluation.exports import diff_runs
from mujun.store import Store
from mujun.workflow.confirmations import FIELDS
from mujun.workflow.errors import WorkflowError
from mujun.workflow.runs import get_run, run_rules


def pending_corrections(store: Store, run_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(uscc, field) → value, original value and filing id: corrections carried by the run
    (its own overrides), then the corrections accepted on it, the newest acceptance winning."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for uscc, fld, value, original, cid in store.rows(
        "SELECT uscc, field, value, original_value, confirmation_id FROM overrides "
        "WHERE run_id = ? ORDER BY uscc, field",
        [run_id],
    ):
        out[(uscc, fld)] = {"value": value, "original": original, "confirmation_id": cid}
    for uscc, fld, value, original, cid in store.rows(
        "SELECT uscc, field, accepted_value, original_value, confirmation_id FROM confirmations "
        "WHERE run_id = ? AND status = 'accepted' ORDER BY reviewed_at, confirmation_id",
        [run_id],
    ):
        carried = out.get((uscc, fld))
        # The original is the stored fact, not a value an earlier correction put there.
        first = carried["original"] if carried else original
        out[(uscc, fld)] = {"value": value, "original": first, "confirmation_id": cid}
    return out


def rerun_with_corrections(
    store: Store, run_id: str, *, actor: Actor, now: datetime
) -> dict[str, Any]:
    """Evaluate the run again with its accepted corrections; return the new draft run's id and
    the corrections applied. Call from the one writer (one transaction with its audit entry)."""
    base = get_run(store, run_id)
    accepted = int(
        store.scalar(
            "SELECT count(*) FROM confirmations WHERE run_id = ? AND status = 'accepted'", [run_id]
        )
    )
    if not accepted:
        raise WorkflowError(
            "conflict",
            f"批次 {run_id} 没有已采纳的更正 / run {run_id} has no accepted corrections to apply",
        )
    corrections = pending_corrections(store, run_id)
    overrides: dict[str, dict[str, float | None]] = {}
    for (uscc, fld), c in corrections.items():
        overrides.setdefault(uscc, {})[fld] = c["value"]
    rules, rules_map = run_rules(store, run_id)
    applied = [{"uscc": uscc, "field": fld, **c} for (uscc, fld), c in sorted(corrections.items())]
    with store.transaction():
        summary = evaluate(
            store,
            base.year,
            rules=rules,
            rules_map=rules_map,
            region=None if base.params.get("region") is None else base.region,
            params={"base_run": run_id, "corrections": len(applied), "requested_by": actor.name},
            overrides=overrides,
        )
        for a in applied:
            store.execute(
                "INSERT INTO overrides VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    summary.run_id,
                    base.year,
                    a["uscc"],
                    a["field"],
                    a["value"],
                    a["original"],
                    a["confirmation_id"],
                    run_id,
                ],
            )
        record(
            store,
            actor,
            now,
            "run.rerun",
            f"run:{summary.run_id}",
            before={"run": run_id, "status": base.status},
            after={"run": summary.run_id, "status": "draft", "corrections": applied},
        )
    return {"run_id": summary.run_id, "base_run": run_id, "corrections": applied}


def _fmt(value: float | None, unit: str) -> str:
    return "空" if value is None else f"{value:,.2f}{unit}"


def correction_text(field: str, before: float | None, after: float | None, cid: int) -> str:
    """A correction as a sentence: 自有土地面积 20.00亩 → 10.00亩（异议 #3 已采纳）."""
    info = FIELDS.get(field)
    label, unit = (info.label, info.unit) if info else (field, "")
    return f"{label} {_fmt(before, unit)} → {_fmt(after, unit)}（异议 #{cid} 已采纳）"


def run_diff(
    store: Store, run_a: str, run_b: str, visible: set[str] | None = None
) -> list[dict[str, Any]]:
    """Firms that changed class between two runs, and firms corrected in one run but not the
    other, each with why: its classification reasons and the corrections behind it. ``visible``
    limits the rows to those credit codes."""
    rows = {
        r[0]: {
            "uscc": r[0],
            "name": r[1],
            "class_a": r[2],
            "class_b": r[3],
            "total_a": r[4],
            "total_b": r[5],
            "reasons": r[6],
            "corrections": [],
        }
        for r in diff_runs(store, run_a, run_b)
    }
    ov = {
        run: {
            (u, f): (v, o, c)
            for u, f, v, o, c in store.rows(
                "SELECT uscc, field, value, original_value, confirmation_id FROM overrides "
                "WHERE run_id = ?",
                [run],
            )
        }
        for run in (run_a, run_b)
    }
    changed = {
        k for k in ov[run_a].keys() | ov[run_b].keys() if ov[run_a].get(k) != ov[run_b].get(k)
    }
    for uscc, fld in sorted(changed):
        a, b = ov[run_a].get((uscc, fld)), ov[run_b].get((uscc, fld))
        before = a[0] if a else (b[1] if b else None)
        after, cid = (b[0], b[2]) if b else (a[1] if a else None, a[2] if a else 0)
        if uscc not in rows:
            found = store.rows(
                'SELECT a.name, a."class", b."class", a.total, b.total, b.reasons FROM '
                "results a JOIN results b ON b.uscc = a.uscc AND b.run_id = ? "
                "WHERE a.run_id = ? AND a.uscc = ?",
                [run_b, run_a, uscc],
            )
            if not found:
                continue
            name, ka, kb, ta, tb, reasons = found[0]
            rows[uscc] = {
                "uscc": uscc,
                "name": name,
                "class_a": ka or "—",
                "class_b": kb or "—",
                "total_a": ta,
                "total_b": tb,
                "reasons": reasons,
                "corrections": [],
            }
        rows[uscc]["corrections"].append(
            {
                "field": fld,
                "before": before,
                "after": after,
                "confirmation_id": cid,
                "text": correction_text(fld, before, after, cid),
            }
        )
    out = [r for u, r in sorted(rows.items()) if visible is None or u in visible]
    for r in out:
        r["why"] = "；".join([*(c["text"] for c in r["corrections"]), r["reasons"] or ""]).strip(
            "；"
        )
    return out

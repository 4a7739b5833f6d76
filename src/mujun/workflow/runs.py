"""Runs as the workflow sees them: region, status transitions, and the rules they were made with.

A run's results are never edited. Its status moves one way and each move is audited with the
status before and after::

    draft → confirming → published → final
      └──────────────────┘    └──────┴──→ superseded

``confirming``: opened for confirmation by its firms (land, then the 一企一单); ``published``: a
notice with an objection window; ``final``: the window has closed and every objection filed in
it has been reviewed (made by an analyst, or by the platform once the window is over);
``superseded``: a later run of the same year and region was published (after accepted
objections), so this one stays in the history only. The run in force for a year and region is
its newest published or final run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date as Date
from datetime import datetime, timedelta
from typing import Any

from mujun.auth.audit import Actor, record
from mujun.auth.roles import PROVINCE_CODE
from mujun.rules import RuleSet
from mujun.store import Store
from mujun.workflow.errors import WorkflowError

# Every status a run may move to from each status.
NEXT_STATUS: dict[str, tuple[str, ...]] = {
    "draft": ("confirming", "published"),
    "confirming": ("published",),
    "published": ("final", "superseded"),
    "final": ("superseded",),
}
STATUS_ZH = {
    "draft": "草稿",
    "confirming": "确认中",
    "published": "公示中",
    "final": "定稿",
    "superseded": "已被取代",
}
# Statuses before publication (results seen by officials only) and of runs in force.
UNPUBLISHED = ("draft", "confirming")
IN_FORCE = ("published", "final")
MOVE_ACTIONS = {
    "confirming": "run.confirmation.open",
    "published": "run.publish",
    "final": "run.finalise",
    "superseded": "run.supersede",
}
# Dates of the workflow (windows, deadlines) are dates in China (UTC+8); the clock is UTC.
CHINA_OFFSET = timedelta(hours=8)


def local_today(now: datetime) -> Date:
    """Today's date in China for a naive UTC time."""
    return (now + CHINA_OFFSET).date()


@dataclass(frozen=True)
class RunRef:
    """A run's identity, year, status and region (the province when the run has none)."""

    run_id: str
    year: int
    status: str
    region: str
    params: dict[str, Any] = field(default_factory=dict)


def get_run(store: Store, run_id: str) -> RunRef:
    """The evaluation run ``run_id``; not-found when there is none."""
    rows = store.rows(
        "SELECT run_id, year, status, params::VARCHAR FROM runs "
        "WHERE run_id = ? AND kind = 'evaluation'",
        [run_id],
    )
    if not rows:
        raise WorkflowError("not-found", f"未找到评价批次 {run_id} / run {run_id} not found")
    rid, year, status, params = rows[0]
    data = json.loads(params) if params else {}
    return RunRef(rid, int(year), status, data.get("region") or PROVINCE_CODE, data)


def move_status(store: Store, run: RunRef, to: str, actor: Actor, now: datetime, **after) -> None:
    """Move a run to a next status (:data:`NEXT_STATUS`) and audit it."""
    if to not in NEXT_STATUS.get(run.status, ()):
        raise WorkflowError(
            "conflict",
            f"批次 {run.run_id} 当前为{STATUS_ZH.get(run.status, run.status)}，不能改为"
            f"{STATUS_ZH.get(to, to)} / run {run.run_id} is {run.status}; it cannot become {to} "
            "(draft → confirming → published → final or superseded)",
        )
    store.execute("UPDATE runs SET status = ? WHERE run_id = ?", [to, run.run_id])
    action = MOVE_ACTIONS[to]
    record(
        store,
        actor,
        now,
        action,
        f"run:{run.run_id}",
        before={"status": run.status},
        after={"status": to, **after},
    )


def run_rules(store: Store, run_id: str) -> tuple[RuleSet | None, dict[str, RuleSet] | None]:
    """The rule set of a run (one for all counties) or its rules map (county → rule set)."""
    rows = store.rows(
        "SELECT rr.county_code, rs.rules_hash, rs.body::VARCHAR FROM run_rules rr "
        "JOIN rule_sets rs USING (rules_hash) WHERE rr.run_id = ? ORDER BY 1",
        [run_id],
    )
    if not rows:
        raise WorkflowError(
            "conflict", f"批次 {run_id} 没有记录评价规则 / run {run_id} has no recorded rules"
        )
    by_hash = {h: RuleSet.model_validate(json.loads(body)) for _, h, body in rows}
    if len(by_hash) == 1:
        return next(iter(by_hash.values())), None
    return None, {county: by_hash[h] for county, h, _ in rows}


def runs_in_force(store: Store, year: int, region: str) -> list[RunRef]:
    """The published or final evaluation runs of ``year`` whose region is ``region`` (the
    province for runs without one), newest first."""
    rows = store.rows(
        "SELECT run_id FROM runs WHERE kind = 'evaluation' AND year = ? AND status IN (?, ?) "
        "ORDER BY created_at DESC, run_id DESC",
        [year, *IN_FORCE],
    )
    found = [get_run(store, r[0]) for r in rows]
    return [r for r in found if r.region == region]

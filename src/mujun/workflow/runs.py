"""Runs as the workflow sees them: region, status transitions, and the rules they were made with.

A run's results are never edited. Its status moves one way, draft → published → final, and each
move is audited with the status before and after.
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

NEXT_STATUS = {"draft": "published", "published": "final"}
STATUS_ZH = {"draft": "草稿", "published": "公示中", "final": "定稿"}
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
    """Move a run to the next status (draft → published → final) and audit it."""
    if NEXT_STATUS.get(run.status) != to:
        raise WorkflowError(
            "conflict",
            f"批次 {run.run_id} 当前为{STATUS_ZH.get(run.status, run.status)}，不能改为"
            f"{STATUS_ZH.get(to, to)} / run {run.run_id} is {run.status}; it cannot become {to} "
            "(draft → published → final)",
        )
    store.execute("UPDATE runs SET status = ? WHERE run_id = ?", [to, run.run_id])
    action = {"published": "run.publish", "final": "run.finalise"}[to]
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

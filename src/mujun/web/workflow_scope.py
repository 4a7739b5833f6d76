"""Who may act on a run or an objection, shared by the workflow API and the workflow pages so the
two cannot drift apart: the analyst's region, runs it may act on, objections in its scope, and
the status each kind of workflow refusal answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from mujun.auth.roles import PROVINCE_CODE, REGION_ROLES
from mujun.auth.scope import covers, data_scope
from mujun.auth.users import User
from mujun.store import Store
from mujun.web.errors import forbidden, not_found
from mujun.web.queries import visible_run
from mujun.workflow import WorkflowError, WorkflowSettings
from mujun.workflow.confirmations import get_filing
from mujun.workflow.runs import RunRef, get_run

# What each kind of workflow refusal answers (API status, or the page's status).
STATUS_OF_KIND = {
    "invalid": 400,
    "forbidden": 403,
    "not-found": 404,
    "conflict": 409,
    "too-large": 413,
    "unsupported": 415,
}


def workflow_settings(request: Request) -> WorkflowSettings:
    """The app's workflow settings (folders next to the store unless configured)."""
    return request.app.state.workflow_settings


def user_region(user: User) -> str | None:
    """The region an analyst acts for (the province for the province administrator)."""
    return data_scope(user).region


def may_act_on(user: User, run_region: str) -> bool:
    """Whether the analyst's region covers the run's region (publish, finalise, rerun)."""
    region = user_region(user)
    return user.role in REGION_ROLES and region is not None and covers(region, run_region)


def acting_run(store: Store, user: User, run_id: str) -> RunRef:
    """A run the analyst may act on: visible (else 404) and inside its region (else 403)."""
    if visible_run(store, data_scope(user), run_id) is None:
        raise not_found(f"评价批次 {run_id}", f"run {run_id}")
    try:
        run = get_run(store, run_id)
    except WorkflowError:
        raise not_found(f"评价批次 {run_id}", f"run {run_id}") from None
    if not may_act_on(user, run.region):
        raise forbidden(
            f"批次 {run_id} 的范围（{run.region}）超出您的权限 / the run covers {run.region}, "
            "beyond your region"
        )
    return run


def filing_in_scope(store: Store, user: User, filing_id: int) -> dict[str, Any]:
    """An objection whose firm lies in the analyst's region (404 otherwise)."""
    try:
        filing = get_filing(store, filing_id)
    except WorkflowError:
        filing = None
    region = user_region(user)
    if (
        filing is None
        or region is None
        or visible_run(store, data_scope(user), filing["run_id"]) is None
        # A firm of unknown county is seen by the province only.
        or not covers(region, filing["county_code"] or PROVINCE_CODE)
    ):
        raise not_found(f"异议 {filing_id}", f"filing {filing_id}")
    return filing

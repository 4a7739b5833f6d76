"""The enterprise home page: a light, phone-sized page with the firm's class, rank and score
breakdown (each indicator's value, benchmark and points), its 一企一单, its notifications and the
way to confirmation and objections. Personal data is shown masked.

The policy amounts the class triggers and the path to the next class come from ``mujun.policy``
(being added in parallel); the page keeps a marked slot for them (``#policy-path``) and fills
it only when that module is installed.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from mujun.auth.phones import mask_phone
from mujun.auth.roles import Role
from mujun.notifications import list_notifications
from mujun.web.deps import StoreDep
from mujun.web.pages.common import ViewerDep, audit_read, render
from mujun.web.pages.data import firm_history, firm_items, firm_register, firm_row
from mujun.web.queries import visible_runs

router = APIRouter(include_in_schema=False)


def policy_available() -> bool:
    """Whether the policy ledger (``mujun.policy``) is installed to fill the policy slot."""
    return importlib.util.find_spec("mujun.policy") is not None


@router.get("/home")
def enterprise_home(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    """The enterprise's own page; other roles go to their start page."""
    user = viewer.user
    if user.role != Role.ENTERPRISE or not user.uscc:
        return RedirectResponse("/", status_code=303)
    uscc = user.uscc
    run_ids = [r.run_id for r, _ in visible_runs(store, viewer.scope) if r.kind == "evaluation"]
    history = firm_history(store, run_ids, viewer.scope, uscc)
    _, unread, notices = list_notifications(store, user.username, limit=5)
    context: dict[str, Any] = {
        "uscc": uscc,
        "phone": mask_phone(user.phone),
        "notices": notices,
        "unread": unread,
        "history": history,
        "row": None,
        "items": [],
        "choice": None,
        "tree": None,
        "policy_available": policy_available(),
    }
    if history:
        latest = history[0]
        run_id = latest["run_id"]
        row = firm_row(store, run_id, viewer.scope, uscc)
        if row is not None:
            context |= {
                "row": row,
                "run_id": run_id,
                "year": latest["year"],
                "items": firm_items(store, run_id, uscc, row.get("cohort")),
                "register": firm_register(store, latest["year"], uscc) or {},
            }
            audit_read(request, viewer, "result.read", f"pages/home?run={run_id}")
    return render(request, "home.html", context, viewer=viewer)

"""The enterprise home page: a light, phone-sized page with the firm's class, rank and score
breakdown (each indicator's value, benchmark and points), its 一企一单, its notifications and the
way to confirmation and objections. Personal data is shown masked.

The section ``#policy-path`` shows what the class triggers (the policy ledger, loaded after the
page) and the path to the next class (from the run's robustness analysis, when one was made).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from mujun.auth.phones import mask_phone
from mujun.auth.roles import Role
from mujun.notifications import list_notifications
from mujun.robustness.tables import path_text
from mujun.web.deps import StoreDep
from mujun.web.pages.common import ViewerDep, audit_read, render
from mujun.web.pages.data import firm_history, firm_items, firm_register, firm_row
from mujun.web.pages.i18n import request_lang
from mujun.web.queries import visible_runs
from mujun.web.readmodel import run_robustness

router = APIRouter(include_in_schema=False)


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
        "path_text": None,
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
                "path_text": path_text(
                    run_robustness(store, run_id).path(uscc, request_lang(request)[0])
                ),
            }
            audit_read(request, viewer, "result.read", f"pages/home?run={run_id}")
    return render(request, "home.html", context, viewer=viewer)

"""Confirmation (确认) for enterprise accounts: a light page with large type that works on a
phone. Land areas come first, then every figure of the 一企一单 (value, unit, source department,
period); each figure is confirmed (确认) or contested (有异议) with a reason, the proposed value
and an evidence file. Personal data (the account holder's name) is masked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import RedirectResponse

from mujun.auth.roles import Role
from mujun.reports.common import departments
from mujun.store import Store
from mujun.web.db import Database
from mujun.web.deps import StoreDep
from mujun.web.errors import forbidden, not_found
from mujun.web.pages.common import Viewer, ViewerDep, render
from mujun.web.pages.flow import (
    PageRefusal,
    mask_code,
    mask_name,
    refusals,
    valid_run_id,
)
from mujun.web.workflow_scope import workflow_settings
from mujun.workflow.confirmations import enterprise_runs, file_answer, firm_sheet
from mujun.workflow.evidence import check_evidence
from mujun.workflow.runs import local_today

router = APIRouter(include_in_schema=False)


def _require_enterprise(viewer: Viewer) -> str:
    if viewer.user.role != Role.ENTERPRISE or not viewer.user.uscc:
        raise forbidden("确认页面仅供企业账号使用 / for enterprise accounts only")
    return viewer.user.uscc


def _firm_name(store: Store, run_id: str, uscc: str) -> str:
    return (
        store.scalar("SELECT name FROM results WHERE run_id = ? AND uscc = ?", [run_id, uscc]) or ""
    )


def _page(
    request: Request,
    store: Store,
    viewer: Viewer,
    *,
    run_id: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    uscc = _require_enterprise(viewer)
    runs = enterprise_runs(store, uscc)
    asked = valid_run_id(run_id or request.query_params.get("run"))
    if asked and asked not in {r.run_id for r in runs}:
        raise not_found(f"评价批次 {asked}", f"run {asked}")
    chosen = next((r for r in runs if r.run_id == asked), runs[0] if runs else None)
    today = local_today(request.app.state.clock())
    sheet = firm_sheet(store, chosen, uscc, today) if chosen else None
    context = {
        "runs": runs,
        "sheet": sheet,
        "land": [f for f in sheet["fields"] if f["stage"] == "land"] if sheet else [],
        "figures": [f for f in sheet["fields"] if f["stage"] == "sheet"] if sheet else [],
        "firm_name": _firm_name(store, chosen.run_id, uscc) if chosen else "",
        "masked_uscc": mask_code(uscc),
        "departments": departments(),
        "masked_user": mask_name(viewer.user.display_name) or mask_code(viewer.user.username),
        "today": today,
        "error": error,
        "done": request.query_params.get("done"),
    }
    return render(request, "confirm.html", context, viewer=viewer, status=status)


@router.get("/confirm")
def confirm_page(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    """The firm's sheets: land first, then each figure with its state and closing dates."""
    return _page(request, store, viewer)


def _check_run(store: Store, viewer: Viewer, run_id: str) -> str:
    uscc = _require_enterprise(viewer)
    if valid_run_id(run_id) is None or run_id not in {
        r.run_id for r in enterprise_runs(store, uscc)
    }:
        raise not_found(f"评价批次 {run_id[:64]}", "run")
    return uscc


def _answer(request: Request, store: Store, viewer: Viewer, run_id: str, **kwargs) -> Response:
    uscc = _check_run(store, viewer, run_id)
    db: Database = request.app.state.db
    try:
        with refusals(), db.writer() as w:
            file_answer(
                w,
                run_id=run_id,
                uscc=uscc,
                actor=viewer.actor(request),
                now=request.app.state.clock(),
                **kwargs,
            )
    except PageRefusal as exc:
        return _page(request, store, viewer, run_id=run_id, error=exc.message, status=exc.status)
    done = "contested" if kwargs.get("contest") else "confirmed"
    return RedirectResponse(f"/confirm?run={run_id}&done={done}", status_code=303)


@router.post("/confirm/{run_id}/{field}/confirm")
def confirm_figure(
    request: Request, viewer: ViewerDep, store: StoreDep, run_id: str, field: str
) -> Response:
    """Confirm one figure as correct."""
    return _answer(request, store, viewer, run_id, field=field[:32], contest=False)


@router.post("/confirm/{run_id}/{field}/contest")
def contest_figure(
    request: Request,
    viewer: ViewerDep,
    store: StoreDep,
    run_id: str,
    field: str,
    reason: Annotated[str, Form()] = "",
    proposed_value: Annotated[str, Form()] = "",
    evidence: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Contest one figure with a reason, the proposed value and an evidence file."""
    _check_run(store, viewer, run_id)
    limit = workflow_settings(request).evidence_max_bytes
    try:
        value = None
        if proposed_value.strip():
            try:
                value = float(proposed_value.strip())
            except ValueError:
                raise PageRefusal(400, "请填写数字 / the proposed value must be a number") from None
        checked = None
        if evidence is not None and evidence.filename:
            data = evidence.file.read(limit + 1)
            with refusals():
                checked = check_evidence(evidence.filename, data, limit)
        if len(reason) > 2000:
            raise PageRefusal(400, "异议理由过长 / the reason is too long")
    except PageRefusal as exc:
        return _page(request, store, viewer, run_id=run_id, error=exc.message, status=exc.status)
    return _answer(
        request,
        store,
        viewer,
        run_id,
        field=field[:32],
        contest=True,
        reason=reason,
        proposed_value=value,
        evidence=checked,
    )

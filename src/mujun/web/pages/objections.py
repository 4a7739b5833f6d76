"""Objections (异议) for analysts: the objections of firms in their region, filtered by run and
status; one objection with its evidence; accept or reject with a note; and a new draft run from
the accepted corrections (生成新草稿批次), shown with its changes against the run it reruns.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from mujun.auth.scope import scope_condition
from mujun.store import Store
from mujun.web.db import Database
from mujun.web.deps import StoreDep
from mujun.web.errors import not_found
from mujun.web.pages.common import Viewer, ViewerDep, render
from mujun.web.pages.flow import (
    PageRefusal,
    filing_in_scope,
    may_act_on,
    parse_id,
    refusals,
    require_analyst,
    valid_run_id,
)
from mujun.web.queries import visible_runs
from mujun.workflow import WorkflowError
from mujun.workflow.confirmations import list_filings, review_objection
from mujun.workflow.evidence import read_evidence
from mujun.workflow.runs import get_run

router = APIRouter(include_in_schema=False)

STATUSES = ("contested", "accepted", "rejected", "confirmed")


@router.get("/objections")
def objections_page(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    """Objections to a run (``?run=``, default the newest visible run with any) from firms in the
    analyst's region, filtered by ``?status=``."""
    require_analyst(viewer)
    runs = [r for r, _ in visible_runs(store, viewer.scope) if r.kind == "evaluation"]
    ids = {r.run_id for r in runs}
    asked = valid_run_id(request.query_params.get("run"))
    if asked and asked not in ids:
        raise not_found(f"评价批次 {asked}", f"run {asked}")
    status = request.query_params.get("status") or None
    if status not in (None, *STATUSES):
        status = None
    cond, params = scope_condition(viewer.scope, "r")
    run_id = asked
    if run_id is None:
        # The newest run with objections in scope, else the newest run.
        with_filings = [r.run_id for r in runs if list_filings(store, r.run_id, cond, params)]
        run_id = with_filings[0] if with_filings else (runs[0].run_id if runs else None)
    rows = list_filings(store, run_id, cond, params, status=status) if run_id else []
    accepted = sum(1 for r in rows if r["status"] == "accepted") if status is None else None
    may_rerun = False
    if run_id:
        ref = get_run(store, run_id)
        may_rerun = may_act_on(viewer, ref.region)
    context = {
        "runs": runs,
        "run_id": run_id,
        "status": status,
        "rows": rows,
        "statuses": STATUSES,
        "accepted": accepted,
        "may_rerun": may_rerun,
    }
    return render(request, "objections.html", context, viewer=viewer)


def _detail(
    request: Request,
    store: Store,
    viewer: Viewer,
    filing_id: int,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    filing = filing_in_scope(store, viewer, filing_id)
    context = {
        "f": filing,
        "error": error,
        "done": request.query_params.get("done"),
        "may_rerun": may_act_on(viewer, get_run(store, filing["run_id"]).region),
    }
    return render(request, "objection.html", context, viewer=viewer, status=status)


@router.get("/objections/{filing_id}")
def objection_page(
    request: Request, viewer: ViewerDep, store: StoreDep, filing_id: str
) -> Response:
    """One objection: the figure, the firm's reason and value, the evidence, the decision."""
    return _detail(request, store, viewer, parse_id(filing_id))


@router.get("/objections/{filing_id}/evidence")
def objection_evidence(
    request: Request, viewer: ViewerDep, store: StoreDep, filing_id: str
) -> Response:
    """The evidence file of an objection (audited as ``evidence.read``)."""
    fid = parse_id(filing_id)
    filing = filing_in_scope(store, viewer, fid)
    if filing["evidence_id"] is None:
        raise not_found("证明材料", "evidence")
    try:
        ev = read_evidence(store, filing["evidence_id"])
    except WorkflowError:
        raise not_found("证明材料", "evidence") from None
    db: Database = request.app.state.db
    db.audit(viewer.actor(request), request.app.state.clock(), "evidence.read", f"objection:{fid}")
    return Response(
        ev.data,
        media_type=ev.content_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(ev.filename)}"},
    )


@router.post("/objections/{filing_id}/{decision}")
def decide(
    request: Request,
    viewer: ViewerDep,
    store: StoreDep,
    filing_id: str,
    decision: str,
    note: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
) -> Response:
    """Accept (with the firm's value, or ``value``) or reject an objection, with a note."""
    fid = parse_id(filing_id)
    if decision not in ("accept", "reject"):
        raise not_found("操作", "action")
    filing_in_scope(store, viewer, fid)
    db: Database = request.app.state.db
    try:
        amount = None
        if value.strip():
            try:
                amount = float(value.strip())
            except ValueError:
                raise PageRefusal(400, "采纳数值须为数字 / the value must be a number") from None
        if len(note) > 2000:
            raise PageRefusal(400, "审核意见过长 / the note is too long")
        with refusals(), db.writer() as w:
            review_objection(
                w,
                fid,
                accept=decision == "accept",
                note=note,
                value=amount,
                actor=viewer.actor(request),
                now=request.app.state.clock(),
            )
    except PageRefusal as exc:
        return _detail(request, store, viewer, fid, error=exc.message, status=exc.status)
    return RedirectResponse(f"/objections/{fid}?done={decision}", status_code=303)

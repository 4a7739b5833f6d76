"""Runs and publication (公示): the runs the viewer may see, a comparison of two runs (who
changed class and why), and for analysts whose region covers a run: open it for confirmation,
publish it with an objection window, finalise it, and rerun it with accepted corrections.

A published run shows its notice as bureaus write it: basis documents with their numbers, the
counts by class, the period, a contact phone, how to object, then the public annex workbooks.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import FileResponse, RedirectResponse

from mujun.auth.scope import scope_condition
from mujun.store import Store
from mujun.web.db import Database
from mujun.web.deps import StoreDep
from mujun.web.errors import not_found
from mujun.web.pages.common import Viewer, ViewerDep, audit_read, render, require_official
from mujun.web.pages.flow import (
    PageRefusal,
    acting_run,
    may_act_on,
    refusals,
    valid_run_id,
)
from mujun.web.queries import visible_run, visible_runs
from mujun.web.workflow_scope import workflow_settings
from mujun.workflow import WorkflowError
from mujun.workflow.confirmations import open_round
from mujun.workflow.publication import (
    DEFAULT_PROCEDURE,
    DEFAULT_WINDOW_DAYS,
    BasisDocument,
    PublicationSpec,
    annex_path,
    finalise_run,
    latest_publication,
    list_publications,
    publish_run,
)
from mujun.workflow.rerun import rerun_with_corrections, run_diff
from mujun.workflow.runs import get_run, local_today

router = APIRouter(include_in_schema=False)


def _visible_uscc(store: Store, viewer: Viewer, run_a: str, run_b: str) -> set[str] | None:
    """Credit codes of the viewer's scope in either run (None: everything)."""
    if viewer.scope.kind == "all":
        return None
    cond, params = scope_condition(viewer.scope)
    return {
        r[0]
        for r in store.rows(
            f"SELECT DISTINCT uscc FROM results WHERE run_id IN (?, ?) AND {cond}",
            [run_a, run_b, *params],
        )
    }


def compare_runs(
    request: Request, store: Store, viewer: Viewer, run_a: str, run_b: str
) -> list[dict[str, Any]]:
    """Firms of the viewer's scope whose class differs between two visible runs (404 for a run
    outside the scope), with why; the read is audited as ``runs.diff``."""
    for run_id in (run_a, run_b):
        if visible_run(store, viewer.scope, run_id) is None:
            raise not_found(f"评价批次 {run_id}", f"run {run_id}")
    try:
        rows = run_diff(store, run_a, run_b, _visible_uscc(store, viewer, run_a, run_b))
    except WorkflowError as exc:
        raise not_found(f"评价批次 {run_a}/{run_b}", exc.message) from None
    audit_read(request, viewer, "runs.diff", f"pages/runs/{run_a}/diff/{run_b}", f"ok: {len(rows)}")
    return rows


@router.get("/runs")
def runs_page(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    """The runs the viewer may see; ``?a=&b=`` compares two of them."""
    require_official(viewer)
    runs = [
        {"run": run, "firms": firms, "may_act": may_act_on(viewer, run.region or "330000")}
        for run, firms in visible_runs(store, viewer.scope)
        if run.kind == "evaluation"
    ]
    a = valid_run_id(request.query_params.get("a"))
    b = valid_run_id(request.query_params.get("b"))
    diff = compare_runs(request, store, viewer, a, b) if a and b else None
    seen = {r["run"].run_id for r in runs}
    today = local_today(request.app.state.clock())
    # The whole history of notices, superseded ones included, for the runs the viewer sees.
    publications = [p for p in list_publications(store, today) if p["run_id"] in seen]
    context = {"runs": runs, "a": a, "b": b, "diff": diff, "publications": publications}
    return render(request, "runs.html", context, viewer=viewer)


def _detail(
    request: Request,
    store: Store,
    viewer: Viewer,
    run_id: str,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    require_official(viewer)
    found = visible_run(store, viewer.scope, run_id)
    if found is None:
        raise not_found(f"评价批次 {run_id}", f"run {run_id}")
    run, firms = found
    ref = get_run(store, run_id)
    today = local_today(request.app.state.clock())
    publication = latest_publication(store, run_id, today)
    base_run = ref.params.get("base_run")
    changes = None
    if base_run and visible_run(store, viewer.scope, base_run) is not None:
        changes = compare_runs(request, store, viewer, base_run, run_id)
    accepted = int(
        store.scalar(
            "SELECT count(*) FROM confirmations WHERE run_id = ? AND status = 'accepted'", [run_id]
        )
    )
    rounds = dict(
        store.rows("SELECT stage, closes_on FROM confirmation_rounds WHERE run_id = ?", [run_id])
    )
    context = {
        "run": run,
        "ref": ref,
        "firms": firms,
        "publication": publication,
        "base_run": base_run,
        "changes": changes,
        "accepted": accepted,
        "rounds": rounds,
        "may_act": may_act_on(viewer, ref.region),
        "today": today,
        "window_days": DEFAULT_WINDOW_DAYS,
        "default_procedure": DEFAULT_PROCEDURE,
        "error": error,
        "done": request.query_params.get("done"),
    }
    return render(request, "run.html", context, viewer=viewer, status=status)


@router.get("/runs/{run_id}")
def run_page(request: Request, viewer: ViewerDep, store: StoreDep, run_id: str) -> Response:
    """One run: status, its notice when published, the changes against the run it reruns, and
    the analyst's actions."""
    if valid_run_id(run_id) is None:
        raise not_found(f"评价批次 {run_id[:64]}", "run")
    return _detail(request, store, viewer, run_id)


def _act(request: Request, store: Store, viewer: Viewer, run_id: str, step, done: str) -> Response:
    """Run ``step(writer, actor, now)`` on a run the analyst may act on; back to the run page
    with ``done``, or the page with the refusal."""
    if valid_run_id(run_id) is None:
        raise not_found(f"评价批次 {run_id[:64]}", "run")
    acting_run(store, viewer, run_id)
    db: Database = request.app.state.db
    try:
        with refusals(), db.writer() as w:
            target = step(w, viewer.actor(request), request.app.state.clock()) or run_id
    except PageRefusal as exc:
        return _detail(request, store, viewer, run_id, error=exc.message, status=exc.status)
    return RedirectResponse(f"/runs/{target}?done={done}", status_code=303)


def _parse_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PageRefusal(400, f"日期 {text[:20]} 格式不正确 / invalid date") from None


@router.post("/runs/{run_id}/confirmation")
def open_confirmation(
    request: Request,
    viewer: ViewerDep,
    store: StoreDep,
    run_id: str,
    stage: Annotated[str, Form()],
    closes_on: Annotated[str, Form()] = "",
) -> Response:
    """Open a draft run for confirmation by its firms: land areas first, then the sheet."""

    def step(w, actor, now):
        closes = _parse_date(closes_on)
        open_round(w, run_id, stage, closes_on=closes, actor=actor, now=now)

    try:
        return _act(request, store, viewer, run_id, step, f"open-{stage}"[:20])
    except PageRefusal as exc:
        return _detail(request, store, viewer, run_id, error=exc.message, status=exc.status)


@router.post("/runs/{run_id}/publish")
def publish(
    request: Request,
    viewer: ViewerDep,
    store: StoreDep,
    run_id: str,
    contact_phone: Annotated[str, Form()] = "",
    basis_title: Annotated[list[str] | None, Form()] = None,
    basis_doc_no: Annotated[list[str] | None, Form()] = None,
    window_start: Annotated[str, Form()] = "",
    window_end: Annotated[str, Form()] = "",
    procedure: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
) -> Response:
    """Publish a draft run: the notice, its objection window and the public annexes."""
    settings = workflow_settings(request)

    def step(w, actor, now):
        pairs = zip(basis_title or [], basis_doc_no or [], strict=False)
        basis = [BasisDocument(t.strip(), n.strip()) for t, n in pairs if t.strip() or n.strip()]
        problems = []
        if not basis or any(not b.title or not b.doc_no for b in basis):
            problems.append("请填写公示依据文件的名称和文号 / give each basis document and number")
        phone = contact_phone.strip()
        if not (5 <= len(phone) <= 30 and set(phone) <= set("0123456789+()- ")):
            problems.append("请填写正确的联系电话 / give a valid contact phone")
        if len(procedure) > 2000 or len(title) > 200:
            problems.append("内容过长 / text too long")
        if problems:
            raise PageRefusal(400, "; ".join(problems))
        spec = PublicationSpec(
            basis=basis,
            contact_phone=phone,
            window_start=_parse_date(window_start),
            window_end=_parse_date(window_end),
            procedure=procedure.strip() or None,
            title=title.strip() or None,
        )
        publish_run(w, run_id, spec, actor=actor, now=now, annex_root=settings.publish_dir)

    try:
        return _act(request, store, viewer, run_id, step, "published")
    except PageRefusal as exc:
        return _detail(request, store, viewer, run_id, error=exc.message, status=exc.status)


@router.post("/runs/{run_id}/finalise")
def finalise(request: Request, viewer: ViewerDep, store: StoreDep, run_id: str) -> Response:
    """Make a published run final once its window has closed and objections are reviewed."""

    def step(w, actor, now):
        finalise_run(w, run_id, actor=actor, now=now)

    return _act(request, store, viewer, run_id, step, "final")


@router.post("/runs/{run_id}/rerun")
def rerun(request: Request, viewer: ViewerDep, store: StoreDep, run_id: str) -> Response:
    """Evaluate the run again with its accepted corrections: a new draft run, shown with its
    changes against this one."""

    def step(w, actor, now):
        return rerun_with_corrections(w, run_id, actor=actor, now=now)["run_id"]

    return _act(request, store, viewer, run_id, step, "rerun")


@router.get("/runs/{run_id}/annexes/{name}")
def annex(request: Request, viewer: ViewerDep, store: StoreDep, run_id: str, name: str) -> Response:
    """One public annex workbook of the run's notice (no confidential figures)."""
    require_official(viewer)
    if valid_run_id(run_id) is None or visible_run(store, viewer.scope, run_id) is None:
        raise not_found(f"评价批次 {run_id[:64]}", "run")
    try:
        path = annex_path(store, run_id, name)
    except WorkflowError:
        raise not_found(f"公示附件 {name[:100]}", "annex") from None
    db: Database = request.app.state.db
    now = request.app.state.clock()
    db.audit(viewer.actor(request), now, "annex.read", f"run:{run_id}/annex:{name}", "ok")
    return FileResponse(
        path,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=name,
    )

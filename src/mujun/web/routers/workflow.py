"""Confirmation (确认) and objections: enterprises confirm or contest the figures of their sheet
with evidence; analysts review objections within their scope; accepted corrections feed a new
draft run. The domain logic is in :mod:`mujun.workflow`; this router checks roles and scope,
sends every write through the one writer and maps refusals to the one error shape.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from mujun.auth.audit import Actor
from mujun.auth.roles import REGION_ROLES, Role
from mujun.auth.scope import data_scope, scope_condition
from mujun.auth.users import User
from mujun.store import Store
from mujun.web.db import Database
from mujun.web.deps import ActorDep, DatabaseDep, NowDep, StoreDep, require_roles
from mujun.web.errors import HttpError, not_found
from mujun.web.models import (
    WORKFLOW_ERRORS,
    FilingOut,
    ObjectionOut,
    ObjectionsOut,
    RerunOut,
    ReviewOut,
    RoundOut,
    SheetsOut,
    plain,
)
from mujun.web.queries import visible_run
from mujun.web.workflow_scope import (
    STATUS_OF_KIND,
    acting_run,
    filing_in_scope,
    workflow_settings,
)
from mujun.workflow import WorkflowError, WorkflowSettings
from mujun.workflow.confirmations import (
    enterprise_runs,
    file_answer,
    firm_sheet,
    get_filing,
    list_filings,
    open_round,
    review_objection,
)
from mujun.workflow.evidence import check_evidence, read_evidence
from mujun.workflow.rerun import rerun_with_corrections
from mujun.workflow.runs import local_today

router = APIRouter(tags=["confirmation 确认与异议"], responses=WORKFLOW_ERRORS)
Analyst = Annotated[User, Depends(require_roles(*REGION_ROLES))]
Enterprise = Annotated[User, Depends(require_roles(Role.ENTERPRISE))]
RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="评价批次 / run id")]
FieldName = Annotated[str, Path(pattern=r"^[a-z_0-9]{1,32}$", description="字段 / sheet field")]
FilingId = Annotated[int, Path(ge=1, le=2**31 - 1, description="异议编号 / filing id")]


@contextlib.contextmanager
def workflow_errors() -> Iterator[None]:
    """Turn a :class:`WorkflowError` into the API's error (status by kind, message and hint)."""
    try:
        yield
    except WorkflowError as exc:
        errors = [p.strip() for p in exc.message.split("; ") if p.strip()]
        if exc.hint:
            errors.append(exc.hint)
        raise HttpError(STATUS_OF_KIND[exc.kind], *errors) from None


WorkflowSettingsDep = Annotated[WorkflowSettings, Depends(workflow_settings)]


class RoundIn(BaseModel):
    """Opening a draft run for confirmation: until when (optional)."""

    model_config = ConfigDict(extra="forbid")
    closes_on: date | None = None


class ReviewIn(BaseModel):
    """An analyst's decision on an objection."""

    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=2000)
    value: float | None = Field(None, ge=0, description="采纳数值（默认企业提出的数值）")


@router.post("/runs/{run_id}/confirmation/{stage}", response_model=RoundOut)
def post_open_round(
    user: Analyst,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    run_id: RunId,
    stage: Literal["land", "sheet"],
    body: RoundIn | None = None,
) -> RoundOut:
    """Open a draft run for confirmation by its firms: ``land`` areas first, then ``sheet``."""
    acting_run(store, user, run_id)
    with workflow_errors(), db.writer() as w:
        opened = open_round(
            w, run_id, stage, closes_on=body.closes_on if body else None, actor=actor, now=now
        )
    return RoundOut(round=plain(opened))


@router.get("/confirmations", response_model=SheetsOut)
def get_confirmations(
    user: Enterprise,
    store: StoreDep,
    now: NowDep,
    run: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] = None,
) -> SheetsOut:
    """Your sheets: each published run, or draft opened for confirmation, that includes your
    firm, with every figure (unit, source department, period) and its confirmation state."""
    assert user.uscc is not None
    today = local_today(now)
    runs = [r for r in enterprise_runs(store, user.uscc) if run is None or r.run_id == run]
    if run is not None and not runs:
        raise not_found(f"评价批次 {run}", f"run {run}")
    return SheetsOut(
        uscc=user.uscc,
        today=today,
        sheets=plain([firm_sheet(store, r, user.uscc, today) for r in runs]),
    )


def _enterprise_run(store: Store, user: User, run_id: str) -> None:
    assert user.uscc is not None
    if run_id not in {r.run_id for r in enterprise_runs(store, user.uscc)}:
        raise not_found(f"评价批次 {run_id}", f"run {run_id}")


@router.post("/confirmations/{run_id}/{field}/confirm", response_model=FilingOut)
def post_confirm(
    user: Enterprise,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    run_id: RunId,
    field: FieldName,
) -> FilingOut:
    """Confirm one figure of your sheet as correct."""
    _enterprise_run(store, user, run_id)
    with workflow_errors(), db.writer() as w:
        filing = file_answer(
            w, run_id=run_id, uscc=user.uscc or "", field=field, contest=False, actor=actor, now=now
        )
    return FilingOut(filing=plain(filing))


@router.post("/confirmations/{run_id}/{field}/contest", status_code=201, response_model=FilingOut)
def post_contest(
    user: Enterprise,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    settings: WorkflowSettingsDep,
    run_id: RunId,
    field: FieldName,
    reason: Annotated[str, Form(min_length=1, max_length=2000, description="异议理由")],
    evidence: Annotated[UploadFile, File(description="证明材料 PDF/JPG/PNG/XLSX")],
    proposed_value: Annotated[
        float | None, Form(ge=0, description="企业认为正确的数值（豁免申请不填）")
    ] = None,
) -> FilingOut:
    """Contest one figure of your sheet (multipart: reason, proposed value, evidence file)."""
    _enterprise_run(store, user, run_id)
    data = evidence.file.read(settings.evidence_max_bytes + 1)
    with workflow_errors():
        checked = check_evidence(evidence.filename or "", data, settings.evidence_max_bytes)
        with db.writer() as w:
            filing = file_answer(
                w,
                run_id=run_id,
                uscc=user.uscc or "",
                field=field,
                contest=True,
                actor=actor,
                now=now,
                proposed_value=proposed_value,
                reason=reason,
                evidence=checked,
            )
    return FilingOut(filing=plain(filing))


@router.get("/objections", response_model=ObjectionsOut)
def get_objections(
    user: Analyst,
    store: StoreDep,
    run: Annotated[str, Query(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="评价批次")],
    status: Literal["contested", "accepted", "rejected", "confirmed"] | None = None,
) -> ObjectionsOut:
    """Objections to a run from firms in your region (``status`` filters; by default every
    objection, not the plain confirmations)."""
    scope = data_scope(user)
    if visible_run(store, scope, run) is None:
        raise not_found(f"评价批次 {run}", f"run {run}")
    cond, params = scope_condition(scope, "r")
    rows = list_filings(store, run, cond, params, status=status)
    return ObjectionsOut(run_id=run, total=len(rows), objections=plain(rows))


@router.get("/objections/{filing_id}", response_model=ObjectionOut)
def get_objection(user: Analyst, store: StoreDep, filing_id: FilingId) -> ObjectionOut:
    """One objection (404 outside your region)."""
    return ObjectionOut(objection=plain(filing_in_scope(store, user, filing_id)))


@router.get(
    "/objections/{filing_id}/evidence",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "the file"}},
)
def get_evidence(
    user: Annotated[User, Depends(require_roles(*REGION_ROLES, Role.ENTERPRISE))],
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    filing_id: FilingId,
) -> Response:
    """The evidence file of an objection: for analysts in scope and the firm that filed it."""
    if user.role == Role.ENTERPRISE:
        try:
            filing = get_filing(store, filing_id)
        except WorkflowError:
            filing = None
        if filing is None or filing["uscc"] != user.uscc:
            raise not_found(f"异议 {filing_id}", f"filing {filing_id}")
    else:
        filing = filing_in_scope(store, user, filing_id)
    if filing["evidence_id"] is None:
        raise not_found("证明材料", "evidence")
    with workflow_errors():
        ev = read_evidence(store, filing["evidence_id"])
    db.audit(actor, now, "evidence.read", f"objection:{filing_id}", "ok")
    return Response(
        ev.data,
        media_type=ev.content_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(ev.filename)}"},
    )


def _review(
    user: User,
    store: Store,
    db: Database,
    actor: Actor,
    now: datetime,
    filing_id: int,
    body: ReviewIn,
    accept: bool,
) -> ReviewOut:
    filing_in_scope(store, user, filing_id)
    with workflow_errors(), db.writer() as w:
        filing = review_objection(
            w, filing_id, accept=accept, note=body.note, value=body.value, actor=actor, now=now
        )
    return ReviewOut(objection=plain(filing))


@router.post("/objections/{filing_id}/accept", response_model=ReviewOut)
def post_accept(
    user: Analyst,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    filing_id: FilingId,
    body: ReviewIn,
) -> ReviewOut:
    """Accept an objection with a note (the corrected value: the firm's, or ``value``)."""
    return _review(user, store, db, actor, now, filing_id, body, accept=True)


@router.post("/objections/{filing_id}/reject", response_model=ReviewOut)
def post_reject(
    user: Analyst,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    filing_id: FilingId,
    body: ReviewIn,
) -> ReviewOut:
    """Reject an objection with a note."""
    return _review(user, store, db, actor, now, filing_id, body, accept=False)


@router.post("/runs/{run_id}/rerun", status_code=201, response_model=RerunOut)
def post_rerun(
    user: Analyst, store: StoreDep, db: DatabaseDep, actor: ActorDep, now: NowDep, run_id: RunId
) -> RerunOut:
    """Evaluate the run again with its accepted corrections as overrides: a new draft run."""
    acting_run(store, user, run_id)
    with workflow_errors(), db.writer() as w:
        out = rerun_with_corrections(w, run_id, actor=actor, now=now)
    return RerunOut(**plain(out))

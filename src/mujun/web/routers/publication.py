"""Runs and publication (公示): compare runs (who changed class and why), publish a draft with an
objection window and public annexes, make it final after the window; read the notices.

Publishing and finalising are for analysts whose region covers the run's; anyone who may see a
published run (an enterprise: one that includes it) reads its notice and public annexes.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from mujun.auth.roles import REGION_ROLES, RESULT_READERS
from mujun.auth.scope import data_scope, scope_condition
from mujun.auth.users import User
from mujun.web.deps import ActorDep, DatabaseDep, NowDep, StoreDep, require_roles
from mujun.web.errors import not_found
from mujun.web.models import (
    WORKFLOW_ERRORS,
    DiffOut,
    PublicationActionOut,
    PublicationOut,
    PublicationsOut,
    plain,
)
from mujun.web.queries import visible_run, visible_runs
from mujun.web.routers.workflow import (
    RunId,
    WorkflowSettingsDep,
    acting_run,
    workflow_errors,
)
from mujun.workflow.publication import (
    DEFAULT_WINDOW_DAYS,
    BasisDocument,
    PublicationSpec,
    annex_path,
    finalise_run,
    latest_publication,
    list_publications,
    publish_run,
)
from mujun.workflow.rerun import run_diff
from mujun.workflow.runs import local_today

router = APIRouter(tags=["publication 公示"], responses=WORKFLOW_ERRORS)
Analyst = Annotated[User, Depends(require_roles(*REGION_ROLES))]
ResultReader = Annotated[User, Depends(require_roles(*RESULT_READERS))]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
AnnexName = Annotated[str, Path(pattern=r"^[^/\\]{1,200}\.xlsx$", description="附件文件名")]


class BasisIn(BaseModel):
    """A basis document of the notice."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200, description="文件名称")
    doc_no: str = Field(min_length=1, max_length=100, description="文号")


class PublishIn(BaseModel):
    """A publication notice: window (default: today and 7 days), basis, contact, procedure."""

    model_config = ConfigDict(extra="forbid")
    basis: list[BasisIn] = Field(min_length=1, max_length=20)
    contact_phone: str = Field(pattern=r"^[0-9+()\- ]{5,30}$", description="联系电话")
    window_start: date | None = None
    window_end: date | None = None
    window_days: int = Field(DEFAULT_WINDOW_DAYS, ge=1, le=30, description="公示天数（含首日）")
    procedure: str | None = Field(None, max_length=2000, description="异议方式")
    title: str | None = Field(None, max_length=200)


@router.get("/runs/{run_a}/diff/{run_b}", response_model=DiffOut)
def get_diff(
    user: ResultReader,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    run_a: RunId,
    run_b: RunId,
) -> DiffOut:
    """Firms of your scope whose class differs between two runs, or that were corrected in one
    of them, each with why (corrections applied, classification reasons)."""
    scope = data_scope(user)
    for run_id in (run_a, run_b):
        if visible_run(store, scope, run_id) is None:
            raise not_found(f"评价批次 {run_id}", f"run {run_id}")
    cond, params = scope_condition(scope)
    visible = None
    if scope.kind != "all":
        visible = {
            r[0]
            for r in store.rows(
                f"SELECT DISTINCT uscc FROM results WHERE run_id IN (?, ?) AND {cond}",
                [run_a, run_b, *params],
            )
        }
    with workflow_errors():
        rows = run_diff(store, run_a, run_b, visible)
    db.audit(actor, now, "runs.diff", f"runs/{run_a}/diff/{run_b}", f"ok: {len(rows)}")
    return DiffOut(run_a=run_a, run_b=run_b, total=len(rows), rows=plain(rows))


@router.post("/runs/{run_id}/publish", status_code=201, response_model=PublicationActionOut)
def post_publish(
    user: Analyst,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    settings: WorkflowSettingsDep,
    run_id: RunId,
    body: PublishIn,
) -> PublicationActionOut:
    """Publish a draft run of your region: the notice, its objection window, public annexes."""
    acting_run(store, user, run_id)
    spec = PublicationSpec(
        basis=[BasisDocument(b.title, b.doc_no) for b in body.basis],
        contact_phone=body.contact_phone,
        window_start=body.window_start,
        window_end=body.window_end,
        window_days=body.window_days,
        procedure=body.procedure,
        title=body.title,
    )
    assert settings.publish_dir is not None
    with workflow_errors(), db.writer() as w:
        pub = publish_run(w, run_id, spec, actor=actor, now=now, annex_root=settings.publish_dir)
    return PublicationActionOut(publication=plain(pub))


@router.post("/runs/{run_id}/finalise", response_model=PublicationActionOut)
def post_finalise(
    user: Analyst, store: StoreDep, db: DatabaseDep, actor: ActorDep, now: NowDep, run_id: RunId
) -> PublicationActionOut:
    """Make a published run final once its objection window has closed."""
    acting_run(store, user, run_id)
    with workflow_errors(), db.writer() as w:
        pub = finalise_run(w, run_id, actor=actor, now=now)
    return PublicationActionOut(publication=plain(pub))


@router.get("/runs/{run_id}/publication", response_model=PublicationOut)
def get_publication(
    user: ResultReader, store: StoreDep, now: NowDep, run_id: RunId
) -> PublicationOut:
    """The run's publication notice (404 when it is not visible or was never published)."""
    if visible_run(store, data_scope(user), run_id) is None:
        raise not_found(f"评价批次 {run_id}", f"run {run_id}")
    pub = latest_publication(store, run_id, local_today(now))
    if pub is None:
        raise not_found(f"批次 {run_id} 的公示", f"publication of {run_id}")
    return PublicationOut(publication=plain(pub))


@router.get("/publications", response_model=PublicationsOut)
def get_publications(user: ResultReader, store: StoreDep, now: NowDep) -> PublicationsOut:
    """Every publication of the runs you may see, newest first (the history is kept)."""
    runs = {r.run_id for r, _ in visible_runs(store, data_scope(user))}
    pubs = [p for p in list_publications(store, local_today(now)) if p["run_id"] in runs]
    return PublicationsOut(total=len(pubs), publications=plain(pubs))


@router.get(
    "/runs/{run_id}/publication/annexes/{name}",
    response_class=FileResponse,
    responses={200: {"content": {XLSX_TYPE: {}}, "description": "the annex workbook"}},
)
def get_annex(user: ResultReader, store: StoreDep, run_id: RunId, name: AnnexName) -> FileResponse:
    """One public annex workbook of the run's publication (no confidential figures)."""
    if visible_run(store, data_scope(user), run_id) is None:
        raise not_found(f"评价批次 {run_id}", f"run {run_id}")
    with workflow_errors():
        path = annex_path(store, run_id, name)
    return FileResponse(
        path,
        media_type=XLSX_TYPE,
        filename=name,
    )

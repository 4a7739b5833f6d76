"""Evaluation runs and their results, filtered by the caller's data scope.

Results are confidential (tax-based figures): every read of a results list or of one firm is
audited, and so is every refused attempt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query

from mujun.auth.audit import Actor
from mujun.auth.roles import RESULT_READERS
from mujun.auth.scope import covers, data_scope
from mujun.auth.users import User
from mujun.web.db import Database
from mujun.web.deps import ActorDep, DatabaseDep, NowDep, StoreDep, require_roles
from mujun.web.errors import forbidden, not_found
from mujun.web.models import (
    COMMON_ERRORS,
    FirmResultOut,
    ResultItem,
    ResultRow,
    ResultsPage,
    RunDetailOut,
    RunOut,
    RunsOut,
)
from mujun.web.queries import (
    ResultFilters,
    RunRow,
    firm_result,
    results_page,
    visible_run,
    visible_runs,
)

router = APIRouter(tags=["runs 评价批次与结果"], responses=COMMON_ERRORS)
ResultReader = Annotated[User, Depends(require_roles(*RESULT_READERS))]

RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="评价批次 / run id")]
Uscc = Annotated[str, Path(pattern=r"^[0-9A-Z]{18}$", description="统一社会信用代码")]


def _run_out(run: RunRow, firms: int) -> RunOut:
    return RunOut(
        run_id=run.run_id,
        kind=run.kind,
        year=run.year,
        status=run.status,
        region=run.region,
        created_at=run.created_at,
        rules_hash=run.rules_hash,
        firms=firms,
    )


@router.get("/runs", response_model=RunsOut)
def list_runs(user: ResultReader, store: StoreDep) -> RunsOut:
    """Runs you may see: drafts only if your region covers the run's; published runs with
    firms in your scope (an enterprise: published runs that include it)."""
    return RunsOut(runs=[_run_out(r, n) for r, n in visible_runs(store, data_scope(user))])


@router.get("/runs/{run_id}", response_model=RunDetailOut)
def get_run(user: ResultReader, store: StoreDep, run_id: RunId) -> RunDetailOut:
    """One run (404 if it does not exist or is not visible to you)."""
    found = visible_run(store, data_scope(user), run_id)
    if found is None:
        raise not_found(f"评价批次 {run_id}", f"run {run_id}")
    return RunDetailOut(run=_run_out(*found))


@router.get("/runs/{run_id}/results", response_model=ResultsPage, response_model_by_alias=True)
def list_results(
    user: ResultReader,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    run_id: RunId,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
    sort: Literal["total", "rank", "name"] = "total",
    order: Literal["asc", "desc"] | None = None,
    region: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="地区代码 / division code")
    ] = None,
    industry: Annotated[
        str | None,
        Query(pattern=r"^[A-T]\d{0,4}$", description="行业门类/大类代码前缀，如 C17 / prefix"),
    ] = None,
    klass: Annotated[
        str | None, Query(alias="class", max_length=8, description="分类 A/B/C/D")
    ] = None,
    size: Literal["above", "below"] | None = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="企业名称或信用代码")
    ] = None,
) -> ResultsPage:
    """A page of a run's results within your scope, with the total count."""
    scope = data_scope(user)
    query = {
        k: v
        for k, v in {
            "page": page,
            "page_size": page_size,
            "sort": sort,
            "order": order,
            "region": region,
            "industry": industry,
            "class": klass,
            "size": size,
            "q": q,
        }.items()
        if v is not None
    }
    obj = f"runs/{run_id}/results?{urlencode(query)}"
    found = visible_run(store, scope, run_id)
    if found is None:
        _refused(db, actor, now, "results.read", obj, "denied: run not visible")
        raise not_found(f"评价批次 {run_id}", f"run {run_id}")
    if region and scope.kind == "region" and not covers(scope.region or "", region):
        _refused(db, actor, now, "results.read", obj, "denied: region outside scope")
        raise forbidden(f"地区 {region} 不在您的权限范围内 / region outside your scope")
    order = order or ("desc" if sort == "total" else "asc")
    total, rows = results_page(
        store,
        scope,
        run_id,
        ResultFilters(region, industry, klass, size, q),
        sort=sort,
        order=order,
        page=page,
        page_size=page_size,
    )
    db.audit(actor, now, "results.read", obj, f"ok: {len(rows)} of {total}")
    return ResultsPage(
        run_id=run_id,
        total=total,
        page=page,
        page_size=page_size,
        sort=sort,
        order=order,
        rows=[ResultRow(**r) for r in rows],
    )


@router.get("/runs/{run_id}/results/{uscc}", response_model=FirmResultOut)
def get_firm_result(
    user: ResultReader,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    run_id: RunId,
    uscc: Uscc,
) -> FirmResultOut:
    """One firm in one run: its results row and indicator items (404 outside your scope)."""
    scope = data_scope(user)
    obj = f"runs/{run_id}/results/{uscc}"
    found = visible_run(store, scope, run_id)
    data = firm_result(store, scope, run_id, uscc) if found is not None else None
    if data is None:
        _refused(db, actor, now, "result.read", obj, "denied: not found or outside scope")
        raise not_found(f"该企业在批次 {run_id} 中的结果", f"result of {uscc} in {run_id}")
    row, items = data
    db.audit(actor, now, "result.read", obj, "ok")
    return FirmResultOut(run_id=run_id, result=row, items=[ResultItem(**i) for i in items])


def _refused(db: Database, actor: Actor, now: datetime, action: str, obj: str, result: str) -> None:
    """Audit a refused read of confidential data (an attempt is a security event)."""
    db.audit(actor, now, action, obj, result)

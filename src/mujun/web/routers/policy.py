"""The policy ledger of a run (差别化政策台账): totals by region and class, the ledger rows and
one firm's rows, each filtered by the caller's data scope; analysts whose region covers the run
apply a policy preset to it (the server is the store's one writer).

Ledger rows carry confidential figures (electricity, water, land), so every read is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from mujun.auth.audit import record
from mujun.auth.roles import REGION_ROLES, RESULT_READERS
from mujun.auth.scope import covers, data_scope, region_condition, scope_condition
from mujun.auth.users import User
from mujun.errors import MujunError
from mujun.policy.ledger import apply_policy, latest_application, ledger_rows, ledger_totals
from mujun.policy.spec import load_policy
from mujun.settings import default_rules_dir
from mujun.web.db import Database
from mujun.web.deps import ActorDep, DatabaseDep, NowDep, StoreDep, require_roles
from mujun.web.errors import HttpError, forbidden, not_found
from mujun.web.models import COMMON_ERRORS, WORKFLOW_ERRORS
from mujun.web.queries import visible_run
from mujun.web.routers.workflow import acting_run

router = APIRouter(tags=["policy 差别化政策"], responses=COMMON_ERRORS)
ResultReader = Annotated[User, Depends(require_roles(*RESULT_READERS))]
Analyst = Annotated[User, Depends(require_roles(*REGION_ROLES))]
RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="评价批次 / run id")]
Uscc = Annotated[str, Path(pattern=r"^[0-9A-Z]{18}$", description="统一社会信用代码")]
Region = Annotated[str | None, Query(pattern=r"^\d{6}$", description="地区代码 / division code")]


def policy_presets() -> dict[str, Any]:
    """The shipped policy presets by file stem (rules/policies/*.yaml)."""
    folder = default_rules_dir() / "policies"
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


class ApplicationOut(BaseModel):
    """The newest policy set applied to the run."""

    policy_hash: str
    name: str
    version: str
    year: int
    applied_at: datetime
    applied_by: str | None
    firms: int
    rows: int


class TotalRow(BaseModel):
    """Ledger totals of one area, class and lever."""

    area: str = Field(description="地区代码（按 by 汇总）/ division code, '' for the whole scope")
    klass: str = Field(alias="class", description="分类")
    lever: str
    lever_name: str
    kind: str
    firms: int
    not_computed: int = Field(description="缺数据未计算的企业数 / firms without the data")
    amount_wan: float | None = Field(description="万元：+企业缴纳，−减免 / + paid, − relieved")
    amount: float | None
    amount_unit: str

    model_config = ConfigDict(populate_by_name=True)


class PolicySummaryOut(BaseModel):
    """The run's newest policy application and its totals within your scope."""

    run_id: str
    application: ApplicationOut | None
    by: str
    totals: list[TotalRow]
    presets: list[str] = Field(description="可应用的政策预设 / presets that can be applied")


class LedgerRow(BaseModel):
    """One lever applied to one firm for the period."""

    run_id: str
    year: int
    period: str
    uscc: str
    name: str | None
    county_code: str | None
    city_code: str | None
    industry_code: str | None
    size: str | None
    klass: str = Field(alias="class")
    consecutive_years: int
    lever: str
    lever_name: str
    kind: str
    base_quantity: float | None
    base_unit: str | None
    rate: float | None
    rate_unit: str | None
    amount: float | None
    amount_unit: str | None
    amount_wan: float | None
    rule: str

    model_config = ConfigDict(populate_by_name=True)


class LedgerPage(BaseModel):
    """A page of ledger rows within your scope."""

    run_id: str
    total: int
    page: int
    page_size: int
    rows: list[LedgerRow]


class ApplyIn(BaseModel):
    """Which policy preset to apply (a file stem of rules/policies)."""

    model_config = ConfigDict(extra="forbid")
    preset: str = Field(
        pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="政策预设，如 zhejiang-default"
    )


class ApplyOut(BaseModel):
    """What an application wrote."""

    run_id: str
    policy_hash: str
    policy: str
    year: int
    firms: int
    rows: int
    previous_runs: list[str]
    unknown_classes: list[str]


def _audit(db: Database, actor, now: datetime, action: str, obj: str, result: str) -> None:
    with db.writer() as w:
        record(w, actor, now, action, obj, result)


def _readable_run(store, db, user: User, actor, now, run_id: str, obj: str) -> None:
    if visible_run(store, data_scope(user), run_id) is None:
        _audit(db, actor, now, "policy.read", obj, "denied: run not visible")
        raise not_found(f"评价批次 {run_id}", f"run {run_id}")


def _where(user: User, region: str | None) -> tuple[str, list]:
    scope = data_scope(user)
    if region and scope.kind == "region" and not covers(scope.region or "", region):
        raise forbidden(f"地区 {region} 不在您的权限范围内 / region outside your scope")
    cond, params = scope_condition(scope)
    if region:
        c, p = region_condition(region)
        cond, params = f"({cond}) AND {c}", [*params, *p]
    return cond, params


@router.get("/runs/{run_id}/policy", response_model=PolicySummaryOut, response_model_by_alias=True)
def get_policy_summary(
    user: ResultReader,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    run_id: RunId,
    region: Region = None,
    by: Literal["county", "city", "all"] = "county",
) -> PolicySummaryOut:
    """The newest policy applied to the run, and ledger totals by area, class and lever within
    your scope (``by``: county, city or all)."""
    obj = f"runs/{run_id}/policy?region={region or ''}&by={by}"
    _readable_run(store, db, user, actor, now, run_id, obj)
    where, params = _where(user, region)
    app = latest_application(store, run_id)
    column = {"county": "county_code", "city": "city_code", "all": ""}[by]
    totals = ledger_totals(store, [run_id], by=column, where=where, params=params)
    _audit(db, actor, now, "policy.read", obj, f"ok: {len(totals)} totals")
    return PolicySummaryOut(
        run_id=run_id,
        application=ApplicationOut(**app) if app else None,
        by=by,
        totals=[TotalRow(**t) for t in totals],
        presets=list(policy_presets()),
    )


@router.get("/runs/{run_id}/policy/ledger", response_model=LedgerPage, response_model_by_alias=True)
def get_policy_ledger(
    user: ResultReader,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    run_id: RunId,
    region: Region = None,
    klass: Annotated[str | None, Query(alias="class", max_length=8, description="分类")] = None,
    lever: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> LedgerPage:
    """A page of the run's newest ledger within your scope (filter by region, class, lever)."""
    obj = f"runs/{run_id}/policy/ledger?region={region or ''}&class={klass or ''}"
    _readable_run(store, db, user, actor, now, run_id, obj)
    where, params = _where(user, region)
    if klass:
        where, params = f'{where} AND "class" = ?', [*params, klass]
    if lever:
        where, params = f"{where} AND lever = ?", [*params, lever]
    total, rows = ledger_rows(
        store, run_id, where=where, params=params, limit=page_size, offset=(page - 1) * page_size
    )
    _audit(db, actor, now, "policy.read", obj, f"ok: {len(rows)} of {total}")
    return LedgerPage(
        run_id=run_id,
        total=total,
        page=page,
        page_size=page_size,
        rows=[LedgerRow(**r) for r in rows],
    )


@router.get("/runs/{run_id}/policy/{uscc}", response_model=LedgerPage, response_model_by_alias=True)
def get_firm_policy(
    user: ResultReader,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    run_id: RunId,
    uscc: Uscc,
) -> LedgerPage:
    """One firm's ledger rows in the run (404 outside your scope)."""
    obj = f"runs/{run_id}/policy/{uscc}"
    _readable_run(store, db, user, actor, now, run_id, obj)
    cond, params = scope_condition(data_scope(user))
    found = store.scalar(
        f"SELECT count(*) FROM results WHERE run_id = ? AND uscc = ? AND {cond}",
        [run_id, uscc, *params],
    )
    if not found:
        _audit(db, actor, now, "policy.read", obj, "denied: not found or outside scope")
        raise not_found(f"该企业在批次 {run_id} 中的台账", f"ledger of {uscc} in {run_id}")
    total, rows = ledger_rows(store, run_id, where="uscc = ?", params=[uscc])
    _audit(db, actor, now, "policy.read", obj, f"ok: {total} rows")
    return LedgerPage(
        run_id=run_id,
        total=total,
        page=1,
        page_size=max(total, 1),
        rows=[LedgerRow(**r) for r in rows],
    )


@router.post("/runs/{run_id}/policy", response_model=ApplyOut, responses=WORKFLOW_ERRORS)
def post_apply_policy(
    user: Analyst,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    run_id: RunId,
    body: ApplyIn,
) -> ApplyOut:
    """Apply a policy preset to a run you may act on (your region covers the run's) and write
    its ledger; re-applying the same preset replaces its rows."""
    acting_run(store, user, run_id)
    path = policy_presets().get(body.preset)
    if path is None:
        raise HttpError(
            422,
            f"未知政策预设 {body.preset} / unknown preset; known: " + ", ".join(policy_presets()),
        )
    try:
        policy = load_policy(path)
        with db.writer() as w:
            summary = apply_policy(w, run_id, policy, applied_by=user.username)
            record(w, actor, now, "policy.apply", f"runs/{run_id}/policy", f"ok: {body.preset}",
                   after={"policy_hash": summary["policy_hash"], "rows": summary["rows"]})  # fmt: skip
    except MujunError as exc:
        raise HttpError(422, exc.message) from exc
    return ApplyOut(**summary)

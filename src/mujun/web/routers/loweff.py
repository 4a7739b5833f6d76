"""Low-efficiency tracking (低效企业整治) in the JSON API: the yearly lists and their entries,
one case across years, status changes by analysts, the summary by status and land freed, and
identification from a preset. Scoped like the results: analysts their region (drafts only
where their region covers the run), enterprises their own case in published runs.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from mujun.auth.roles import PROVINCE_CODE, REGION_ROLES, RESULT_READERS
from mujun.auth.scope import DataScope, can_see_run, covers, data_scope, scope_condition
from mujun.auth.users import User
from mujun.loweff.cases import (
    EntryQuery,
    Transition,
    change_status,
    get_case,
    list_entries,
    list_years,
    summarise,
    visible_list_ids,
)
from mujun.store import Store
from mujun.web.deps import ActorDep, DatabaseDep, NowDep, StoreDep, require_roles
from mujun.web.errors import HttpError, forbidden, not_found
from mujun.web.models import WORKFLOW_ERRORS, plain
from mujun.web.routers.workflow import WorkflowSettingsDep, workflow_errors

router = APIRouter(
    prefix="/loweff", tags=["low efficiency 低效企业整治"], responses=WORKFLOW_ERRORS
)
Analyst = Annotated[User, Depends(require_roles(*REGION_ROLES))]
Reader = Annotated[User, Depends(require_roles(*RESULT_READERS))]
CaseId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="案件编号 / case number")]
Region = Annotated[
    str | None, Query(pattern=r"^\d{6}$", description="地区代码（本级及以下）/ division code")
]
Year = Annotated[int, Query(ge=1990, le=2100, description="年度 / year")]
Row = dict[str, Any]
PRESET = r"^[A-Za-z0-9_-]{1,64}(\.yaml)?$"


class ListsOut(BaseModel):
    """Identifications (one per list made) visible to you, newest first."""

    total: int
    years: list[int] = Field(description="years with entries you may see, newest first")
    lists: list[Row]


class EntriesOut(BaseModel):
    """A year's list: listed firms (or those that left it) with their cases."""

    year: int
    total: int
    page: int
    page_size: int
    rows: list[Row] = Field(
        description="case_id, uscc, name, county, size, class, land_mu, hits and hit_names (the "
        "rules that hit), figures, listed, status and effective_status, status_date, "
        "land_freed_mu, first_year, years_listed, run_id"
    )


class CaseOut(BaseModel):
    """One case: the firm, its status, every year's entry and every status change."""

    case: Row


class StatusIn(BaseModel):
    """A status change: the next status, its date, a note, and the land freed on merge/exit."""

    model_config = ConfigDict(extra="forbid")
    to: Literal["plan_agreed", "upgraded", "merged", "exited"]
    date: date
    note: str = Field(min_length=1, max_length=2000)
    land_freed_mu: float | None = Field(None, ge=0, le=1e7, description="腾出土地（亩）")


class StatusOut(BaseModel):
    """The case after the change."""

    ok: bool = True
    case: Row


class SummaryOut(BaseModel):
    """Cases on each year's list by current status, with land freed, per area and in total."""

    region: str
    rows: list[Row]


class IdentifyIn(BaseModel):
    """Identification of a year's list with a preset of ``rules/low-efficiency``."""

    model_config = ConfigDict(extra="forbid")
    year: int = Field(ge=1990, le=2100)
    rules: str = Field("tax-under-1", pattern=PRESET, description="preset file name")
    run_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")


class IdentifyOut(BaseModel):
    """What the identification produced."""

    ok: bool = True
    report: Row


def run_visibility(scope: DataScope):
    """The scope's rule for a list's run: a draft only within the analyst's region, a published
    or final run to anyone (entries are filtered by the scope besides)."""

    def may_see(status: str, region: str) -> bool:
        return can_see_run(scope, status, region, True)

    return may_see


def scoped(store: Store, user: User, region: str | None) -> tuple[str, list, list[int]]:
    """(condition on entries ``e``, parameters, visible list ids) for ``user`` in ``region``
    (403 when the region is outside the user's scope)."""
    scope = data_scope(user)
    cond, params = scope_condition(scope, "e")
    if region is not None:
        root = scope.region
        if root is None or not covers(root, region):
            raise forbidden(f"地区 {region} 不在您的权限范围内 / region outside your scope")
        rcond, rparams = scope_condition(DataScope("region", region), "e")
        cond, params = f"({cond}) AND ({rcond})", [*params, *rparams]
    return cond, params, visible_list_ids(store, run_visibility(scope))


def case_in_scope(store: Store, user: User, case_id: int) -> dict[str, Any]:
    """A case the user may see, with only the entries of lists the user may see (404 else)."""
    cond, params, ids = scoped(store, user, None)
    seen = store.scalar(
        f"SELECT count(*) FROM loweff_entries e WHERE e.case_id = ? AND {cond} "
        "AND list_contains(?, e.list_id)",
        [case_id, *params, ids],
    )
    if not seen:
        raise not_found(f"低效企业案件 {case_id}", f"case {case_id}")
    with workflow_errors():
        case = get_case(store, case_id)
    case["entries"] = [e for e in case["entries"] if e["list_id"] in set(ids)]
    return case


@router.get("/lists", response_model=ListsOut)
def get_lists(user: Analyst, store: StoreDep) -> ListsOut:
    """Every identification visible to you (year, run, region screened, rules, counts)."""
    scope = data_scope(user)
    cond, params, ids = scoped(store, user, None)
    rows = store.rows(
        "SELECT list_id, year, run_id, region, rules_name, rules_hash, summary::VARCHAR, "
        "created_at, created_by FROM loweff_lists WHERE list_contains(?, list_id) "
        "ORDER BY list_id DESC",
        [ids],
    )
    lists = []
    for lid, year, run_id, region, name, h, summary, created, by in rows:
        if scope.region and not (covers(scope.region, region) or covers(region, scope.region)):
            continue
        data = json.loads(summary) if summary else {}
        lists.append(
            {
                "list_id": lid,
                "year": year,
                "run_id": run_id,
                "region": region,
                "rules_name": name,
                "rules_hash": h,
                "created_at": created,
                "created_by": by,
                # Counts of the whole list only where the list lies inside your region.
                **(
                    {k: data.get(k) for k in ("screened", "listed", "new_cases", "left_list")}
                    if scope.region and covers(scope.region, region)
                    else {}
                ),
            }
        )
    years = list_years(store, cond, params, ids)
    return ListsOut(total=len(lists), years=years, lists=plain(lists))


@router.get("/entries", response_model=EntriesOut)
def get_entries(
    user: Reader,
    store: StoreDep,
    year: Year,
    region: Region = None,
    status: Annotated[
        Literal["identified", "plan_agreed", "upgraded", "upgraded_by_data", "merged", "exited"]
        | None,
        Query(description="案件状态（含数据达标出列）"),
    ] = None,
    listed: Annotated[
        bool | None, Query(description="true: 在列; false: 已出列; 不填: 全部")
    ] = True,
    rule: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = None,
    size: Literal["above", "below"] | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EntriesOut:
    """A year's low-efficiency list within your scope (an enterprise: its own entry)."""
    cond, params, ids = scoped(store, user, region)
    query = EntryQuery(
        year=year,
        status=status,
        listed=listed,
        rule=rule,
        size=size,
        q=(q or "").strip() or None,
        page=page,
        page_size=page_size,
    )
    total, rows = list_entries(store, query, cond, params, ids)
    return EntriesOut(year=year, total=total, page=page, page_size=page_size, rows=plain(rows))


@router.get("/cases/{case_id}", response_model=CaseOut)
def get_one_case(user: Reader, store: StoreDep, case_id: CaseId) -> CaseOut:
    """One case across years with its status changes (404 outside your scope)."""
    return CaseOut(case=plain(case_in_scope(store, user, case_id)))


@router.post("/cases/{case_id}/status", response_model=StatusOut)
def post_status(
    user: Analyst,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    case_id: CaseId,
    body: StatusIn,
) -> StatusOut:
    """Move a case to its next status (identified → plan_agreed → upgraded / merged / exited),
    with its date, a note and, on merge or exit, the land freed; audited."""
    case = case_in_scope(store, user, case_id)
    region = data_scope(user).region
    if region is None or not covers(region, case["county_code"] or PROVINCE_CODE):
        raise forbidden("案件不在您的地区 / the case lies outside your region")
    with workflow_errors(), db.writer() as w:
        change_status(
            w,
            case_id,
            Transition(to=body.to, on=body.date, note=body.note, land_freed_mu=body.land_freed_mu),
            actor=actor,
            now=now,
        )
    with db.reader() as r:
        return StatusOut(case=plain(case_in_scope(r, user, case_id)))


@router.get("/summary", response_model=SummaryOut)
def get_summary(
    user: Analyst,
    store: StoreDep,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    region: Region = None,
) -> SummaryOut:
    """Cases on each year's list by current status and the land freed, per area below the
    region (cities of the province, counties of a city) and in total."""
    cond, params, ids = scoped(store, user, region)
    area = region or data_scope(user).region or PROVINCE_CODE
    return SummaryOut(region=area, rows=plain(summarise(store, cond, params, ids, area, year)))


@router.post("/identify", status_code=201, response_model=IdentifyOut)
def post_identify(
    user: Analyst,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    settings: WorkflowSettingsDep,
    body: IdentifyIn,
) -> IdentifyOut:
    """Identify a year's list from a preset of ``rules/low-efficiency`` (the year's newest final,
    else published, else draft run unless ``run_id`` is given); your region must cover the
    region screened."""
    from mujun.loweff.identify import choose_run, identify, screen_region
    from mujun.loweff.rules import load_loweff_rules, preset_paths

    name = body.rules if body.rules.endswith(".yaml") else body.rules + ".yaml"
    presets = {p.name: p for p in preset_paths(settings.rules_dir)}
    if name not in presets:
        raise HttpError(
            400,
            f"未知的低效认定规则 {body.rules} / unknown preset; one of: "
            + ", ".join(sorted(presets)),
        )
    rules = load_loweff_rules(presets[name])
    with workflow_errors():
        run_id, status, run_region = choose_run(store, body.year, body.run_id)
        screen = screen_region(rules.region, run_region)
    scope = data_scope(user)
    if not can_see_run(scope, status, run_region, True):
        raise not_found(f"评价批次 {run_id}", f"run {run_id}")
    if scope.region is None or not covers(scope.region, screen):
        raise forbidden(
            f"认定范围 {screen} 超出您的地区 / the list covers {screen}, beyond your region"
        )
    with db.writer() as w:
        report = identify(
            w, body.year, rules, actor=actor, now=now, run_id=run_id, origin=str(presets[name])
        )
    return IdentifyOut(report=plain(report.as_dict()))

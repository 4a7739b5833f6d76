"""Robustness of classes and paths to the next class (from `mujun robustness`), by scope.

The fragile list triages objections before publication; a firm's entry gives its class
probabilities, rank interval and path to the next class in plain words. Reads are audited like
every results read.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from mujun.auth.audit import record
from mujun.auth.roles import RESULT_READERS
from mujun.auth.scope import data_scope, scope_condition
from mujun.auth.users import User
from mujun.web.deps import ActorDep, DatabaseDep, NowDep, StoreDep, require_roles
from mujun.web.errors import not_found
from mujun.web.models import COMMON_ERRORS
from mujun.web.queries import visible_run
from mujun.web.readmodel import run_robustness

router = APIRouter(tags=["robustness 分类稳健性与升级路径"], responses=COMMON_ERRORS)
ResultReader = Annotated[User, Depends(require_roles(*RESULT_READERS))]
RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="评价批次 / run id")]
Uscc = Annotated[str, Path(pattern=r"^[0-9A-Z]{18}$", description="统一社会信用代码")]


class RobustFirm(BaseModel):
    """A firm's class probabilities over the Monte Carlo draws and its rank interval."""

    uscc: str
    name: str | None = None
    county_code: str | None = None
    city_code: str | None = None
    klass: str | None = None
    p_class: float | None = None
    probs: dict[str, float] = {}
    rank: int | None = None
    rank_p05: float | None = None
    rank_p50: float | None = None
    rank_p95: float | None = None
    cohort_size: int | None = None
    fragile: bool


class RobustFirmsPage(BaseModel):
    """A page of a run's firms in the newest analysis (only fragile ones unless asked)."""

    run_id: str
    analysis_id: str
    settings: dict[str, Any]
    total: int
    page: int
    page_size: int
    rows: list[RobustFirm]


class PathLever(BaseModel):
    """One lever of a path: values, status and the sentence."""

    lever: str
    lever_name: str | None = None
    status: str
    reason: str | None = None
    unit: str | None = None
    current_value: float | None = None
    required_value: float | None = None
    shown_value: float | None = None
    indicator: str | None = None
    indicator_now: float | None = None
    indicator_new: float | None = None
    text: str


class FirmPath(BaseModel):
    """The path to the next class: status, target class, summary, the note, the levers."""

    status: str
    target_class: str | None = None
    summary: str
    note: str
    levers: list[PathLever]


class FirmRobustnessOut(BaseModel):
    """A firm's robustness and path in the run's newest analysis."""

    run_id: str
    analysis_id: str
    firm: RobustFirm | None
    path: FirmPath | None


def _audit(db, actor, now, action: str, obj: str, result: str) -> None:
    with db.writer() as w:
        record(w, actor, now, action, obj, result)


@router.get("/runs/{run_id}/robustness/firms", response_model=RobustFirmsPage)
def robustness_firms(
    user: ResultReader,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    run_id: RunId,
    fragile: Annotated[bool, Query(description="只列脆弱分类 / fragile classes only")] = True,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> RobustFirmsPage:
    """Firms of a run within your scope with their class probabilities, the least robust
    first (fragile only by default): the objections to expect."""
    scope = data_scope(user)
    obj = f"runs/{run_id}/robustness/firms?fragile={fragile}&page={page}"
    a = run_robustness(store, run_id).analysis if visible_run(store, scope, run_id) else None
    if a is None:
        _audit(db, actor, now, "results.read", obj, "denied: no run or analysis visible")
        raise not_found(f"批次 {run_id} 的稳健性分析", f"robustness analysis of run {run_id}")
    cond, params = scope_condition(scope, "r")
    where = f"f.analysis_id = ? AND {cond}" + (" AND f.fragile" if fragile else "")
    args = [run_id, a["analysis_id"], *params]
    base = (
        f"FROM robustness_firms f JOIN results r ON r.run_id = ? AND r.uscc = f.uscc WHERE {where}"
    )
    total = int(store.scalar(f"SELECT count(*) {base}", args))
    rows = store.arrow(
        'SELECT f.uscc, r.name, r.county_code, r.city_code, f."class" AS klass, f.p_class, '
        "f.probs::VARCHAR AS probs, f.rank, f.rank_p05, f.rank_p50, f.rank_p95, f.cohort_size, "
        f"f.fragile {base} ORDER BY f.p_class NULLS LAST, f.uscc LIMIT ? OFFSET ?",
        [*args, page_size, (page - 1) * page_size],
    ).to_pylist()
    for r in rows:
        r["probs"] = json.loads(r["probs"]) if r["probs"] else {}
    _audit(db, actor, now, "results.read", obj, f"ok: {len(rows)} of {total}")
    return RobustFirmsPage(
        run_id=run_id,
        analysis_id=a["analysis_id"],
        settings=a["settings"],
        total=total,
        page=page,
        page_size=page_size,
        rows=[RobustFirm(**r) for r in rows],
    )


@router.get("/runs/{run_id}/results/{uscc}/robustness", response_model=FirmRobustnessOut)
def firm_robustness_api(
    user: ResultReader,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    run_id: RunId,
    uscc: Uscc,
    lang: Annotated[str, Query(pattern="^(zh|en)$", description="zh | en")] = "zh",
) -> FirmRobustnessOut:
    """One firm's class probabilities, rank interval and path to the next class, in words
    (404 outside your scope or before any analysis of the run)."""
    scope = data_scope(user)
    obj = f"runs/{run_id}/results/{uscc}/robustness"
    cond, params = scope_condition(scope)
    inside = visible_run(store, scope, run_id) is not None and bool(
        store.scalar(
            f"SELECT count(*) FROM results WHERE run_id = ? AND uscc = ? AND {cond}",
            [run_id, uscc, *params],
        )
    )
    model = run_robustness(store, run_id) if inside else None
    robust = model.firm(uscc) if model is not None else None
    if robust is None:
        _audit(
            db, actor, now, "result.read", obj, "denied: not found, outside scope or no analysis"
        )
        raise not_found(
            f"该企业在批次 {run_id} 中的稳健性分析", f"robustness of {uscc} in {run_id}"
        )
    path = model.path(uscc, lang) if model is not None else None
    firm = robust["firm"]
    _audit(db, actor, now, "result.read", obj, "ok")
    return FirmRobustnessOut(
        run_id=run_id,
        analysis_id=robust["analysis"]["analysis_id"],
        firm=RobustFirm(uscc=uscc, klass=firm.pop("class"), **firm) if firm else None,
        path=FirmPath(**{**path, "levers": [PathLever(**lv) for lv in path["levers"]]})
        if path
        else None,
    )

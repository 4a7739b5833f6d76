"""Read queries behind the pages, each filtered by the viewer's scope (in SQL, or on the
per-run read models of ``mujun.web.readmodel`` with the same rules).

Ratios over a region are totals over totals (sum of tax ÷ sum of land over the same firms), never
averages of firms' ratios, as the bureaus publish them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mujun.auth.roles import Role
from mujun.auth.scope import DataScope, region_condition, region_level, scope_condition
from mujun.auth.users import User
from mujun.reference.divisions import division_name
from mujun.store import Store
from mujun.web.queries import visible_runs
from mujun.web.readmodel import (
    CLASSES,
    SORT_COLUMNS,
    RunTable,
    cached,
    cohort_values,
    county_stats,
    in_region,
    in_scope,
    issue_rows_by_firm,
    item_rows,
    land_rows,
    region_wide,
    register_rows,
    run_counties,
    run_rows,
    run_table,
    true_mask,
)


def evaluation_runs_by_year(store: Store, scope: DataScope) -> dict[int, list[str]]:
    """Every evaluation run of each year that the viewer may see and that has firms in its
    scope, in force first (published or final, newest first), then drafts for officials who
    see them, superseded runs last: each county counts from the first that evaluated it."""
    out: dict[int, list[str]] = {}
    for run, firms in visible_runs(store, scope, in_force_first=True):
        if run.kind == "evaluation" and run.year is not None and firms > 0:
            out.setdefault(run.year, []).append(run.run_id)
    return out


def region_stats(
    store: Store,
    run: str | Sequence[str],
    scope: DataScope,
    region: str | None,
    by: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Counts, class shares and per-mu totals of a run within scope and region, for the whole
    (key ``""``) or grouped by ``by`` (``county_code`` or ``city_code``).

    ``run`` is one run id, or several (newest first): then each county counts from the first
    of them that evaluated it, so a city or the province combines its counties' latest runs.
    Sums come from each run's totals per county (``county_stats``, computed once per data
    generation), filtered by scope and region here as ``scope_condition`` does in SQL. The
    answer is kept for the data generation too (an overview asks for several), so callers
    must not change it."""
    run_ids = (run,) if isinstance(run, str) else tuple(run)
    if not run_ids:
        return {}
    return cached(
        store,
        ("region_stats", run_ids, scope, region, by),
        lambda: _region_stats(store, run_ids, scope, region, by),
    )


def _region_stats(
    store: Store,
    run_ids: tuple[str, ...],
    scope: DataScope,
    region: str | None,
    by: str | None,
) -> dict[str, dict[str, Any]]:
    # Which run each county counts from: the first (newest) of run_ids that evaluated it,
    # whatever the viewer's scope (the choice of run is a property of the county).
    counties = run_counties(store)
    picked: dict[str | None, str] = {}
    for run_id in run_ids:
        for county in counties.counties(run_id):
            picked.setdefault(county, run_id)
    wide = region_wide(scope)
    s_cond, s_args = ("TRUE", []) if wide else scope_condition(scope, "r")
    sums: dict[str | None, list] = {}
    for run_id in dict.fromkeys(run_ids):
        for county, city, *numbers in county_stats(store, run_id, cond=s_cond, args=s_args):
            if picked.get(county) != run_id:
                continue
            if wide and not in_scope(scope, county, city):
                continue
            if region and not in_region(region, county, city):
                continue
            key = county if by == "county_code" else city if by == "city_code" else ""
            acc = sums.setdefault(key, [0, 0, 0, 0, 0, 0, None, None, None, None])
            for i, x in enumerate(numbers):
                if x is not None:
                    acc[i] = x if acc[i] is None else acc[i] + x
    out = {}
    # ORDER BY k: codes in byte order, NULL last.
    for k in sorted(sums, key=lambda c: (c is None, c or "")):
        firms, evaluated, a, b, c, d, tax, tax_land, va, va_land = sums[k]
        classified = a + b + c + d
        out[k or ""] = {
            "firms": firms,
            "evaluated": evaluated,
            "classes": dict(zip(CLASSES, (a, b, c, d), strict=True)),
            "shares": {
                k2: (n / classified if classified else None)
                for k2, n in zip(CLASSES, (a, b, c, d), strict=True)
            },
            "a_share": a / classified if classified else None,
            "tax_mu": tax / tax_land if tax_land else None,
            "va_mu": va / va_land if va_land else None,
        }
    return out


@dataclass(frozen=True)
class RankingQuery:
    """Filters, sort and page of the rankings list (all optional but the page)."""

    region: str | None = None
    industry: str | None = None
    traditional: str | None = None
    klass: str | None = None  # A–D, or "none" for firms without a class
    size: str | None = None
    q: str | None = None
    sort: str = "total"
    order: str = "desc"
    page: int = 1
    page_size: int = 50
    fragile: bool = False  # only firms whose class is fragile in the run's newest analysis


# The sort keys of the rankings page (see readmodel.SORT_COLUMNS for the columns they sort).
RANKING_SORTS = SORT_COLUMNS


def _ranking_conditions(runs: RunTable, q: RankingQuery) -> list[np.ndarray]:
    """The user's filters as row masks over a run's results (NULL never matches)."""
    t, conditions = runs.table, []
    if q.region:
        level = region_level(q.region)
        if level != "province":
            column = "city_code" if level == "city" else "county_code"
            conditions.append(runs.equal_mask(column, q.region))
    if q.industry:
        conditions.append(true_mask(pc.starts_with(t["industry_code"], q.industry)))
    if q.traditional:
        conditions.append(runs.equal_mask("traditional_industry", q.traditional))
    if q.klass == "none":
        conditions.append(true_mask(pc.equal(pc.fill_null(t["class"], ""), "")))
    elif q.klass:
        conditions.append(runs.equal_mask("class", q.klass))
    if q.size:
        conditions.append(runs.equal_mask("size", q.size))
    if q.q:
        conditions.append(
            true_mask(pc.match_substring(t["name"], q.q))
            | true_mask(pc.starts_with(t["uscc"], q.q.upper()))
        )
    return conditions


# Firms flagged fragile by the newest robustness analysis of the run (mujun robustness).
FRAGILE_SQL = (
    "SELECT f.uscc FROM robustness_firms f WHERE f.fragile AND f.analysis_id = "
    "(SELECT arg_max(a.analysis_id, a.created_at) FROM robustness_analyses a WHERE a.run_id = ?)"
)


def fragile_mask(store: Store, runs: RunTable, run_id: str) -> np.ndarray:
    """Rows of a run's table whose class is fragile in the run's newest robustness analysis
    (kept for the data generation, like the table)."""

    def compute() -> np.ndarray:
        codes = pa.array([u for (u,) in store.rows(FRAGILE_SQL, [run_id])], pa.string())
        mask = true_mask(pc.is_in(runs.table["uscc"], value_set=codes))
        mask.flags.writeable = False  # shared by every request of the generation
        return mask

    return cached(store, ("fragile_mask", run_id), compute)


def ranking_rows(
    store: Store, run_id: str, scope: DataScope, q: RankingQuery, *, everything: bool = False
) -> tuple[int, list[dict[str, Any]]]:
    """The number of firms matching ``q`` within scope and one page of them (or all of them),
    ordered by the sort key (NULLs last) and then the credit code."""
    table = run_table(store, run_id)
    sort = q.sort if q.sort in RANKING_SORTS else "total"
    conditions = _ranking_conditions(table, q)
    if q.fragile:
        conditions.append(fragile_mask(store, table, run_id))
    selected = table.select(scope, conditions, sort, "desc" if q.order == "desc" else "asc")
    total = len(selected)
    if not everything:
        start = (q.page - 1) * q.page_size
        selected = selected[start : start + q.page_size]
    rows = table.ranking_rows(selected)
    for r in rows:
        r["county_name"] = division_name(r["county_code"]) if r["county_code"] else ""
    return total, rows


def ranking_choices(store: Store, run_id: str, scope: DataScope) -> dict[str, list]:
    """The industry divisions and traditional industries present in a run within scope."""
    return run_table(store, run_id).choices(scope)


# -- one firm ----------------------------------------------------------------------------------


def firm_row(store: Store, run_id: str, scope: DataScope, uscc: str) -> dict[str, Any] | None:
    """A firm's results row in a run, if within scope."""
    table = run_table(store, run_id)
    position = table.find(uscc, scope)
    return None if position is None else table.row(position)


def firm_items(store: Store, run_id: str, uscc: str, cohort: str | None) -> list[dict[str, Any]]:
    """A firm's indicator items with the share of its cohort at or below its value."""
    items = item_rows(store, run_id).rows(uscc)
    cohorts = cohort_values(store, run_id)
    for item in items:
        p, n = (None, 0)
        if item["value"] is not None:
            p, n = cohorts.share_at_or_below(cohort or "", item["indicator"], item["value"])
        item["percentile"] = p
        item["cohort_n"] = n
        v, b = item["value"], item["benchmark"]
        item["ratio"] = v / b if v is not None and b else None
    return items


def firm_register(store: Store, year: int, uscc: str) -> dict[str, Any] | None:
    """The firm's register entry for ``year``."""
    rows = register_rows(store, year).rows(uscc, limit=1)
    if not rows:
        return None
    return {"uscc": uscc, **rows[0]}


def firm_land(store: Store, year: int, uscc: str) -> list[dict[str, Any]]:
    """The firm's land parcels for ``year`` (owned and leased)."""
    return land_rows(store, year).rows(uscc)


HISTORY_COLUMNS = ("year", "status", "total", "class", "class_name", "rank", "cohort_size")


def firm_history(
    store: Store, run_ids: list[str], scope: DataScope, uscc: str
) -> list[dict[str, Any]]:
    """The firm's results in the given (visible) runs within scope, newest first."""
    runs = list(run_rows(store))
    created = {row[0]: (row[4], i) for i, row in enumerate(runs)}
    statuses = {row[0]: row[3] for row in runs}  # the run's state: draft … superseded
    out = []
    for run_id in dict.fromkeys(run_ids):
        table = run_table(store, run_id)
        position = table.find(uscc, scope)
        if position is None:
            continue
        row = table.row(position, (*HISTORY_COLUMNS, "land_mu"))
        row["klass"] = row.pop("class")
        out.append({"run_id": run_id, "run_status": statuses.get(run_id), **row})
    # Newest year first, then the newest run (runs are listed newest first).
    out.sort(key=lambda h: created.get(h["run_id"], (None, 0))[1])
    out.sort(key=lambda h: -(h["year"] or 0))
    return out


def firm_issues(store: Store, uscc: str, limit: int = 200) -> list[dict[str, Any]]:
    """Data-quality issues that name the firm, newest year first."""
    return issue_rows_by_firm(store).rows(uscc, limit=limit)


# -- data quality ------------------------------------------------------------------------------

QUALITY_ROLES = frozenset(
    {Role.PROVINCE_ADMIN, Role.CITY_ANALYST, Role.COUNTY_ANALYST, Role.DEPARTMENT_UPLOADER}
)


def issue_scope(user: User) -> tuple[str, list]:
    """SQL condition on ``issues i``: all (province), a department's (its uploader), or those
    naming a firm registered in the analyst's region that year."""
    if user.role == Role.PROVINCE_ADMIN:
        return "TRUE", []
    if user.role == Role.DEPARTMENT_UPLOADER and user.department:
        return "i.source = ?", [user.department]
    if user.role in (Role.CITY_ANALYST, Role.COUNTY_ANALYST) and user.scope:
        cond, args = region_condition(user.scope, "e")
        return (
            "EXISTS (SELECT 1 FROM enterprises e WHERE e.year = i.year AND e.uscc = i.uscc "
            f"AND {cond})",
            args,
        )
    return "FALSE", []


def issue_years(store: Store, user: User) -> list[int]:
    """Years with issues the user may see, newest first."""
    cond, args = issue_scope(user)
    return [
        r[0]
        for r in store.rows(
            f"SELECT DISTINCT year FROM issues i WHERE {cond} ORDER BY 1 DESC", args
        )
    ]


def issue_summary(store: Store, user: User, year: int) -> list[dict[str, Any]]:
    """Issue counts by department and code, with counts by severity."""
    cond, args = issue_scope(user)
    return store.arrow(
        "SELECT i.source, i.code, count(*) FILTER (i.severity = 'error') AS errors, "
        "count(*) FILTER (i.severity = 'warning') AS warnings, "
        "count(*) FILTER (i.severity NOT IN ('error', 'warning')) AS infos, count(*) AS n "
        f"FROM issues i WHERE i.year = ? AND {cond} GROUP BY ALL ORDER BY i.source, n DESC, i.code",
        [year, *args],
    ).to_pylist()


def issue_rows(
    store: Store,
    user: User,
    year: int,
    source: str | None,
    code: str | None,
    page: int | None,
    page_size: int,
) -> tuple[int, list[dict[str, Any]]]:
    """The issue rows of one department and code (a page, or all when ``page`` is None)."""
    cond, args = issue_scope(user)
    where, params = [f"i.year = ? AND {cond}"], [year, *args]
    if source:
        where.append("i.source = ?")
        params.append(source)
    if code:
        where.append("i.code = ?")
        params.append(code)
    sql_where = " AND ".join(where)
    total = int(store.scalar(f"SELECT count(*) FROM issues i WHERE {sql_where}", params))
    limit = "" if page is None else f" LIMIT {int(page_size)} OFFSET {int((page - 1) * page_size)}"
    rows = store.arrow(
        "SELECT i.source, i.file, i.sheet, i.row_no, i.column_name, i.value, i.code, i.severity, "
        f"i.message, i.uscc FROM issues i WHERE {sql_where} "
        f"ORDER BY i.source, i.file, i.row_no NULLS FIRST, i.column_name, i.code{limit}",
        params,
    ).to_pylist()
    return total, rows

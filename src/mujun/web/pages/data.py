"""Read queries behind the pages, each filtered by the viewer's scope in SQL.

Ratios over a region are totals over totals (sum of tax ÷ sum of land over the same firms), never
averages of firms' ratios, as the bureaus publish them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mujun.auth.roles import Role
from mujun.auth.scope import DataScope, region_condition, scope_condition
from mujun.auth.users import User
from mujun.reference.divisions import division_name
from mujun.store import Store
from mujun.web.queries import visible_runs

CLASSES = ("A", "B", "C", "D")

# Firms whose tax and land enter the regional per-mu figures.
_PER_MU_FIRMS = "r.status = 'evaluated' AND r.size = 'above' AND r.land_mu > 0"


def evaluation_runs_by_year(store: Store, scope: DataScope) -> dict[int, list[str]]:
    """Every evaluation run of each year that the viewer may see and that has firms in its
    scope, newest first (published runs for enterprises; drafts too for officials who see them)."""
    out: dict[int, list[str]] = {}
    for run, firms in visible_runs(store, scope):
        if run.kind == "evaluation" and run.year is not None and firms > 0:
            out.setdefault(run.year, []).append(run.run_id)
    return out


def _latest_run_per_county(n_runs: int) -> str:
    """SQL (a derived table ``(county_code, run_id)``) picking, for each county, the first of
    ``n_runs`` bound run ids (newest first) that evaluated it: counties evaluated under
    different rule sets, in different runs, combine without counting a firm twice."""
    values = ", ".join(f"(?, {i})" for i in range(n_runs))
    return (
        f"(SELECT x.county_code, arg_min(x.run_id, v.ord) AS run_id FROM results x "
        f"JOIN (VALUES {values}) v(run_id, ord) ON v.run_id = x.run_id GROUP BY x.county_code)"
    )


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
    of them that evaluated it, so a city or the province combines its counties' latest runs."""
    s_cond, s_args = scope_condition(scope, "r")
    r_cond, r_args = region_condition(region, "r") if region else ("TRUE", [])
    key = f"r.{by}" if by in ("county_code", "city_code") else "''"
    if isinstance(run, str):
        run_from, run_cond, run_args = "", "r.run_id = ?", [run]
    else:
        run_ids = list(run)
        if not run_ids:
            return {}
        pick = _latest_run_per_county(len(run_ids))
        run_from = (
            f"JOIN {pick} p ON p.run_id = r.run_id "
            "AND p.county_code IS NOT DISTINCT FROM r.county_code "
        )
        run_cond = "TRUE"
        run_args = run_ids  # bound in the JOIN, before the WHERE
    rows = store.rows(
        f"SELECT {key} AS k, count(*), count(*) FILTER (r.status = 'evaluated'), "
        "count(*) FILTER (r.class = 'A'), count(*) FILTER (r.class = 'B'), "
        "count(*) FILTER (r.class = 'C'), count(*) FILTER (r.class = 'D'), "
        f"sum(f.tax_paid) FILTER ({_PER_MU_FIRMS} AND f.tax_paid IS NOT NULL), "
        f"sum(r.land_mu) FILTER ({_PER_MU_FIRMS} AND f.tax_paid IS NOT NULL), "
        f"sum(f.value_added) FILTER ({_PER_MU_FIRMS} AND f.value_added IS NOT NULL), "
        f"sum(r.land_mu) FILTER ({_PER_MU_FIRMS} AND f.value_added IS NOT NULL) "
        f"FROM results r {run_from}"
        "LEFT JOIN facts f ON f.year = r.year AND f.uscc = r.uscc "
        f"WHERE {run_cond} AND {s_cond} AND {r_cond} GROUP BY k ORDER BY k",
        [*run_args, *s_args, *r_args],
    )
    out = {}
    for k, firms, evaluated, a, b, c, d, tax, tax_land, va, va_land in rows:
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


RANKING_SORTS = {
    "total": "r.total",
    "rank": "r.rank",
    "name": "r.name",
    "land_mu": "r.land_mu",
    "tax_mu": "t.value",
    "county": "r.county_code",
}


def _ranking_where(run_id: str, scope: DataScope, q: RankingQuery) -> tuple[str, list]:
    s_cond, s_args = scope_condition(scope, "r")
    where, args = ["r.run_id = ?", s_cond], [run_id, *s_args]
    if q.region:
        c, p = region_condition(q.region, "r")
        where.append(c)
        args += p
    if q.industry:
        where.append("starts_with(r.industry_code, ?)")
        args.append(q.industry)
    if q.traditional:
        where.append("e.traditional_industry = ?")
        args.append(q.traditional)
    if q.klass == "none":
        where.append("coalesce(r.class, '') = ''")
    elif q.klass:
        where.append("r.class = ?")
        args.append(q.klass)
    if q.size:
        where.append("r.size = ?")
        args.append(q.size)
    if q.q:
        where.append("(contains(r.name, ?) OR starts_with(r.uscc, ?))")
        args += [q.q, q.q.upper()]
    return " AND ".join(where), args


_RANKING_FROM = (
    "FROM results r LEFT JOIN enterprises e ON e.year = r.year AND e.uscc = r.uscc "
    "LEFT JOIN result_items t ON t.run_id = r.run_id AND t.uscc = r.uscc "
    "AND t.indicator = 'tax_mu' "
)


def ranking_rows(
    store: Store, run_id: str, scope: DataScope, q: RankingQuery, *, everything: bool = False
) -> tuple[int, list[dict[str, Any]]]:
    """The number of firms matching ``q`` within scope and one page of them (or all of them)."""
    where, args = _ranking_where(run_id, scope, q)
    total = int(store.scalar(f"SELECT count(*) {_RANKING_FROM} WHERE {where}", args))
    direction = "DESC" if q.order == "desc" else "ASC"
    order_by = f"{RANKING_SORTS.get(q.sort, 'r.total')} {direction} NULLS LAST, r.uscc"
    limit = (
        "" if everything else f" LIMIT {int(q.page_size)} OFFSET {int((q.page - 1) * q.page_size)}"
    )
    rows = store.arrow(
        "SELECT r.uscc, r.name, r.county_code, r.city_code, r.industry_code, r.size, r.category, "
        "r.status, r.land_mu, t.value AS tax_mu, r.total, r.class AS klass, r.class_name, "
        "r.rank, r.cohort_size, r.percentile, e.traditional_industry "
        f"{_RANKING_FROM} WHERE {where} ORDER BY {order_by}{limit}",
        args,
    ).to_pylist()
    for r in rows:
        r["county_name"] = division_name(r["county_code"]) if r["county_code"] else ""
    return total, rows


def ranking_choices(store: Store, run_id: str, scope: DataScope) -> dict[str, list]:
    """The industry divisions and traditional industries present in a run within scope."""
    s_cond, s_args = scope_condition(scope, "r")
    divisions = [
        r[0]
        for r in store.rows(
            "SELECT DISTINCT substr(r.industry_code, 1, 3) AS d FROM results r "
            f"WHERE r.run_id = ? AND {s_cond} AND length(r.industry_code) >= 3 ORDER BY d",
            [run_id, *s_args],
        )
    ]
    traditional = [
        r[0]
        for r in store.rows(
            "SELECT DISTINCT e.traditional_industry AS t FROM results r JOIN enterprises e "
            "ON e.year = r.year AND e.uscc = r.uscc "
            f"WHERE r.run_id = ? AND {s_cond} AND e.traditional_industry IS NOT NULL "
            "ORDER BY t",
            [run_id, *s_args],
        )
    ]
    return {"industries": divisions, "traditional": traditional}


# -- one firm ----------------------------------------------------------------------------------


def firm_row(store: Store, run_id: str, scope: DataScope, uscc: str) -> dict[str, Any] | None:
    """A firm's results row in a run, if within scope."""
    s_cond, s_args = scope_condition(scope, "r")
    rows = store.arrow(
        f"SELECT r.* FROM results r WHERE r.run_id = ? AND r.uscc = ? AND {s_cond}",
        [run_id, uscc, *s_args],
    ).to_pylist()
    return rows[0] if rows else None


def firm_items(store: Store, run_id: str, uscc: str, cohort: str | None) -> list[dict[str, Any]]:
    """A firm's indicator items with the share of its cohort at or below its value."""
    items = store.arrow(
        "SELECT indicator, name, unit, value, benchmark, score, weight, imputed "
        "FROM result_items WHERE run_id = ? AND uscc = ? ORDER BY indicator",
        [run_id, uscc],
    ).to_pylist()
    pct = dict(
        (ind, (p, n))
        for ind, p, n in store.rows(
            "SELECT i.indicator, count(*) FILTER (o.value <= i.value) / count(*), count(*) "
            "FROM result_items i JOIN result_items o "
            "ON o.run_id = i.run_id AND o.indicator = i.indicator "
            "JOIN results c ON c.run_id = o.run_id AND c.uscc = o.uscc AND c.cohort = ? "
            "WHERE i.run_id = ? AND i.uscc = ? AND i.value IS NOT NULL AND o.value IS NOT NULL "
            "GROUP BY i.indicator",
            [cohort or "", run_id, uscc],
        )
    )
    for item in items:
        p, n = pct.get(item["indicator"], (None, 0))
        item["percentile"] = p
        item["cohort_n"] = n
        v, b = item["value"], item["benchmark"]
        item["ratio"] = v / b if v is not None and b else None
    return items


def firm_register(store: Store, year: int, uscc: str) -> dict[str, Any] | None:
    """The firm's register entry for ``year``."""
    rows = store.arrow(
        "SELECT uscc, name, county_code, city_code, town, industry_code, traditional_industry, "
        "above_size, established FROM enterprises WHERE year = ? AND uscc = ?",
        [year, uscc],
    ).to_pylist()
    return rows[0] if rows else None


def firm_land(store: Store, year: int, uscc: str) -> list[dict[str, Any]]:
    """The firm's land parcels for ``year`` (owned and leased)."""
    return store.arrow(
        "SELECT parcel_id, area_mu, tenure, lessor_uscc, lessor_name, floor_area, supply_date, "
        "shared_parcel, conflict FROM land WHERE year = ? AND uscc = ? ORDER BY parcel_id",
        [year, uscc],
    ).to_pylist()


def firm_history(
    store: Store, run_ids: list[str], scope: DataScope, uscc: str
) -> list[dict[str, Any]]:
    """The firm's results in the given (visible) runs within scope, newest first."""
    if not run_ids:
        return []
    marks = ", ".join("?" for _ in run_ids)
    s_cond, s_args = scope_condition(scope, "r")
    return store.arrow(
        "SELECT r.run_id, r.year, r.status, r.total, r.class AS klass, r.class_name, r.rank, "
        "r.cohort_size, r.land_mu FROM results r JOIN runs ON runs.run_id = r.run_id "
        f"WHERE r.uscc = ? AND r.run_id IN ({marks}) AND {s_cond} "
        "ORDER BY r.year DESC, runs.created_at DESC",
        [uscc, *run_ids, *s_args],
    ).to_pylist()


def firm_issues(store: Store, uscc: str, limit: int = 200) -> list[dict[str, Any]]:
    """Data-quality issues that name the firm, newest year first."""
    return store.arrow(
        "SELECT year, source, file, row_no, column_name, value, code, severity, message "
        "FROM issues WHERE uscc = ? ORDER BY year DESC, source, row_no NULLS FIRST, code LIMIT ?",
        [uscc, limit],
    ).to_pylist()


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

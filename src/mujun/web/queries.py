"""Read queries behind the API, always filtered by the caller's data scope.

Scope filters are applied in SQL next to the user's filters, so a row outside the scope is never
read into Python, let alone returned.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mujun.auth.scope import (
    DataScope,
    can_see_run,
    region_condition,
    scope_condition,
)
from mujun.reference.divisions import division_name
from mujun.store import Store
from mujun.web.readmodel import region_wide, run_counties, run_rows

SORTS = {
    # key: (SQL ORDER BY for ascending, default order); uscc breaks ties deterministically.
    "total": ("total {o} NULLS LAST, uscc", "desc"),
    "rank": ("rank {o} NULLS LAST, uscc", "asc"),
    "name": ("name {o} NULLS LAST, uscc", "asc"),
}
LIST_COLUMNS = (
    "uscc, name, county_code, city_code, industry_code, size, category, status, land_mu, total, "
    "class, class_name, rank, cohort, cohort_size, percentile"
)


@dataclass(frozen=True)
class RunRow:
    """A run from the ``runs`` table with the region it covers."""

    run_id: str
    kind: str
    year: int | None
    status: str
    region: str | None
    created_at: datetime
    rules_hash: str | None


def _run(row: tuple) -> RunRow:
    run_id, kind, year, status, created_at, rules_hash, params = row
    region = None
    if params:
        try:
            region = json.loads(params).get("region")
        except (ValueError, AttributeError):
            region = None
    return RunRow(run_id, kind, year, status, region, created_at, rules_hash)


def _firms_in_scope(store: Store, scope: DataScope) -> dict[str, int]:
    """Firms of each run within ``scope`` (from the cached counts per county when the scope
    is region-wide)."""
    if region_wide(scope):
        counts = run_counties(store)
        return {run_id: counts.firms(run_id, scope) for run_id in counts.by_run}
    cond, params = scope_condition(scope)
    return dict(
        store.rows(f"SELECT run_id, count(*) FROM results WHERE {cond} GROUP BY run_id", params)
    )


# Which run a page shows for a year: the run in force (published or final) before a draft, a
# superseded run (history) last; newest first within each.
RUN_STANDING = {"published": 0, "final": 0, "draft": 1, "confirming": 1, "superseded": 2}


def visible_runs(
    store: Store, scope: DataScope, *, in_force_first: bool = False
) -> list[tuple[RunRow, int]]:
    """Runs ``scope`` may see, newest first, each with its number of firms within the scope;
    with ``in_force_first``, published and final runs before drafts, superseded ones last."""
    counts = _firms_in_scope(store, scope)
    out = []
    for row in run_rows(store):
        run = _run(row)
        n = int(counts.get(run.run_id, 0))
        if can_see_run(scope, run.status, run.region, n > 0):
            out.append((run, n))
    if in_force_first:
        out.sort(key=lambda rn: RUN_STANDING.get(rn[0].status, 1))  # stable: newest first kept
    return out


def visible_run(store: Store, scope: DataScope, run_id: str) -> tuple[RunRow, int] | None:
    """One run if ``scope`` may see it (None for unknown and invisible alike)."""
    rows = [r for r in run_rows(store) if r[0] == run_id]
    if not rows:
        return None
    run = _run(rows[0])
    if region_wide(scope):
        n = run_counties(store).firms(run_id, scope)
    else:
        cond, params = scope_condition(scope)
        n = int(
            store.scalar(
                f"SELECT count(*) FROM results WHERE run_id = ? AND {cond}", [run_id, *params]
            )
        )
    return (run, n) if can_see_run(scope, run.status, run.region, n > 0) else None


@dataclass(frozen=True)
class ResultFilters:
    """The user's filters on a results list (all optional)."""

    region: str | None = None
    industry: str | None = None
    klass: str | None = None
    size: str | None = None
    q: str | None = None


def results_page(
    store: Store,
    scope: DataScope,
    run_id: str,
    filters: ResultFilters,
    *,
    sort: str,
    order: str,
    page: int,
    page_size: int,
) -> tuple[int, list[dict[str, Any]]]:
    """The total number of matching firms within scope and one page of them."""
    cond, params = scope_condition(scope)
    where, args = ["run_id = ?", cond], [run_id, *params]
    if filters.region:
        c, p = region_condition(filters.region)
        where.append(c)
        args += p
    if filters.industry:
        where.append("starts_with(industry_code, ?)")
        args.append(filters.industry)
    if filters.klass is not None:
        where.append("class = ?")
        args.append(filters.klass)
    if filters.size:
        where.append("size = ?")
        args.append(filters.size)
    if filters.q:
        where.append("(contains(name, ?) OR starts_with(uscc, ?))")
        args += [filters.q, filters.q.upper()]
    sql_where = " AND ".join(where)
    total = int(store.scalar(f"SELECT count(*) FROM results WHERE {sql_where}", args))
    order_by = SORTS[sort][0].format(o="DESC" if order == "desc" else "ASC")
    table = store.arrow(
        f"SELECT {LIST_COLUMNS} FROM results WHERE {sql_where} ORDER BY {order_by} "
        "LIMIT ? OFFSET ?",
        [*args, page_size, (page - 1) * page_size],
    )
    rows = table.to_pylist()
    for r in rows:
        r["klass"] = r.pop("class")
        r["county_name"] = division_name(r["county_code"]) if r["county_code"] else None
    return total, rows


def firm_result(
    store: Store, scope: DataScope, run_id: str, uscc: str
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """One firm's full results row and items, if within ``scope`` (None otherwise)."""
    cond, params = scope_condition(scope)
    table = store.arrow(
        f"SELECT * FROM results WHERE run_id = ? AND uscc = ? AND {cond}", [run_id, uscc, *params]
    )
    if table.num_rows == 0:
        return None
    row = table.to_pylist()[0]
    row["county_name"] = division_name(row["county_code"]) if row.get("county_code") else None
    row["city_name"] = division_name(row["city_code"]) if row.get("city_code") else None
    items = store.arrow(
        "SELECT indicator, name, unit, value, benchmark, score, weight, imputed "
        "FROM result_items WHERE run_id = ? AND uscc = ? ORDER BY indicator",
        [run_id, uscc],
    ).to_pylist()
    return row, items


def visible_files(store: Store, department: str | None) -> list[dict[str, Any]]:
    """Ingested files (one department's only when given) with their issue counts."""
    cond, params = ("f.source = ?", [department]) if department else ("TRUE", [])
    return store.arrow(
        "SELECT f.file_id, f.year, f.source, f.name, f.status, f.rows_total, f.rows_stored, "
        "f.rows_quarantined, f.ingested_at, "
        "(SELECT count(*) FROM issues i WHERE i.file_id = f.file_id) AS issues "
        f"FROM files f WHERE {cond} ORDER BY f.year DESC, f.file_id DESC",
        params,
    ).to_pylist()


def file_issues(
    store: Store, file_id: int, page: int, page_size: int
) -> tuple[int, list[dict[str, Any]]]:
    """One page of a file's validation issues in file order."""
    total = int(store.scalar("SELECT count(*) FROM issues WHERE file_id = ?", [file_id]))
    rows = store.arrow(
        "SELECT row_no, column_name, value, code, severity, message, uscc FROM issues "
        "WHERE file_id = ? ORDER BY row_no NULLS FIRST, column_name, code LIMIT ? OFFSET ?",
        [file_id, page_size, (page - 1) * page_size],
    ).to_pylist()
    return total, rows

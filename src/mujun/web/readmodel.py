"""Per-run read models behind the pages, computed once per data generation (``mujun.web.cache``).

Each model is built from the store with one set-oriented query and then answers every request
in memory with numpy/Arrow: the runs, firms per run and county, a run's totals per county, its
ranking list with ready-made sort orders, and the sorted values of each cohort. Scope and
filters are applied on every request with the same rules as the SQL they replace
(``mujun.auth.scope``), so a cached model never widens what a viewer sees.

The cache is the one of the store's reader (``mujun.web.db.CachedStore``); on a plain
:class:`~mujun.store.Store` every function computes afresh through the same code path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mujun.auth.scope import DataScope, region_level
from mujun.robustness.tables import (
    FIRM_PATHS_SQL,
    FIRM_ROBUSTNESS_SQL,
    latest_analysis,
    paths_of_firm,
    robustness_of_firm,
)
from mujun.store import Store
from mujun.web.cache import ReadCache

T = TypeVar("T")

CLASSES = ("A", "B", "C", "D")
# Firms whose tax and land enter the regional per-mu figures.
PER_MU_FIRMS = "r.status = 'evaluated' AND r.size = 'above' AND r.land_mu > 0"


def cached(store: Store, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, kept in the store's read cache under ``key`` for the data generation
    (computed afresh on a plain store)."""
    cache: ReadCache | None = getattr(store, "cache", None)
    return compute() if cache is None else cache.get(key, compute)


# -- regions -----------------------------------------------------------------------------------


def in_region(code: str, county: str | None, city: str | None) -> bool:
    """Whether a row with these codes lies in region ``code`` (``region_condition`` in Python:
    a NULL code matches nothing)."""
    level = region_level(code)
    if level == "province":
        return True
    return (city if level == "city" else county) == code


def in_scope(scope: DataScope, county: str | None, city: str | None) -> bool:
    """Whether a row with these codes is readable by a region-wide ``scope`` (all or region)."""
    if scope.kind == "all":
        return True
    if scope.kind == "region" and scope.region:
        return in_region(scope.region, county, city)
    raise ValueError(f"scope {scope.kind} is not region-wide")


def region_wide(scope: DataScope) -> bool:
    """Whether ``scope`` selects rows by region only (so county-level models can serve it)."""
    return scope.kind == "all" or (scope.kind == "region" and bool(scope.region))


# -- runs and their counties -------------------------------------------------------------------

RUNS_SQL = "SELECT run_id, kind, year, status, created_at, rules_hash, params::VARCHAR FROM runs"


def run_rows(store: Store) -> list[tuple]:
    """Every run's row (``RUNS_SQL`` columns), newest first."""
    return cached(
        store,
        ("runs",),
        lambda: store.rows(f"{RUNS_SQL} ORDER BY created_at DESC, run_id DESC"),
    )


@dataclass(frozen=True)
class RunCounties:
    """Firms per (county, city) of every run: ``{run_id: [(county, city, firms), ...]}``."""

    by_run: dict[str, list[tuple[str | None, str | None, int]]]

    def firms(self, run_id: str, scope: DataScope) -> int:
        """Firms of ``run_id`` readable by a region-wide ``scope``."""
        return sum(n for k, c, n in self.by_run.get(run_id, ()) if in_scope(scope, k, c))

    def counties(self, run_id: str) -> set[str | None]:
        """The county codes a run has results for (None for firms without one)."""
        return {k for k, _c, _n in self.by_run.get(run_id, ())}


def run_counties(store: Store) -> RunCounties:
    """Firms per run, county and city (one grouped scan of ``results``)."""

    def compute() -> RunCounties:
        by_run: dict[str, list] = {}
        for run_id, county, city, n in store.rows(
            "SELECT run_id, county_code, city_code, count(*) FROM results GROUP BY ALL"
        ):
            by_run.setdefault(run_id, []).append((county, city, int(n)))
        return RunCounties(by_run)

    return cached(store, ("run_counties",), compute)


# -- totals per county -------------------------------------------------------------------------

# Tax and value added as the run was evaluated on them: the run's accepted correction
# (``overrides``; a NULL value clears the fact) where there is one, else the stored fact.
TAX = "CASE WHEN ot.uscc IS NULL THEN f.tax_paid ELSE ot.value END"
VA = "CASE WHEN ov.uscc IS NULL THEN f.value_added ELSE ov.value END"
# One row per (county, city) of a run: firms, evaluated, classes A–D, and the four sums of the
# per-mu figures (tax and its land, value added and its land; totals over totals).
COUNTY_STATS_SQL = (
    "SELECT r.county_code, r.city_code, count(*), count(*) FILTER (r.status = 'evaluated'), "
    "count(*) FILTER (r.class = 'A'), count(*) FILTER (r.class = 'B'), "
    "count(*) FILTER (r.class = 'C'), count(*) FILTER (r.class = 'D'), "
    f"sum({TAX}) FILTER ({PER_MU_FIRMS} AND {TAX} IS NOT NULL), "
    f"sum(r.land_mu) FILTER ({PER_MU_FIRMS} AND {TAX} IS NOT NULL), "
    f"sum({VA}) FILTER ({PER_MU_FIRMS} AND {VA} IS NOT NULL), "
    f"sum(r.land_mu) FILTER ({PER_MU_FIRMS} AND {VA} IS NOT NULL) "
    "FROM results r LEFT JOIN facts f ON f.year = r.year AND f.uscc = r.uscc "
    "LEFT JOIN overrides ot ON ot.run_id = r.run_id AND ot.uscc = r.uscc "
    "AND ot.field = 'tax_paid' "
    "LEFT JOIN overrides ov ON ov.run_id = r.run_id AND ov.uscc = r.uscc "
    "AND ov.field = 'value_added' "
    "WHERE r.run_id = ? AND {cond} GROUP BY r.county_code, r.city_code"
)


def county_stats(
    store: Store,
    run_id: str,
    *,
    cond: str = "TRUE",
    args: list | None = None,
) -> list[tuple]:
    """A run's totals per (county, city): ``COUNTY_STATS_SQL`` rows. Cached for the whole run;
    an extra SQL condition (an enterprise's scope) is computed without caching."""
    sql = COUNTY_STATS_SQL.format(cond=cond)
    if cond != "TRUE":
        return store.rows(sql, [run_id, *(args or [])])
    return cached(store, ("county_stats", run_id), lambda: store.rows(sql, [run_id]))


# -- rows by credit code ------------------------------------------------------------------------


def _key_bytes(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A string column as a numpy array of bytes (byte order is DuckDB's string order)."""
    return pc.cast(column, pa.binary()).to_numpy(zero_copy_only=False).astype("S")


def compact(table: pa.Table, keep: frozenset[str] = frozenset()) -> pa.Table:
    """``table`` with its repetitive string columns dictionary-encoded (a fraction of the
    memory; ``to_pylist`` gives the same values), except the columns in ``keep``."""
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if (
            name not in keep
            and pa.types.is_string(column.type)
            and table.num_rows
            and pc.count_distinct(column).as_py() * 4 < table.num_rows
        ):
            column = pc.dictionary_encode(column)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


class Row(dict):
    """A result row: a dict whose keys also read as attributes, as templates read them
    (Jinja tries an attribute first; a plain dict answers that with an exception each time)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def as_rows(rows: list[dict[str, Any]]) -> list[Row]:
    """Rows as :class:`Row`."""
    return [Row(r) for r in rows]


@dataclass(frozen=True)
class KeyedRows:
    """An Arrow table sorted by a string key; the rows of one key are found by binary search
    and come out in the order of the query that built the table."""

    table: pa.Table
    keys: np.ndarray
    columns: tuple[str, ...]

    @property
    def nbytes(self) -> int:
        """Memory held (for the cache's budget)."""
        return self.table.nbytes + self.keys.nbytes

    @classmethod
    def build(cls, table: pa.Table, key: str) -> KeyedRows:
        """Index ``table`` (rows with a NULL key are left out) by ``key``; the rows come out
        without the key column."""
        table = table.filter(pc.is_valid(table[key]))
        keys = _key_bytes(table[key])
        order = np.argsort(keys, kind="stable")
        columns = tuple(c for c in table.column_names if c != key)
        return cls(compact(table.take(pa.array(order))), keys[order], columns)

    def rows(self, key: str, limit: int | None = None) -> list[dict[str, Any]]:
        """The rows of ``key``, in query order (the first ``limit`` of them)."""
        k = key.encode("utf-8")
        lo = int(np.searchsorted(self.keys, k, side="left"))
        hi = int(np.searchsorted(self.keys, k, side="right"))
        if limit is not None:
            hi = min(hi, lo + limit)
        return as_rows(self.table.slice(lo, hi - lo).select(list(self.columns)).to_pylist())


def _keyed(store: Store, key: Hashable, sql: str, params: list) -> KeyedRows:
    return cached(store, key, lambda: KeyedRows.build(store.arrow(sql, params), "uscc"))


def register_rows(store: Store, year: int) -> KeyedRows:
    """The register (``enterprises``) of ``year`` by credit code."""
    return _keyed(
        store,
        ("register", year),
        "SELECT uscc, name, county_code, city_code, town, industry_code, traditional_industry, "
        "above_size, established FROM enterprises WHERE year = ?",
        [year],
    )


def land_rows(store: Store, year: int) -> KeyedRows:
    """The land parcels of ``year`` by credit code, each firm's in parcel order."""
    return _keyed(
        store,
        ("land", year),
        "SELECT uscc, parcel_id, area_mu, tenure, lessor_uscc, lessor_name, floor_area, "
        "supply_date, shared_parcel, conflict FROM land WHERE year = ? ORDER BY uscc, parcel_id",
        [year],
    )


def issue_rows_by_firm(store: Store) -> KeyedRows:
    """The data-quality issues naming a firm, each firm's newest year first."""
    return _keyed(
        store,
        ("issues",),
        "SELECT uscc, year, source, file, row_no, column_name, value, code, severity, message "
        "FROM issues WHERE uscc IS NOT NULL "
        "ORDER BY uscc, year DESC, source, row_no NULLS FIRST, code",
        [],
    )


def item_rows(store: Store, run_id: str) -> KeyedRows:
    """The indicator items of ``run_id`` by credit code, each firm's in indicator order."""
    return _keyed(
        store,
        ("items", run_id),
        "SELECT uscc, indicator, name, unit, value, benchmark, score, weight, imputed "
        "FROM result_items WHERE run_id = ? ORDER BY uscc, indicator",
        [run_id],
    )


# -- a run's results: rankings and firm rows ---------------------------------------------------

# Every results column, plus the two the rankings show from elsewhere.
RUN_TABLE_SQL = (
    "SELECT r.*, t.value AS tax_mu, e.traditional_industry AS traditional_industry "
    "FROM results r LEFT JOIN enterprises e ON e.year = r.year AND e.uscc = r.uscc "
    "LEFT JOIN result_items t ON t.run_id = r.run_id AND t.uscc = r.uscc "
    "AND t.indicator = 'tax_mu' WHERE r.run_id = ?"
)
# The columns of a rankings row (``class`` comes out as ``klass``).
RANKING_COLUMNS = (
    "uscc",
    "name",
    "county_code",
    "city_code",
    "industry_code",
    "size",
    "category",
    "status",
    "land_mu",
    "tax_mu",
    "total",
    "class",
    "class_name",
    "rank",
    "cohort_size",
    "percentile",
    "traditional_industry",
)
# sort key of the rankings page -> column of the run table
SORT_COLUMNS = {
    "total": "total",
    "rank": "rank",
    "name": "name",
    "land_mu": "land_mu",
    "tax_mu": "tax_mu",
    "county": "county_code",
}
# Columns compared or sorted on stay plain strings.
_FILTERED = frozenset(
    {"uscc", "name", "county_code", "city_code", "industry_code", "size", "class"}
    | {"traditional_industry"}
)
_MAX_SCOPE_MASKS = 256


def true_mask(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow result as numpy, NULL counting as false (as in a SQL WHERE)."""
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False)


@dataclass
class RunTable:
    """One run's results in memory (every column, with the firm's tax per mu and traditional
    industry): rankings with sort orders computed on first use, and rows by credit code."""

    table: pa.Table
    _orders: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    _scopes: dict[DataScope, np.ndarray | None] = field(default_factory=dict)
    _choices: dict[DataScope, dict[str, list]] = field(default_factory=dict)
    _masks: dict[tuple, np.ndarray] = field(default_factory=dict)
    _by_uscc: tuple[np.ndarray, np.ndarray] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def nbytes(self) -> int:
        """Memory held by the table (for the cache's budget; sort orders and masks come on
        top, a few bytes per firm each)."""
        return self.table.nbytes

    @property
    def result_columns(self) -> list[str]:
        """The columns of the ``results`` table."""
        return self.table.column_names[:-2]

    def order(self, sort: str, direction: str) -> np.ndarray:
        """Row positions in the order ``ORDER BY <sort> <direction> NULLS LAST, uscc``."""
        key = (sort, direction)
        with self._lock:
            found = self._orders.get(key)
        if found is None:
            found = pc.sort_indices(
                self.table,
                sort_keys=[
                    (SORT_COLUMNS[sort], "descending" if direction == "desc" else "ascending"),
                    ("uscc", "ascending"),
                ],
            ).to_numpy()
            with self._lock:
                self._orders[key] = found
        return found

    def scope_mask(self, scope: DataScope) -> np.ndarray | None:
        """Rows readable by ``scope`` (None: all of them), as ``scope_condition`` selects."""
        with self._lock:
            if scope in self._scopes:
                return self._scopes[scope]
        t = self.table
        if scope.kind == "all":
            mask = None
        elif scope.kind == "region" and scope.region:
            level = region_level(scope.region)
            if level == "province":
                mask = None
            else:
                column = "city_code" if level == "city" else "county_code"
                mask = true_mask(pc.equal(t[column], scope.region))
        elif scope.kind == "enterprise" and scope.uscc:
            mask = true_mask(pc.equal(t["uscc"], scope.uscc))
        else:
            mask = np.zeros(t.num_rows, dtype=bool)
        with self._lock:
            if len(self._scopes) >= _MAX_SCOPE_MASKS:
                self._scopes.clear()
            self._scopes[scope] = mask
        return mask

    def equal_mask(self, column: str, value: str) -> np.ndarray:
        """Rows whose ``column`` equals ``value`` (NULL never does), kept for the next request
        filtering the same way (a few bytes per firm each)."""
        key = ("=", column, value)
        with self._lock:
            found = self._masks.get(key)
        if found is None:
            found = true_mask(pc.equal(self.table[column], value))
            with self._lock:
                if len(self._masks) >= _MAX_SCOPE_MASKS:
                    self._masks.clear()
                self._masks[key] = found
        return found

    def select(self, scope: DataScope, conditions: list[np.ndarray], sort: str, direction: str):
        """Row positions within ``scope`` meeting every condition, in sort order."""
        order = self.order(sort, direction)
        mask = self.scope_mask(scope)
        for c in conditions:
            mask = c if mask is None else mask & c
        return order if mask is None else order[mask[order]]

    def ranking_rows(self, positions: np.ndarray) -> list[dict[str, Any]]:
        """The rankings rows at ``positions`` (``class`` as ``klass``)."""
        taken = self.table.take(pa.array(positions, type=pa.int64())).select(RANKING_COLUMNS)
        rows = as_rows(taken.to_pylist())
        for r in rows:
            r["klass"] = r.pop("class")
        return rows

    def choices(self, scope: DataScope) -> dict[str, list]:
        """The industry divisions and traditional industries of the firms within ``scope``."""
        with self._lock:
            found = self._choices.get(scope)
        if found is None:
            mask = self.scope_mask(scope)
            t = self.table if mask is None else self.table.filter(pa.array(mask))
            codes = t["industry_code"]
            codes = pc.filter(
                codes, pa.array(true_mask(pc.greater_equal(pc.utf8_length(codes), 3)))
            )
            found = {
                "industries": sorted(pc.unique(pc.utf8_slice_codeunits(codes, 0, 3)).to_pylist()),
                "traditional": sorted(
                    pc.unique(pc.drop_null(t["traditional_industry"])).to_pylist()
                ),
            }
            with self._lock:
                if len(self._choices) >= _MAX_SCOPE_MASKS:
                    self._choices.clear()
                self._choices[scope] = found
        return found

    def find(self, uscc: str, scope: DataScope) -> int | None:
        """The row position of firm ``uscc`` if it is in the run and within ``scope``."""
        with self._lock:
            by_uscc = self._by_uscc
        if by_uscc is None:
            keys = _key_bytes(self.table["uscc"])
            order = np.argsort(keys, kind="stable")
            by_uscc = (keys[order], order)
            with self._lock:
                self._by_uscc = by_uscc
        keys, order = by_uscc
        k = uscc.encode("utf-8")
        i = int(np.searchsorted(keys, k))
        if i == len(keys) or keys[i] != k:
            return None
        position = int(order[i])
        mask = self.scope_mask(scope)
        return position if mask is None or mask[position] else None

    def row(self, position: int, columns: list[str] | tuple[str, ...] | None = None) -> dict:
        """The row at ``position`` (the results columns, or ``columns``)."""
        names = list(columns) if columns is not None else self.result_columns
        return Row(self.table.slice(position, 1).select(names).to_pylist()[0])


def run_table(store: Store, run_id: str) -> RunTable:
    """The results of ``run_id`` in memory (one query; kept for the data generation)."""
    return cached(
        store,
        ("run_table", run_id),
        lambda: RunTable(compact(store.arrow(RUN_TABLE_SQL, [run_id]), _FILTERED)),
    )


# -- cohorts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortValues:
    """The sorted non-null values of each indicator in each cohort of a run."""

    values: dict[tuple[str, str], np.ndarray]

    @property
    def nbytes(self) -> int:
        """Memory held (for the cache's budget)."""
        return sum(v.nbytes for v in self.values.values())

    def share_at_or_below(self, cohort: str, indicator: str, value: float) -> tuple[float, int]:
        """(share of the cohort's values <= ``value``, cohort size); (None, 0) without any."""
        sorted_values = self.values.get((cohort, indicator))
        if sorted_values is None or len(sorted_values) == 0:
            return None, 0  # type: ignore[return-value]
        n = len(sorted_values)
        return int(np.searchsorted(sorted_values, value, side="right")) / n, n


def cohort_values(store: Store, run_id: str) -> CohortValues:
    """Each (cohort, indicator)'s values in ``run_id``, sorted (one scan of the run's items)."""

    def compute() -> CohortValues:
        table = store.arrow(
            "SELECT c.cohort, o.indicator, list(o.value ORDER BY o.value) AS v "
            "FROM result_items o JOIN results c ON c.run_id = o.run_id AND c.uscc = o.uscc "
            "WHERE o.run_id = ? AND o.value IS NOT NULL AND c.cohort IS NOT NULL GROUP BY ALL",
            [run_id],
        )
        keys = zip(table["cohort"].to_pylist(), table["indicator"].to_pylist(), strict=True)
        lists = table["v"].combine_chunks()
        values = lists.flatten().to_numpy(zero_copy_only=False)
        offsets = lists.offsets.to_numpy()
        offsets = offsets - offsets[0]  # flatten() starts at the first list
        return CohortValues(
            {key: values[offsets[i] : offsets[i + 1]] for i, key in enumerate(keys)}
        )

    return cached(store, ("cohorts", run_id), compute)


# -- robustness and paths to the next class ----------------------------------------------------


@dataclass(frozen=True)
class RunRobustness:
    """A run's newest robustness analysis with its firms' rows and paths, by credit code."""

    analysis: dict[str, Any] | None
    firms: KeyedRows | None = None
    paths: KeyedRows | None = None

    @property
    def nbytes(self) -> int:
        """Memory held (for the cache's budget)."""
        return sum(k.nbytes for k in (self.firms, self.paths) if k is not None)

    def firm(self, uscc: str) -> dict[str, Any] | None:
        """What :func:`mujun.robustness.tables.firm_robustness` gives for ``uscc``."""
        if self.analysis is None or self.firms is None:
            return None
        return robustness_of_firm(self.analysis, self.firms.rows(uscc, limit=1))

    def path(self, uscc: str, lang: str) -> dict[str, Any] | None:
        """What :func:`mujun.robustness.tables.firm_paths` gives for ``uscc``."""
        if self.analysis is None or self.paths is None:
            return None
        return paths_of_firm(self.analysis, [dict(r) for r in self.paths.rows(uscc)], lang)


def run_robustness(store: Store, run_id: str) -> RunRobustness:
    """The newest robustness analysis of ``run_id`` in memory (two queries per generation)."""

    def compute() -> RunRobustness:
        a = latest_analysis(store, run_id)
        if a is None:
            return RunRobustness(None)
        aid = [a["analysis_id"]]
        return RunRobustness(
            a,
            KeyedRows.build(store.arrow(FIRM_ROBUSTNESS_SQL, aid), "uscc"),
            KeyedRows.build(store.arrow(f"{FIRM_PATHS_SQL} ORDER BY uscc, lever", aid), "uscc"),
        )

    return cached(store, ("robustness", run_id), compute)


# -- notifications -----------------------------------------------------------------------------


def unread_notices(store: Store, username: str) -> int:
    """How many of the user's notifications are unread (the bell on every page): counted for
    all users at once, once per data generation (a new notification or marking one read is a
    write and starts a new one)."""
    counts = cached(
        store,
        ("unread_notices",),
        lambda: dict(
            store.rows(
                "SELECT username, count(*) FROM notifications WHERE read_at IS NULL "
                "GROUP BY username"
            )
        ),
    )
    return int(counts.get(username, 0))

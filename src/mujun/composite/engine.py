"""The composite-indicator engine: run a :class:`CompositeSpec` over a :class:`UnitTable`.

Rows are sorted by unit id before anything is computed, so every group statistic is summed in
a fixed order and the same inputs give byte-identical results whatever their row order
(design principle 7). All work is vectorised over units; loops run over steps, indicators,
aggregates and cohorts only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from mujun.composite.aggregate import Tree, aggregate_tree, build_tree, item_scores, rank_scores
from mujun.composite.groups import Grouping, make_grouping
from mujun.composite.normalise import BenchmarkUsed, NormaliseContext, normalise_column
from mujun.composite.spec import CompositeSpec, ImputeStep, load_spec
from mujun.composite.tables import UnitTable, load_unit_table
from mujun.composite.treat import OutlierTreatment, treat_column
from mujun.errors import ConfigError, InputError

__all__ = [
    "CompositeLog",
    "CompositeResult",
    "mean_rank_shift_when_removed",
    "run_composite",
    "run_rules",
]


@dataclass
class CompositeLog:
    """What the steps did: imputed cells, screened-out units, outlier treatment, notes."""

    imputed: dict[str, int] = field(default_factory=dict)
    screened_out: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))
    screened_availability: np.ndarray = field(default_factory=lambda: np.array([]))
    outliers: dict[str, OutlierTreatment] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class CompositeResult:
    """Every stage of a run, one row per unit kept after screening (units sorted by id)."""

    spec: CompositeSpec
    tree: Tree
    units: np.ndarray
    cohort: np.ndarray | None  # cohort label per unit, None without a cohort
    indicators: tuple[str, ...]
    raw: np.ndarray  # n × k numerators as given
    denominated: np.ndarray  # after `denominate` (= raw without one)
    treated: np.ndarray  # the values that entered normalisation
    normalised: np.ndarray  # after normalisation and item-score imputation
    item_scores: np.ndarray
    aggregates: dict[str, np.ndarray]
    total: np.ndarray
    rank: np.ndarray  # int64, 1 = best, within cohort; 0 = not ranked (missing total)
    benchmarks: dict[str, BenchmarkUsed]
    log: CompositeLog
    weights: dict[str, float]
    scaled: np.ndarray  # per indicator: item score carries weight × points
    points: np.ndarray
    cohort_grouping: Grouping
    aggregated: bool

    def reaggregate(self, weights: dict[str, float]) -> CompositeResult:
        """Re-score with changed weights; everything before aggregation is reused."""
        merged = _merge_weights(self.spec, self.weights, weights)
        items, aggs, total, rank = _score(
            self.tree, self.normalised, merged, self.scaled, self.points,
            self.spec.precision, self.cohort_grouping, self.aggregated,
        )  # fmt: skip
        return dataclasses.replace(
            self, item_scores=items, aggregates=aggs, total=total, rank=rank, weights=merged
        )

    def to_arrow(self) -> pa.Table:
        """One row per unit: id, cohort, indicator values, item scores, aggregates, total, rank."""
        cols: dict[str, pa.Array] = {"unit": pa.array(self.units, pa.string())}
        if self.cohort is not None:
            cols["cohort"] = pa.array(self.cohort, pa.string())
        for j, code in enumerate(self.indicators):
            cols[code] = pa.array(self.denominated[:, j], pa.float64(), from_pandas=True)
            cols[f"{code}_score"] = pa.array(self.item_scores[:, j], pa.float64(), from_pandas=True)
            if code in self.benchmarks:
                cols[f"{code}_benchmark"] = pa.array(
                    self.benchmarks[code].per_unit, from_pandas=True
                )
        for code in self.tree.aggregates:
            if code in self.aggregates:
                cols[code] = pa.array(self.aggregates[code], pa.float64(), from_pandas=True)
        cols["total"] = pa.array(self.total, pa.float64(), from_pandas=True)
        cols["rank"] = pa.array(self.rank, pa.int64(), mask=self.rank == 0)
        return pa.table(cols)


def _merge_weights(
    spec: CompositeSpec, base: dict[str, float] | None, override: dict[str, float] | None
) -> dict[str, float]:
    weights = dict(base) if base is not None else {}
    if base is None:
        weights.update({i.code: i.weight for i in spec.indicators})
        weights.update({a.code: a.weight for a in spec.aggregates})
    for code, w in (override or {}).items():
        if code not in weights:
            raise ConfigError(f"weight given for unknown code {code!r}")
        if not w >= 0:
            raise ConfigError(f"weight of {code!r} must be ≥ 0, got {w}")
        weights[code] = float(w)
    return weights


def _score(
    tree: Tree,
    normalised: np.ndarray,
    weights: dict[str, float],
    scaled: np.ndarray,
    points: np.ndarray,
    precision: int,
    cohort: Grouping,
    aggregated: bool,
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    w = np.array([weights[c] for c in tree.indicators], dtype=np.float64)
    items = item_scores(normalised, w, scaled, points, precision)
    if not aggregated:
        n = normalised.shape[0]
        return items, {}, np.full(n, np.nan), np.zeros(n, dtype=np.int64)
    aggs = aggregate_tree(tree, items, weights, scaled, precision)
    total = aggs[tree.root]
    return items, aggs, total, rank_scores(total, cohort)


def _grouping_for(
    by: list[str] | None, cohort: Grouping, groups: dict[str, np.ndarray], what: str
) -> Grouping:
    if by is None:
        return cohort
    for name in by:
        if name not in groups:
            raise ConfigError(
                f"{what}: group column {name!r} not in the table",
                f"available: {', '.join(sorted(groups)) or 'none'}",
            )
    return make_grouping([groups[name] for name in by], cohort.codes.shape[0])


def _impute(
    step: ImputeStep,
    values: np.ndarray,
    cols: list[int],
    g: Grouping,
    codes: list[str],
    log: CompositeLog,
) -> None:
    """Fill missing cells in place; each column's fill values come from its unfilled data."""
    for j in cols:
        col = values[:, j]
        miss = np.isnan(col)
        if not miss.any():
            continue
        stat = g.median(col) if step.method == "group-median" else g.mean(col)
        fill = stat[g.codes[miss]]
        col[miss] = fill
        log.imputed[codes[j]] = log.imputed.get(codes[j], 0) + int((~np.isnan(fill)).sum())


def _column(table: UnitTable, name: str, what: str) -> np.ndarray:
    if name not in table.columns:
        raise ConfigError(
            f"{what}: input column {name!r} not in the table",
            f"numeric columns: {', '.join(list(table.columns)[:20]) or 'none'}",
        )
    return table.columns[name]


def run_composite(
    spec: CompositeSpec,
    table: UnitTable,
    *,
    cohort: np.ndarray | None = None,
    groups: dict[str, np.ndarray] | None = None,
    previous_benchmarks: dict[str, float | dict[str, float]] | None = None,
    weights: dict[str, float] | None = None,
) -> CompositeResult:
    """Run every step of ``spec`` over ``table``; cohorts rank and benchmark units separately."""
    if not spec.indicators:
        raise ConfigError(
            "the rule set reads its indicators from a meta file that was not loaded",
            "load it with load_spec(path, data_dir=...)",
        )
    merged_weights = _merge_weights(spec, None, weights)
    tree = build_tree(spec)
    n_all = len(table)
    all_groups = {
        **table.groups,
        **{k: np.asarray(v).astype(str) for k, v in (groups or {}).items()},
    }
    for name, col in all_groups.items():
        if col.shape != (n_all,):
            raise InputError(f"group column {name!r} has {col.shape[0]} rows, expected {n_all}")
    if cohort is None and spec.data.cohort_columns:
        by_cols = make_grouping(
            [_grouping_col(all_groups, c) for c in spec.data.cohort_columns], n_all
        )
        cohort = by_cols.labels[by_cols.codes]
    if cohort is not None and np.asarray(cohort).shape != (n_all,):
        raise InputError(f"cohort has {np.asarray(cohort).shape[0]} rows, expected {n_all}")

    # Fixed row order: by unit id. Everything below is in this order.
    if n_all > 1 and bool((table.units[1:] > table.units[:-1]).all()):
        order = np.arange(n_all)  # already sorted and unique: skip the string sort
    else:
        order = np.argsort(table.units, kind="stable")
    units = table.units[order]
    if n_all > 1 and (dup := units[1:] == units[:-1]).any():
        raise InputError(f"unit {units[1:][dup][0]!r} appears more than once")
    grp = {k: v[order] for k, v in all_groups.items()}
    cohort_labels = None if cohort is None else np.asarray(cohort).astype(str)[order]
    cohort_g = make_grouping([] if cohort_labels is None else [cohort_labels], n_all)

    inds = spec.indicators
    codes = [i.code for i in inds]
    raw = np.column_stack([_column(table, i.numerator_column, i.code)[order] for i in inds])
    den_cols: dict[str, np.ndarray] = {
        i.code: _column(table, i.denominator, i.code)[order] for i in inds if i.denominator
    }
    scale = np.array([i.scale for i in inds])

    log = CompositeLog()
    rows = np.arange(n_all)
    cur = raw.copy()
    denominated: tuple[np.ndarray, np.ndarray] | None = None
    treated: tuple[np.ndarray, np.ndarray] | None = None
    normalised: np.ndarray | None = None
    benchmarks: dict[str, BenchmarkUsed] = {}
    scaled = np.zeros(len(inds), dtype=bool)
    points = np.ones(len(inds))
    aggregated = False

    def targets(listed: list[str] | None) -> list[int]:
        return [j for j, c in enumerate(codes) if listed is None or c in listed]

    for n, step in enumerate(spec.steps):
        what = f"steps.{n} ({step.op})"
        if step.op == "denominate":
            for j in targets(step.indicators):
                value = cur[:, j] * scale[j]
                if inds[j].denominator:
                    den = den_cols[codes[j]][rows]
                    ok = ~np.isnan(den) & (den != 0)
                    with np.errstate(invalid="ignore", divide="ignore"):
                        value = np.where(ok, value / np.where(ok, den, 1.0), np.nan)
                cur[:, j] = value
            denominated = (rows, cur.copy())
        elif step.op == "impute" and step.method == "cohort-average-item-score":
            assert normalised is not None  # checked at load: after normalise
            g = _grouping_for(step.by, cohort_g, _rows_of(grp, rows), what)
            _impute(step, normalised, targets(step.indicators), g, codes, log)
        elif step.op == "impute":
            if step.method != "none":
                g = _grouping_for(step.by, cohort_g, _rows_of(grp, rows), what)
                _impute(step, cur, targets(step.indicators), g, codes, log)
        elif step.op == "screen":
            cols = targets(step.indicators)
            if not cols:  # `indicators: []` screens on nothing
                continue
            avail = 1.0 - np.isnan(cur[:, cols]).sum(axis=1) / len(cols)
            keep = avail >= step.min_availability
            if not keep.all():
                log.screened_out = np.concatenate([log.screened_out, units[rows[~keep]]])
                log.screened_availability = np.concatenate(
                    [log.screened_availability, avail[~keep]]
                )
                rows, cur = rows[keep], cur[keep]
                cohort_g = cohort_g.take(keep)
        elif step.op == "treat-outliers":
            for j in targets(step.indicators):
                cur[:, j], record = treat_column(
                    cur[:, j], skew=step.skew, kurt=step.kurt, winmax=step.winmax
                )
                log.outliers[codes[j]] = record
        elif step.op == "normalise":
            if normalised is None:
                treated = (rows, cur.copy())
                normalised = cur.copy()
            ctx = NormaliseContext(
                cohort=cohort_g,
                cohort_keys=None if cohort_labels is None else cohort_labels[rows],
                groups=_rows_of(grp, rows),
                numerators={c: raw[rows, j] * scale[j] for j, c in enumerate(codes)},
                denominators={c: v[rows] for c, v in den_cols.items()},
                previous=previous_benchmarks or {},
                notes=log.notes,
            )
            for j in targets(step.indicators):
                normalised[:, j], bench = normalise_column(step, inds[j], cur[:, j], ctx)
                if bench is not None:
                    benchmarks[codes[j]] = bench
                scaled[j] = step.scale_by_weight
                points[j] = step.points
        elif step.op == "aggregate":
            aggregated = True

    if normalised is None:
        treated = (rows, cur.copy())
        normalised = cur.copy()
    items, aggs, total, rank = _score(
        tree, normalised, merged_weights, scaled, points, spec.precision, cohort_g, aggregated
    )
    return CompositeResult(
        spec=spec,
        tree=tree,
        units=units[rows],
        cohort=None if cohort_labels is None else cohort_labels[rows],
        indicators=tuple(codes),
        raw=raw[rows],
        denominated=_align(denominated, rows, raw[rows]),
        treated=_align(treated, rows, cur),
        normalised=normalised,
        item_scores=items,
        aggregates=aggs,
        total=total,
        rank=rank,
        benchmarks=benchmarks,
        log=log,
        weights=merged_weights,
        scaled=scaled,
        points=points,
        cohort_grouping=cohort_g,
        aggregated=aggregated,
    )


def _rows_of(groups: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    # Group columns restricted to the units still present.
    return {k: v[rows] for k, v in groups.items()}


def _grouping_col(groups: dict[str, np.ndarray], name: str) -> np.ndarray:
    if name not in groups:
        raise ConfigError(
            f"data.cohort_columns: column {name!r} is not a text column of the table",
            f"text columns: {', '.join(sorted(groups)) or 'none'}",
        )
    return groups[name]


def _align(
    snapshot: tuple[np.ndarray, np.ndarray] | None, rows: np.ndarray, default: np.ndarray
) -> np.ndarray:
    """A matrix taken at an earlier step, restricted to the units still present at the end."""
    if snapshot is None:
        return default
    snap_rows, matrix = snapshot
    # Screening only removes rows, so the final rows are a sorted subset of the snapshot's.
    return matrix[np.searchsorted(snap_rows, rows)]


def run_rules(rules: Path, data_dir: Path) -> CompositeResult:
    """Load a rule-set YAML and the data directory it reads, and run it."""
    spec = load_spec(rules, data_dir=data_dir)
    table = load_unit_table(
        data_dir,
        file=spec.data.file,
        unit_column=spec.data.unit_column,
        group_columns=[*spec.data.group_columns, *spec.data.cohort_columns],
    )
    return run_composite(spec, table)


def mean_rank_shift_when_removed(result: CompositeResult, level: int) -> dict[str, float]:
    """Per element at ``level``: mean over units of |rank − rank with its weight at 0|."""
    codes = [
        c for c in (*result.indicators, *result.tree.aggregates) if result.tree.level[c] == level
    ]
    if not codes:
        raise ConfigError(f"no framework element at level {level}")
    shifts: dict[str, float] = {}
    for code in codes:
        other = result.reaggregate({code: 0.0}).rank
        both = (result.rank > 0) & (other > 0)
        shifts[code] = (
            float(np.abs(result.rank[both] - other[both]).mean()) if both.any() else float("nan")
        )
    return shifts

"""Normalisation methods and ratio-to-benchmark benchmarks, vectorised over units.

Each method maps one indicator column to its normalised value. Direction is applied first
(y = value × direction) so that the best value always normalises highest; ratio-to-benchmark
uses value ÷ benchmark for direction 1 and benchmark ÷ value for direction −1. Statistics are
computed within the run's cohort (``within_cohort: true``, the default) or over all units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mujun.composite.groups import Grouping, make_grouping
from mujun.composite.spec import (
    DistanceToTargetNormalise,
    FixedBenchmark,
    GoalpostsNormalise,
    IndicatorSpec,
    MinMaxNormalise,
    PercentileRankNormalise,
    RankNormalise,
    RatioToBenchmarkNormalise,
    ZScoreNormalise,
)
from mujun.errors import ConfigError

__all__ = ["BenchmarkUsed", "NormaliseContext", "normalise_column"]


@dataclass(frozen=True)
class BenchmarkUsed:
    """The benchmark of one indicator: per group (label → value) and per unit."""

    strategy: str
    groups: np.ndarray  # group labels ("(all)" for a single benchmark)
    values: np.ndarray  # one per group
    per_unit: np.ndarray  # one per unit (after screening)


@dataclass
class NormaliseContext:
    """What normalisation needs beyond the column itself, all restricted to the current units."""

    cohort: Grouping  # the run's cohort, or one group of all units
    cohort_keys: np.ndarray | None  # cohort label per unit, None when the run has no cohort
    groups: dict[str, np.ndarray]  # group columns per unit
    numerators: dict[str, np.ndarray]  # raw numerator × scale per indicator (ratio of totals)
    denominators: dict[str, np.ndarray]
    previous: dict[str, float | dict[str, float]]
    notes: list[str] = field(default_factory=list)

    @property
    def everyone(self) -> Grouping:
        """One group holding every current unit."""
        return make_grouping([], self.cohort.codes.shape[0])


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return a / b


def _minmax(x: np.ndarray, d: int, g: Grouping, step: MinMaxNormalise) -> np.ndarray:
    y = x * d
    lo, hi = g.min_max(y)
    span = (hi - lo)[g.codes]
    # A constant group (max = min) has no spread to scale: missing, as in COINr.
    frac = _div(y - lo[g.codes], np.where(span > 0, span, np.nan))
    return step.low + (step.high - step.low) * frac


def _zscore(x: np.ndarray, d: int, g: Grouping, step: ZScoreNormalise) -> np.ndarray:
    y = x * d
    mean, sd = g.mean(y), g.std(y)
    sd_u = sd[g.codes]
    return step.mean + step.sd * _div(y - mean[g.codes], np.where(sd_u > 0, sd_u, np.nan))


def _rank(x: np.ndarray, d: int, g: Grouping) -> np.ndarray:
    r = g.rank_min(x * d, descending=False).astype(np.float64)
    r[r == 0] = np.nan
    return r


def _percentile_rank(
    x: np.ndarray, d: int, g: Grouping, step: PercentileRankNormalise
) -> np.ndarray:
    r = _rank(x, d, g)
    n = g.count(x)[g.codes]
    return step.scale * _div(r - 1.0, np.where(n > 1, n - 1.0, np.nan))


def _distance_to_target(
    x: np.ndarray, ind: IndicatorSpec, g: Grouping, step: DistanceToTargetNormalise
) -> np.ndarray:
    d = ind.direction
    y = x * d
    target = float(ind.target) * d  # type: ignore[arg-type]  # checked at load
    lo, _ = g.min_max(y)
    lo_u = lo[g.codes]
    span = target - lo_u
    frac = _div(y - lo_u, np.where(span != 0, span, np.nan))
    if step.cap_max:
        frac = np.minimum(frac, 1.0)
    return step.scale * frac


def _goalposts(x: np.ndarray, ind: IndicatorSpec, step: GoalpostsNormalise) -> np.ndarray:
    post = step.posts[ind.code]
    if ind.direction == 1:
        frac = (x - post.min) / (post.max - post.min)
    else:
        frac = (x - post.max) / (post.min - post.max)
    if step.clip:
        frac = np.clip(frac, 0.0, 1.0)
    return step.scale * frac


def compute_benchmark(
    step: RatioToBenchmarkNormalise, ind: IndicatorSpec, x: np.ndarray, ctx: NormaliseContext
) -> BenchmarkUsed:
    """The benchmark of one indicator under the step's strategy (per-indicator override first)."""
    bench = step.benchmarks.get(ind.code, step.benchmark)
    assert bench is not None  # checked at load
    g = ctx.cohort if step.within_cohort else ctx.everyone
    if isinstance(bench, FixedBenchmark):
        value = bench.value if bench.value is not None else (bench.values or {})[ind.code]
        g = ctx.everyone
        per_group = np.array([value], dtype=np.float64)
    elif bench.strategy == "cohort-mean":
        per_group = g.mean(x)
    elif bench.strategy == "cohort-median":
        per_group = g.median(x)
    elif bench.strategy == "cohort-ratio-of-totals":
        num, den = ctx.numerators[ind.code], ctx.denominators[ind.code]
        ok = ~np.isnan(num) & ~np.isnan(den) & (den != 0)
        tot_num = np.bincount(g.codes[ok], weights=num[ok], minlength=g.n_groups)
        tot_den = np.bincount(g.codes[ok], weights=den[ok], minlength=g.n_groups)
        per_group = _div(tot_num, np.where(tot_den != 0, tot_den, np.nan))
    elif bench.strategy == "previous-year":
        per_group = _previous(bench.factor, ind.code, g, ctx)
    else:  # industry-mean
        if bench.by not in ctx.groups:
            raise ConfigError(
                f"industry-mean benchmark of {ind.code!r}: group column {bench.by!r} not given",
                f"available: {', '.join(sorted(ctx.groups)) or 'none'}",
            )
        keys = [ctx.groups[bench.by]]
        if bench.within_cohort and step.within_cohort and ctx.cohort_keys is not None:
            keys.insert(0, ctx.cohort_keys)
        g = make_grouping(keys, x.shape[0])
        per_group = g.mean(x)
    per_unit = per_group[g.codes]
    return BenchmarkUsed(bench.strategy, g.labels, per_group, per_unit)


def _previous(factor: float, code: str, g: Grouping, ctx: NormaliseContext) -> np.ndarray:
    if code not in ctx.previous:
        raise ConfigError(
            f"previous-year benchmark of {code!r}: no previous value passed",
            "pass previous_benchmarks={code: value or {cohort: value}}",
        )
    prev = ctx.previous[code]
    if isinstance(prev, dict):
        values = np.array([prev.get(str(label), np.nan) for label in g.labels], dtype=np.float64)
        lacking = [str(label) for label, v in zip(g.labels, values, strict=True) if np.isnan(v)]
        if lacking:
            ctx.notes.append(
                f"{code}: no previous-year value for cohort(s) {', '.join(lacking[:10])}"
            )
    else:
        values = np.full(g.n_groups, float(prev))
    return factor * values


def _ratio(
    x: np.ndarray, ind: IndicatorSpec, step: RatioToBenchmarkNormalise, b: np.ndarray
) -> np.ndarray:
    usable = ~np.isnan(b) & (b > 0)  # a missing or non-positive benchmark cannot scale anything
    r = _div(x, b) if ind.direction == 1 else _div(b, x)
    r = np.where(usable, r, np.nan)
    if step.cap is not None or step.floor is not None:
        lo = -np.inf if step.floor is None else step.floor
        hi = np.inf if step.cap is None else step.cap
        r = np.where(np.isnan(r), np.nan, np.clip(r, lo, hi))
    r[np.isinf(r)] = np.nan  # b ÷ 0 for direction −1 with no cap
    # Published rules (Yueqing) score a negative or missing value 0, overriding the floor.
    if step.negative == "zero":
        r[x < 0] = 0.0
    if step.missing == "zero":
        r[np.isnan(r)] = 0.0
    return r


def normalise_column(
    step: object, ind: IndicatorSpec, x: np.ndarray, ctx: NormaliseContext
) -> tuple[np.ndarray, BenchmarkUsed | None]:
    """Normalise one indicator column under a normalise step; returns values and its benchmark."""
    g = ctx.cohort if getattr(step, "within_cohort", True) else ctx.everyone
    d = ind.direction
    if isinstance(step, MinMaxNormalise):
        out = _minmax(x, d, g, step)
    elif isinstance(step, ZScoreNormalise):
        out = _zscore(x, d, g, step)
    elif isinstance(step, RankNormalise):
        out = _rank(x, d, g)
    elif isinstance(step, PercentileRankNormalise):
        out = _percentile_rank(x, d, g, step)
    elif isinstance(step, DistanceToTargetNormalise):
        out = _distance_to_target(x, ind, g, step)
    elif isinstance(step, GoalpostsNormalise):
        out = _goalposts(x, ind, step)
    elif isinstance(step, RatioToBenchmarkNormalise):
        bench = compute_benchmark(step, ind, x, ctx)
        return _ratio(x, ind, step, bench.per_unit), bench
    else:  # pragma: no cover - the spec union is closed
        raise TypeError(f"unknown normalise step {step!r}")
    if isinstance(step, MinMaxNormalise | ZScoreNormalise | PercentileRankNormalise):
        constant = np.isnan(out) & ~np.isnan(x)
        if constant.any():
            ctx.notes.append(
                f"{ind.code}: {int(constant.sum())} value(s) not normalised "
                "(no spread in their group)"
            )
    return out, None

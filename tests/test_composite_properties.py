"""Properties of the engine: bounds, monotonicity, cheap re-weighting, determinism."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from mujun.composite import CompositeSpec, UnitTable, run_composite

CODES = ["a", "b", "c"]
value = st.one_of(st.floats(-50, 500, allow_nan=False), st.just(float("nan")))
positive = st.floats(0.5, 500)
weight = st.floats(0, 40)


def spec_for(normalise, weights, methods=("arithmetic", "arithmetic"), missing="drop", steps=()):
    return CompositeSpec.model_validate(
        {
            "version": "p",
            "name": "p",
            "indicators": [
                {"code": "a", "parent": "P", "weight": weights[0]},
                {"code": "b", "parent": "P", "weight": weights[1]},
                {"code": "c", "parent": "T", "weight": weights[2]},
            ],
            "aggregates": [
                {"code": "P", "parent": "T", "method": methods[0], "missing": missing},
                {"code": "T", "method": methods[1], "missing": missing},
            ],
            "steps": [*steps, normalise, {"op": "aggregate"}],
            "precision": 4,
        }
    )


def table_of(rows):
    cols = np.array(rows, dtype=float).reshape(-1, 3)
    units = [f"u{i:03d}" for i in range(cols.shape[0])]
    return UnitTable(units=units, columns={c: cols[:, j] for j, c in enumerate(CODES)})


def fixed_ratio(bench, floor, cap, **extra):
    return {
        "op": "normalise",
        "method": "ratio-to-benchmark",
        "benchmark": {"strategy": "fixed", "values": dict(zip(CODES, bench, strict=True))},
        "floor": floor,
        "cap": cap,
        "scale_by_weight": True,
        **extra,
    }


@settings(max_examples=60)
@given(
    rows=st.lists(st.tuples(value, value, value), min_size=1, max_size=12),
    bench=st.tuples(positive, positive, positive),
    weights=st.tuples(weight, weight, weight),
    floor=st.floats(0, 1),
    span=st.floats(0, 2),
    cohort_mean=st.booleans(),
)
def test_ratio_item_scores_stay_within_floor_and_cap_times_weight(
    rows, bench, weights, floor, span, cohort_mean
):
    step = fixed_ratio(bench, floor, floor + span)
    if cohort_mean:
        step["benchmark"] = {"strategy": "cohort-mean"}
    res = run_composite(spec_for(step, weights, ("sum", "sum")), table_of(rows))
    w = np.array(weights)
    items = res.item_scores
    ok = ~np.isnan(items)
    tol = 0.5e-4  # precision 4
    assert (items[ok] >= (floor * np.broadcast_to(w, items.shape))[ok] - tol).all()
    assert (items[ok] <= ((floor + span) * np.broadcast_to(w, items.shape))[ok] + tol).all()


@settings(max_examples=60)
@given(
    rows=st.lists(st.tuples(value, value, value), min_size=1, max_size=10),
    bench=st.tuples(positive, positive, positive),
    weights=st.tuples(weight, weight, weight),
    bounds=st.sampled_from([(None, None), (0, 1.5), (0.2, 2.0), (None, 1.0)]),
    methods=st.sampled_from([("arithmetic", "arithmetic"), ("sum", "sum"), ("arithmetic", "sum")]),
    missing=st.sampled_from(["drop", "zero"]),
    negative=st.sampled_from(["zero", "keep"]),
    pick=st.tuples(st.integers(0, 9), st.integers(0, 2)),
    delta=st.floats(0.01, 300),
)
def test_raising_an_input_never_lowers_the_total_with_fixed_benchmarks(
    rows, bench, weights, bounds, methods, missing, negative, pick, delta
):
    step = fixed_ratio(bench, *bounds, negative=negative)
    spec = spec_for(step, weights, methods, missing)
    base = np.array(rows, dtype=float).reshape(-1, 3)
    i, j = pick[0] % base.shape[0], pick[1]
    if np.isnan(base[i, j]):
        return
    raised = base.copy()
    raised[i, j] += delta
    before = run_composite(spec, table_of(base)).total[i]
    after = run_composite(spec, table_of(raised)).total[i]
    if not np.isnan(before):
        assert after >= before


@settings(max_examples=40)
@given(
    rows=st.lists(st.tuples(positive, positive, positive), min_size=2, max_size=10),
    weights=st.tuples(weight, weight, weight),
    pick=st.tuples(st.integers(0, 9), st.integers(0, 2)),
    delta=st.floats(0.01, 300),
)
def test_raising_an_input_never_lowers_the_total_with_minmax_and_arithmetic_means(
    rows, weights, pick, delta
):
    step = {"op": "normalise", "method": "minmax", "within_cohort": False}
    spec = spec_for(step, weights)
    base = np.array(rows, dtype=float).reshape(-1, 3)
    i, j = pick[0] % base.shape[0], pick[1]
    raised = base.copy()
    raised[i, j] += delta
    before = run_composite(spec, table_of(base)).total[i]
    after = run_composite(spec, table_of(raised)).total[i]
    if not np.isnan(before):
        assert after >= before


def same(x, y):
    return np.array_equal(x, y, equal_nan=True)


@settings(max_examples=40)
@given(
    rows=st.lists(st.tuples(value, value, value), min_size=1, max_size=12),
    weights=st.tuples(weight, weight, weight),
    new=st.tuples(weight, weight, weight, weight),
    methods=st.sampled_from([("arithmetic", "sum"), ("geometric", "harmonic"), ("sum", "sum")]),
)
def test_reaggregate_equals_a_fresh_run_with_the_new_weights(rows, weights, new, methods):
    step = {"op": "normalise", "method": "minmax", "low": 1, "high": 100, "scale_by_weight": True}
    spec = spec_for(step, weights, methods)
    table = table_of(rows)
    override = {"a": new[0], "b": new[1], "c": new[2], "P": new[3]}
    fast = run_composite(spec, table).reaggregate(override)
    fresh = run_composite(spec, table, weights=override)
    assert same(fast.item_scores, fresh.item_scores)
    assert all(same(fast.aggregates[k], fresh.aggregates[k]) for k in fresh.aggregates)
    assert same(fast.total, fresh.total) and same(fast.rank, fresh.rank)


def ipc_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


@settings(max_examples=30)
@given(
    rows=st.lists(st.tuples(value, value, value), min_size=2, max_size=25),
    cohorts=st.lists(st.sampled_from("XYZ"), min_size=25, max_size=25),
    seed=st.integers(0, 2**32 - 1),
)
def test_results_do_not_depend_on_input_row_order_and_repeat_byte_for_byte(rows, cohorts, seed):
    steps = (
        {"op": "impute", "method": "group-mean"},
        {"op": "screen", "min_availability": 0.6},
        {"op": "treat-outliers"},
    )
    step = {
        "op": "normalise",
        "method": "ratio-to-benchmark",
        "benchmark": {"strategy": "cohort-mean"},
    }
    spec = spec_for(step, (1, 2, 3), steps=steps)
    table = table_of(rows)
    cohort = np.array(cohorts[: len(table)])
    first = run_composite(spec, table, cohort=cohort).to_arrow()
    again = run_composite(spec, table, cohort=cohort).to_arrow()
    perm = np.random.default_rng(seed).permutation(len(table))
    shuffled = UnitTable(
        units=table.units[perm], columns={k: v[perm] for k, v in table.columns.items()}
    )
    moved = run_composite(spec, shuffled, cohort=cohort[perm]).to_arrow()
    assert ipc_bytes(first) == ipc_bytes(again) == ipc_bytes(moved)

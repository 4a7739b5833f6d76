"""Hand-computed examples: every normalisation, benchmark, imputation and aggregation rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mujun.composite import CompositeSpec, UnitTable, run_composite
from mujun.errors import ConfigError

NAN = float("nan")


def make_spec(steps, indicators=None, aggregates=None, precision=6):
    return CompositeSpec.model_validate(
        {
            "version": "test",
            "name": "test",
            "indicators": indicators or [{"code": "x", "parent": "T"}],
            "aggregates": aggregates or [{"code": "T"}],
            "steps": steps,
            "precision": precision,
        }
    )


def make_table(units=None, groups=None, **columns):
    n = len(next(iter(columns.values())))
    units = units or [f"u{i}" for i in range(n)]
    return UnitTable(units=units, columns=columns, groups=groups or {})


def normalise_x(values, precision=6, direction=1, target=None, **step):
    ind = {"code": "x", "parent": "T", "direction": direction, "target": target}
    spec = make_spec([{"op": "normalise", **step}, {"op": "aggregate"}], [ind], precision=precision)
    return run_composite(spec, make_table(x=values)).item_scores[:, 0].tolist()


# ---------------------------------------------------------------- normalisation


def test_minmax_maps_worst_to_low_and_best_to_high():
    assert normalise_x([1, 2, 4, 9], method="minmax") == [0.0, 12.5, 37.5, 100.0]


def test_minmax_reverses_lower_is_better_indicators():
    assert normalise_x([1, 2, 4, 9], method="minmax", direction=-1) == [100.0, 87.5, 62.5, 0.0]


def test_jingde_band_is_minmax_from_20_to_100_times_weight_over_100():
    ind = {"code": "x", "parent": "T", "weight": 30}
    step = {"op": "normalise", "method": "minmax", "low": 20, "high": 100}
    step |= {"scale_by_weight": True, "points": 0.01}
    spec = make_spec([step, {"op": "aggregate"}], [ind], [{"code": "T", "method": "sum"}], 2)
    res = run_composite(spec, make_table(x=[1, 2, 4, 9]))
    # 30 × (20 + 80 × [0, 1/8, 3/8, 1]) / 100
    assert res.item_scores[:, 0].tolist() == [6.0, 9.0, 15.0, 30.0]
    assert res.total.tolist() == [6.0, 9.0, 15.0, 30.0]


def test_zscore_uses_the_sample_sd_and_optional_target_mean_and_sd():
    # mean 4, deviations −3 −2 0 5, sample sd √(38/3) = 3.559026
    assert normalise_x([1, 2, 4, 9], method="zscore") == [-0.842927, -0.561951, 0.0, 1.404879]
    assert normalise_x([1, 2, 4, 9], method="zscore", mean=10, sd=1) == [
        9.157073,
        9.438049,
        10.0,
        11.404879,
    ]


def test_rank_gives_ties_the_lowest_rank_and_the_best_the_highest():
    assert normalise_x([1, 2, 2, 9], method="rank") == [1.0, 2.0, 2.0, 4.0]


def test_percentile_rank_is_rank_minus_one_over_n_minus_one():
    assert normalise_x([1, 2, 2, 9, NAN], method="percentile-rank", precision=4)[:4] == [
        0.0,
        33.3333,
        33.3333,
        100.0,
    ]


def test_distance_to_target_measures_from_the_minimum_and_can_cap():
    assert normalise_x([1, 2, 4, 9], method="distance-to-target", target=5) == [
        0.0,
        25.0,
        75.0,
        200.0,
    ]
    capped = normalise_x([1, 2, 4, 9], method="distance-to-target", target=5, cap_max=True)
    assert capped == [0.0, 25.0, 75.0, 100.0]


def test_goalposts_are_explicit_clipped_and_reversed_for_negative_direction():
    posts = {"x": {"min": 0, "max": 10}}
    assert normalise_x([1, 2, 4, 12], method="goalposts", posts=posts) == [10, 20, 40, 100]
    assert normalise_x([1, 2, 4, -3], method="goalposts", posts=posts, direction=-1) == [
        90,
        80,
        60,
        100,
    ]


# ---------------------------------------------------------------- ratio to benchmark

HUANGYAN_2021 = {
    "tax_mu": (26.01, 30),
    "va_mu": (132.27, 20),
    "va_energy": (2.54, 20),
    "va_emis": (4861.08, 10),
    "labour": (17.45, 10),
    "rd": (0.0305, 10),
}


def huangyan_spec(**extra):
    inds = [{"code": c, "parent": "total_", "weight": w} for c, (_, w) in HUANGYAN_2021.items()]
    step = {
        "op": "normalise",
        "method": "ratio-to-benchmark",
        "benchmark": {"strategy": "fixed", "values": {c: b for c, (b, _) in HUANGYAN_2021.items()}},
        "floor": 0,
        "cap": 1.5,
        "scale_by_weight": True,
        **extra,
    }
    return make_spec([step, {"op": "aggregate"}], inds, [{"code": "total_", "method": "sum"}], 2)


def test_huangyan_2021_items_are_capped_ratios_times_weight():
    table = make_table(
        units=["A"],
        tax_mu=[39.015],  # 1.5 × 26.01 → 1.5 × 30 = 45
        va_mu=[66.135],  # 0.5 → 10
        va_energy=[5.08],  # 2.0, capped at 1.5 → 30
        va_emis=[2430.54],  # 0.5 → 5
        labour=[17.45],  # 1.0 → 10
        rd=[0.0],  # 0 → 0
    )
    res = run_composite(huangyan_spec(), table)
    assert res.item_scores[0].tolist() == [45.0, 10.0, 30.0, 5.0, 10.0, 0.0]
    assert res.total.tolist() == [100.0]
    assert res.benchmarks["tax_mu"].per_unit.tolist() == [26.01]


def test_yueqing_scores_negative_and_missing_values_zero():
    table = make_table(
        units=["B"],
        tax_mu=[52.02],  # 2.0 → capped 1.5 → 45
        va_mu=[-3.0],  # negative → 0
        va_energy=[NAN],  # missing → 0
        va_emis=[4861.08],  # 1.0 → 10
        labour=[8.725],  # 0.5 → 5
        rd=[0.061],  # 2.0 → 1.5 → 15
    )
    res = run_composite(huangyan_spec(negative="zero", missing="zero"), table)
    assert res.item_scores[0].tolist() == [45.0, 0.0, 0.0, 10.0, 5.0, 15.0]
    assert res.total.tolist() == [75.0]


def test_without_floor_a_kept_negative_ratio_scores_below_zero():
    spec = huangyan_spec(floor=None, negative="keep")
    table = make_table(
        units=["C"], tax_mu=[26.01], va_mu=[-3.0], va_energy=[2.54], va_emis=[4861.08],
        labour=[17.45], rd=[0.0305],
    )  # fmt: skip
    res = run_composite(spec, table)
    assert res.item_scores[0, 1] == round(-3 / 132.27 * 20, 2) == -0.45
    assert res.total.tolist() == [79.55]


def test_a_missing_item_under_sum_drop_rescales_by_the_present_weight():
    # 45 + 10 + 30 + 5 + 10 = 100 from the present items (weight 90), R&D (weight 10) missing
    table = make_table(
        units=["D"], tax_mu=[39.015], va_mu=[66.135], va_energy=[5.08], va_emis=[2430.54],
        labour=[17.45], rd=[NAN],
    )  # fmt: skip
    res = run_composite(huangyan_spec(), table)
    assert math.isnan(res.item_scores[0, 5])
    assert res.total.tolist() == [round(100 * 100 / 90, 2)]  # 111.11


def ratio_on_cohorts(benchmark, **kw):
    # cohort X: 10/1 = 10, 30/2 = 15, 4/4 = 1; cohort Y: 8/2 = 4, 12/1 = 12
    ind = {"code": "x", "parent": "T", "numerator": "num", "denominator": "den"}
    step = {"op": "normalise", "method": "ratio-to-benchmark", "benchmark": benchmark}
    spec = make_spec([{"op": "denominate"}, step, {"op": "aggregate"}], [ind], precision=6)
    table = make_table(
        units=["x1", "x2", "x3", "y1", "y2"],
        groups={"industry": np.array(["I1", "I1", "I2", "I1", "I2"])},
        num=[10, 30, 4, 8, 12],
        den=[1, 2, 4, 2, 1],
    )
    cohort = np.array(["X", "X", "X", "Y", "Y"])
    return run_composite(spec, table, cohort=cohort, **kw)


def test_cohort_mean_benchmark_is_the_mean_of_the_cohort():
    res = ratio_on_cohorts({"strategy": "cohort-mean"})
    b = res.benchmarks["x"]
    assert dict(zip(b.groups.tolist(), np.round(b.values, 6).tolist(), strict=True)) == {
        "X": 8.666667,  # (10 + 15 + 1) / 3
        "Y": 8.0,
    }
    assert res.item_scores[:, 0].tolist() == [1.153846, 1.730769, 0.115385, 0.5, 1.5]


def test_cohort_median_benchmark_takes_the_middle_value():
    res = ratio_on_cohorts({"strategy": "cohort-median"})
    assert res.benchmarks["x"].values.tolist() == [10.0, 8.0]  # X: 1 10 15; Y: (4 + 12) / 2
    assert res.item_scores[:, 0].tolist() == [1.0, 1.5, 0.1, 0.5, 1.5]


def test_cohort_ratio_of_totals_divides_total_numerator_by_total_denominator():
    res = ratio_on_cohorts({"strategy": "cohort-ratio-of-totals"})
    assert np.round(res.benchmarks["x"].values, 6).tolist() == [6.285714, 6.666667]  # 44/7, 20/3
    assert res.item_scores[:, 0].tolist() == [1.590909, 2.386364, 0.159091, 0.6, 1.8]


def test_previous_year_benchmark_is_k_times_the_value_passed_in():
    res = ratio_on_cohorts(
        {"strategy": "previous-year", "factor": 2}, previous_benchmarks={"x": {"X": 5, "Y": 4}}
    )
    assert res.benchmarks["x"].values.tolist() == [10.0, 8.0]
    assert res.item_scores[:, 0].tolist() == [1.0, 1.5, 0.1, 0.5, 1.5]


def test_previous_year_benchmark_without_a_value_is_a_config_error():
    with pytest.raises(ConfigError, match="previous-year"):
        ratio_on_cohorts({"strategy": "previous-year"})


def test_industry_mean_benchmark_is_within_cohort_and_industry_unless_switched_off():
    res = ratio_on_cohorts({"strategy": "industry-mean", "by": "industry"})
    b = res.benchmarks["x"]
    assert dict(zip(b.groups.tolist(), b.values.tolist(), strict=True)) == {
        "X|I1": 12.5,
        "X|I2": 1.0,
        "Y|I1": 4.0,
        "Y|I2": 12.0,
    }
    across = ratio_on_cohorts(
        {"strategy": "industry-mean", "by": "industry", "within_cohort": False}
    )
    b = across.benchmarks["x"]
    assert dict(zip(b.groups.tolist(), np.round(b.values, 6).tolist(), strict=True)) == {
        "I1": 9.666667,  # (10 + 15 + 4) / 3
        "I2": 6.5,  # (1 + 12) / 2
    }


def test_per_indicator_fixed_benchmark_overrides_the_default():
    inds = [{"code": "a", "parent": "T"}, {"code": "b", "parent": "T"}]
    step = {
        "op": "normalise",
        "method": "ratio-to-benchmark",
        "benchmark": {"strategy": "cohort-mean"},
        "benchmarks": {"b": {"strategy": "fixed", "value": 4}},
    }
    spec = make_spec([step, {"op": "aggregate"}], inds)
    res = run_composite(spec, make_table(a=[1, 3], b=[2, 6]))
    assert res.item_scores.tolist() == [[0.5, 0.5], [1.5, 1.5]]


# ---------------------------------------------------------------- imputation and screening


def impute_x(values, groups, method, **extra):
    spec = make_spec([{"op": "impute", "method": method, **extra}, {"op": "aggregate"}])
    return run_composite(spec, make_table(groups={"g": np.array(groups)}, x=values))


def test_group_mean_fills_from_the_unfilled_values_of_the_same_group():
    res = impute_x([1, NAN, 3, NAN, 10, NAN, 20], list("AAAABBB"), "group-mean", by=["g"])
    assert res.treated[:, 0].tolist() == [1, 2, 3, 2, 10, 15, 20]
    assert res.log.imputed == {"x": 3}


def test_group_median_takes_the_middle_value_and_an_empty_group_stays_missing():
    res = impute_x([1, NAN, 3, 8, NAN, NAN], list("AAAACC"), "group-median", by=["g"])
    filled = res.treated[:, 0].tolist()
    assert filled[:4] == [1, 3, 3, 8]
    assert all(math.isnan(v) for v in filled[4:])
    assert res.log.imputed == {"x": 1}


def test_impute_without_by_uses_the_run_cohort_and_empty_by_all_units():
    spec = make_spec([{"op": "impute", "method": "group-mean"}, {"op": "aggregate"}])
    table = make_table(x=[1, NAN, 5, 9])
    res = run_composite(spec, table, cohort=np.array(["A", "A", "B", "B"]))
    assert res.treated[:, 0].tolist() == [1, 1, 5, 9]
    spec_all = make_spec([{"op": "impute", "method": "group-mean", "by": []}, {"op": "aggregate"}])
    assert run_composite(spec_all, table).treated[:, 0].tolist() == [1, 5, 5, 9]


def test_cohort_average_item_score_fills_only_the_listed_indicator():
    inds = [{"code": "emis", "parent": "T", "weight": 10}, {"code": "rd", "parent": "T"}]
    steps = [
        {
            "op": "normalise",
            "method": "ratio-to-benchmark",
            "benchmark": {"strategy": "fixed", "values": {"emis": 10, "rd": 1}},
            "scale_by_weight": True,
        },
        {"op": "impute", "method": "cohort-average-item-score", "indicators": ["emis"]},
        {"op": "aggregate"},
    ]
    spec = make_spec(steps, inds, [{"code": "T", "method": "sum"}], 2)
    table = make_table(emis=[10, 5, NAN, 20], rd=[1, NAN, 1, 1])
    res = run_composite(spec, table, cohort=np.array(["X", "X", "X", "Y"]))
    # cohort X items 10 and 5 → the firm without emissions data gets 7.5
    assert res.item_scores[:, 0].tolist() == [10.0, 5.0, 7.5, 20.0]
    assert math.isnan(res.item_scores[1, 1])
    assert res.log.imputed == {"emis": 1}


def test_screen_drops_units_below_the_availability_threshold_and_logs_them():
    inds = [{"code": "a", "parent": "T"}, {"code": "b", "parent": "T"}]
    spec = make_spec([{"op": "screen", "min_availability": 0.75}, {"op": "aggregate"}], inds)
    res = run_composite(spec, make_table(a=[1, NAN, 3], b=[1, 2, NAN]))
    assert res.units.tolist() == ["u0"]
    assert res.log.screened_out.tolist() == ["u1", "u2"]
    assert res.log.screened_availability.tolist() == [0.5, 0.5]


def test_denominate_gives_missing_for_a_zero_or_missing_denominator_and_applies_scale():
    ind = {"code": "x", "parent": "T", "numerator": "n", "denominator": "d", "scale": 10}
    spec = make_spec([{"op": "denominate"}, {"op": "aggregate"}], [ind])
    res = run_composite(spec, make_table(n=[3, 3, 3], d=[2, 0, NAN]))
    assert res.denominated[0, 0] == 15.0
    assert np.isnan(res.denominated[1:, 0]).all()
    assert res.raw[:, 0].tolist() == [3, 3, 3]


# ---------------------------------------------------------------- aggregation


def aggregate_children(method, missing, values, weights):
    inds = [{"code": f"c{i}", "parent": "T", "weight": w} for i, w in enumerate(weights)]
    spec = make_spec(
        [{"op": "aggregate"}], inds, [{"code": "T", "method": method, "missing": missing}]
    )
    cols = {f"c{i}": [v] for i, v in enumerate(values)}
    return float(run_composite(spec, make_table(**cols)).total[0])


def test_drop_renormalises_weights_and_zero_counts_missing_as_zero():
    assert aggregate_children("arithmetic", "drop", [60, NAN, 90], [1, 1, 2]) == 80.0
    assert aggregate_children("arithmetic", "zero", [60, NAN, 90], [1, 1, 2]) == 60.0
    assert math.isnan(aggregate_children("arithmetic", "zero", [NAN, NAN], [1, 1]))


def test_geometric_mean_is_weighted_and_a_zero_child_gives_zero():
    assert aggregate_children("geometric", "drop", [4, 9], [1, 1]) == 6.0
    assert aggregate_children("geometric", "drop", [4, 9], [1, 3]) == 7.348469  # 4^¼·9^¾
    assert aggregate_children("geometric", "drop", [4, 0], [1, 1]) == 0.0
    assert math.isnan(aggregate_children("geometric", "drop", [4, -1], [1, 1]))
    assert aggregate_children("geometric", "zero", [4, NAN], [1, 1]) == 0.0


def test_harmonic_mean_is_weighted():
    assert aggregate_children("harmonic", "drop", [4, 9], [1, 1]) == 5.538462  # 2 / (¼ + ⅑)
    assert aggregate_children("harmonic", "drop", [4, NAN], [1, 1]) == 4.0


def test_sum_adds_weighted_children_and_drop_rescales_to_the_full_weight():
    assert aggregate_children("sum", "zero", [1, NAN, 3], [1, 2, 3]) == 10.0
    assert aggregate_children("sum", "drop", [1, NAN, 3], [1, 2, 3]) == 15.0  # 10 × 6 / 4


def test_aggregation_climbs_the_tree_level_by_level():
    inds = [
        {"code": "a", "parent": "P"},
        {"code": "b", "parent": "P", "weight": 3},
        {"code": "c", "parent": "Q"},
    ]
    aggs = [{"code": "P", "parent": "T"}, {"code": "Q", "parent": "T", "weight": 3}, {"code": "T"}]
    res = run_composite(
        make_spec([{"op": "aggregate"}], inds, aggs), make_table(a=[4], b=[8], c=[2])
    )
    assert res.aggregates["P"].tolist() == [7.0]
    assert res.total.tolist() == [(7 + 3 * 2) / 4]
    assert res.tree.level == {"a": 1, "b": 1, "c": 1, "P": 2, "Q": 2, "T": 3}


def test_ranks_descend_within_cohort_and_ties_share_the_lowest_rank():
    spec = make_spec([{"op": "aggregate"}], precision=2)
    table = make_table(x=[90, 80, 80.001, 70, 50, 60, NAN])
    res = run_composite(spec, table)
    assert res.rank.tolist() == [1, 2, 2, 4, 6, 5, 0]  # 80.001 rounds to 80.00: a tie
    cohort = np.array(list("AAAABBB"))
    assert run_composite(spec, table, cohort=cohort).rank.tolist() == [1, 2, 2, 4, 2, 1, 0]


def test_to_arrow_has_one_row_per_unit_with_values_scores_aggregates_and_rank():
    res = ratio_on_cohorts({"strategy": "cohort-mean"})
    t = res.to_arrow()
    assert t.column_names == ["unit", "cohort", "x", "x_score", "x_benchmark", "T", "total", "rank"]
    assert t.num_rows == 5
    assert t.column("x").to_pylist() == [10, 15, 1, 4, 12]

"""Outlier treatment: type-2 statistics, tied blocks, the winmax count and the log fallback."""

from __future__ import annotations

import numpy as np

from mujun.composite.treat import skew_kurt, treat_column

NAN = float("nan")


def test_skew_and_kurtosis_are_the_type_2_estimators():
    # d = −3 −2 −1 0 6: Σd² 50, Σd³ 180, Σd⁴ 1394 → G1 = 1800 / (150·√50), G2 = 4.728·4 / 6
    g1, g2 = skew_kurt(np.array([1, 2, 3, 4, 10], dtype=float))
    assert round(g1, 6) == 1.697056
    assert round(g2, 6) == 3.152


def test_a_column_passes_unless_both_skew_and_kurtosis_exceed_their_thresholds():
    # Seven ones among fifty: |G1| ≥ 2 but G2 < 3.5, so nothing is treated.
    x = np.array([1.0] * 7 + [0.0] * 43)
    g1, g2 = skew_kurt(x)
    assert g1 >= 2 and g2 < 3.5
    out, rec = treat_column(x)
    assert rec.status == "passed" and rec.points == 0
    assert out.tolist() == x.tolist()


def test_a_tied_maximum_block_moves_together_and_is_counted_whole():
    x = np.array([*range(1, 21), 1000, 1000, 1000], dtype=float)
    out, rec = treat_column(x)
    assert rec.status == "winsorised"
    assert rec.points == 3
    assert out.tolist() == [*range(1, 21), 20, 20, 20]


def test_the_count_may_exceed_winmax_when_a_tied_block_moves():
    x = np.array([*range(1, 21), 1000, 1000, 1000], dtype=float)
    _, rec = treat_column(x, winmax=2)
    assert rec.points == 3  # one step moved a block of three, past winmax = 2


def test_points_moved_twice_at_the_top_are_counted_once():
    # 500 then the 400-block (which now includes the first point) move: 2 points, not 3.
    x = np.array([*range(1, 31), 400, 500], dtype=float)
    out, rec = treat_column(x)
    assert rec.status == "winsorised"
    assert rec.points == 2
    assert out[-2:].tolist() == [30.0, 30.0]


def test_negative_skew_winsorises_the_bottom_block():
    x = -np.array([*range(1, 21), 1000, 1000, 1000], dtype=float)
    out, rec = treat_column(x)
    assert rec.status == "winsorised" and rec.points == 3
    assert out.min() == -20


def test_fallback_logs_the_original_column_not_the_winsorised_one():
    # Eight outliers spread over seven orders of magnitude: five moves cannot fix that.
    x = np.array([1.0] * 40 + [10.0**k for k in range(2, 10)] + [NAN])
    out, rec = treat_column(x)
    assert rec.status == "log-transformed"
    assert rec.points == 0 and rec.points_tried >= 5
    ok = ~np.isnan(x)
    lo, hi = x[ok].min(), x[ok].max()
    expected = np.log(x[ok] - lo + 0.01 * (hi - lo))
    assert out[ok].tolist() == expected.tolist()
    assert np.isnan(out[-1])


def test_missing_values_stay_missing_and_do_not_enter_the_statistics():
    x = np.array([*range(1, 21), 1000, 1000, 1000, NAN, NAN], dtype=float)
    out, rec = treat_column(x)
    assert rec.points == 3
    assert np.isnan(out[-2:]).all()
    assert skew_kurt(x) == skew_kurt(x[~np.isnan(x)])

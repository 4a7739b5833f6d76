"""Percentile bands, the largest-remainder rule, ties, caps and floors (property-based)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from mujun.classify import apply_limits, assign_bands, band_sizes

WENLING = [0.20, 0.60, 0.15, 0.05]


def test_largest_remainder_band_sizes_by_hand():
    assert band_sizes(100, WENLING).tolist() == [20, 60, 15, 5]
    # 7 × shares = 1.4, 4.2, 1.05, 0.35 → floors 1, 4, 1, 0; one left → largest fraction (0.4: A)
    assert band_sizes(7, WENLING).tolist() == [2, 4, 1, 0]
    # 942 firms (Lishui 2019 size): 188.4, 565.2, 141.3, 47.1 → 188, 565, 141, 47 + 1 to A
    assert band_sizes(942, WENLING).tolist() == [189, 565, 141, 47]
    # Equal fractions: the better class first. 2 × 0.25 each = 0.5 → A and B get one.
    assert band_sizes(2, [0.25] * 4).tolist() == [1, 1, 0, 0]


@given(
    n=st.integers(1, 400),
    shares=st.lists(st.integers(1, 20), min_size=2, max_size=6),
)
def test_band_sizes_sum_to_the_cohort_and_stay_within_one_of_the_quota(n, shares):
    s = np.array(shares, float) / sum(shares)
    sizes = band_sizes(n, s)
    assert sizes.sum() == n
    assert np.all(np.abs(sizes - n * s) < 1 + 1e-9)


@given(
    scores=st.lists(st.integers(0, 10_000), min_size=1, max_size=300, unique=True),
    cohorts=st.integers(1, 4),
)
def test_without_ties_every_cohort_gets_exactly_the_rounding_rules_sizes(scores, cohorts):
    score = np.array(scores, float) / 100
    cohort = np.arange(score.size) % cohorts
    b = assign_bands(cohort, score, WENLING)
    assert (b.klass >= 0).all()  # every firm exactly one class
    for c in range(cohorts):
        m = cohort == c
        if not m.any():
            continue
        got = np.bincount(b.klass[m], minlength=4)
        assert got.tolist() == band_sizes(int(m.sum()), WENLING).tolist()
        # Better scores never get a worse class.
        order = np.argsort(-score[m])
        assert np.all(np.diff(b.klass[m][order]) >= 0)


@given(scores=st.lists(st.integers(0, 20), min_size=1, max_size=200))
def test_equal_totals_share_a_class_when_ties_are_shared(scores):
    score = np.array(scores, float)
    b = assign_bands(np.zeros(score.size, int), score, WENLING)
    for v in np.unique(score):
        assert np.unique(b.klass[score == v]).size == 1


@given(scores=st.lists(st.integers(0, 20), min_size=1, max_size=200))
def test_broken_ties_give_exact_band_sizes(scores):
    score = np.array(scores, float)
    key = np.arange(score.size, dtype=float)
    b = assign_bands(np.zeros(score.size, int), score, WENLING, keys=[key], ties="break")
    assert np.bincount(b.klass, minlength=4).tolist() == band_sizes(score.size, WENLING).tolist()


def test_exempt_and_unscored_firms_are_never_classed():
    score = np.array([5.0, np.nan, 3.0, 2.0])
    eligible = np.array([True, True, False, True])
    b = assign_bands(np.zeros(4, int), score, WENLING, eligible=eligible)
    assert b.klass.tolist()[1:3] == [-1, -1]
    assert b.rank.tolist()[1:3] == [0, 0]


@given(
    klass=st.lists(st.integers(-1, 3), min_size=1, max_size=50),
    data=st.data(),
)
def test_capped_firms_never_exceed_their_cap_and_floored_never_fall_below(klass, data):
    k = np.array(klass)
    cap = np.array(data.draw(st.lists(st.integers(-1, 3), min_size=k.size, max_size=k.size)))
    floor = np.array(data.draw(st.lists(st.integers(-1, 3), min_size=k.size, max_size=k.size)))
    out = apply_limits(k, cap, floor)
    classed = k >= 0
    assert np.all(out[~classed] == -1)
    has_cap = classed & (cap >= 0)
    assert np.all(out[has_cap] >= cap[has_cap])  # never better than the cap
    only_floor = classed & (floor >= 0) & (cap < 0)
    assert np.all(out[only_floor] <= floor[only_floor])  # never worse than the floor

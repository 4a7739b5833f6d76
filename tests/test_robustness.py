"""Robustness of classes and paths to the next class, on a generated province (real DuckDB, real
scoring): batched scoring equals the engine, Monte Carlo probabilities, Sobol indices against
SALib, leave-one-out, paths verified by re-scoring, blocked levers, and `mujun robustness`."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from SALib.analyze import sobol as salib_sobol
from SALib.sample import sobol as salib_sample

from mujun.errors import InputError
from mujun.evaluation import evaluate
from mujun.evaluation.scoring import rescore, score_rules
from mujun.paths import compute_paths, rescore_with_change
from mujun.robustness.analysis import RobustnessSettings, _SobolAccumulator, analyse
from mujun.robustness.batch import (
    base_weights,
    classify_batch,
    group_totals,
    make_classifier,
    renormalise,
)
from mujun.robustness.runscore import load_run_scoring
from mujun.robustness.tables import firm_path_text, firm_paths, firm_robustness
from mujun.rules import RuleSet, load_rules
from mujun.store import open_store

from .conftest import ROOT, run_mujun

DEFAULT = ROOT / "rules" / "zhejiang-default.yaml"


def _rules_without_imputation(weights_zero: str | None = None) -> RuleSet:
    """Huangyan 2021 (fixed published benchmarks) with emissions scoring 0 when missing instead
    of the cohort-average item score, so nothing depends on other firms but the cut-offs."""
    body = load_rules(ROOT / "rules" / "huangyan-2021.yaml").model_dump(
        mode="json", exclude_none=True
    )
    steps = body["above"]["composite"]["steps"]
    body["above"]["composite"]["steps"] = [s for s in steps if s.get("op") != "impute"]
    for s in body["above"]["composite"]["steps"]:
        if s.get("op") == "normalise":
            s["missing"] = "zero"
    if weights_zero:
        for ind in body["above"]["composite"]["indicators"]:
            if ind["code"] == weights_zero:
                ind["weight"] = 0
    body["version"] = f"test-{weights_zero or 'fixed'}"
    return RuleSet.model_validate(body)


@pytest.fixture(scope="module")
def province(small_province, tmp_path_factory):
    """A copy of the small province with three 2023 runs: the default rules, fixed benchmarks,
    and fixed benchmarks with a weight of 0."""
    _, db = small_province
    path = tmp_path_factory.mktemp("robust") / "r.duckdb"
    shutil.copy(db, path)
    with open_store(path) as store:
        runs = {
            "default": evaluate(store, 2023, rules=load_rules(DEFAULT)).run_id,
            "fixed": evaluate(store, 2023, rules=_rules_without_imputation()).run_id,
            "zero": evaluate(store, 2023, rules=_rules_without_imputation("labour")).run_id,
        }
        scorings = {k: load_run_scoring(store, r) for k, r in runs.items()}
    return path, runs, scorings


def test_batched_scoring_with_the_run_weights_reproduces_the_run(province):
    _, _, scorings = province
    rs = scorings["default"]
    g = rs.groups[0]
    clf = make_classifier(rs.firms["uscc"], g.rules, g.scored)
    total = group_totals(clf, {sz: base_weights(r)[None] for sz, r in g.scored.composites.items()})
    bc = classify_batch(clf, total)
    np.testing.assert_array_equal(total[:, 0], g.scored.cols["total"])
    np.testing.assert_array_equal(bc.klass[:, 0], g.scored.cols["klass"])
    np.testing.assert_array_equal(bc.rank[:, 0], g.scored.cols["rank"])


def test_batched_scoring_equals_the_engine_for_random_weights(province):
    _, _, scorings = province
    rs = scorings["default"]
    g = rs.groups[0]
    clf = make_classifier(rs.firms["uscc"], g.rules, g.scored)
    rng = np.random.default_rng(5)
    W = {
        sz: renormalise(base_weights(r), rng.uniform(0.5, 1.5, (6, len(r.indicators))))
        for sz, r in g.scored.composites.items()
    }
    total = group_totals(clf, W)
    bc = classify_batch(clf, total)
    for b in range(6):
        weights = {
            sz: dict(zip(r.indicators, W[sz][b].tolist(), strict=True))
            for sz, r in g.scored.composites.items()
        }
        real = rescore(rs.firms, g.rules, g.scored, weights)
        np.testing.assert_array_equal(total[:, b], real.cols["total"])
        np.testing.assert_array_equal(bc.klass[:, b], real.cols["klass"])
        np.testing.assert_array_equal(bc.rank[:, b], real.cols["rank"])
    # Different weights do move some firms: the comparison above is not vacuous.
    assert (bc.klass != g.scored.cols["klass"][:, None]).any()


def test_zero_spread_gives_the_run_class_with_probability_one(province):
    _, _, scorings = province
    res = analyse(scorings["default"], RobustnessSettings(draws=40, spread=0.0, sobol_n=0))
    gf = res.firms[0]
    classed = gf.published >= 0
    assert classed.sum() > 500
    np.testing.assert_array_equal(gf.p_published[classed], 1.0)
    assert not gf.fragile.any()
    lo, _mid, hi = gf.rank_q[classed].T
    rank = gf.group.scored.cols["rank"][classed]
    np.testing.assert_array_equal(lo, rank)
    np.testing.assert_array_equal(hi, rank)


def test_with_spread_probabilities_sum_to_one_and_some_classes_are_fragile(province):
    _, _, scorings = province
    settings = RobustnessSettings(
        draws=120, spread=0.4, benchmarks=("run", "cohort-mean"), methods=("run", "minmax"),
        sobol_n=0, threshold=0.8,
    )  # fmt: skip
    res = analyse(scorings["default"], settings)
    assert sorted(res.variants) == ["benchmark=cohort-mean", "method=minmax", "run"]
    gf = res.firms[0]
    np.testing.assert_allclose(gf.probs.sum(axis=1), 1.0)
    classed = gf.published >= 0
    assert 0 < gf.fragile.sum() < classed.sum()
    np.testing.assert_array_equal(gf.fragile, classed & (gf.p_published < 0.8))
    lo, mid, hi = gf.rank_q[classed].T
    assert (lo <= mid).all() and (mid <= hi).all() and (lo < hi).any()


def test_unknown_benchmark_strategy_is_refused_with_the_known_ones(province):
    _, _, scorings = province
    with pytest.raises(InputError, match="cohort-mean"):
        analyse(scorings["default"], RobustnessSettings(benchmarks=("best-guess",)))


def test_sobol_accumulator_equals_salib_firm_by_firm():
    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0.8, 1.2]] * 3}
    X = salib_sample.sample(problem, 64, calc_second_order=False, seed=3)
    # Three "firms", each a different function of the factors.
    Y = np.column_stack(
        [X[:, 0] * 3 + X[:, 1] ** 2, np.sin(5 * X[:, 2]) + X[:, 0] * X[:, 1], np.ones(len(X))]
    )
    acc = _SobolAccumulator(3, 3)
    acc.add(Y[:100])  # two batches: 100 rows = 20 base samples of 5 rows
    acc.add(Y[100:])
    s1, st, varied = acc.indices()
    assert varied.tolist() == [True, True, False]
    for i in (0, 1):
        ref = salib_sobol.analyze(problem, Y[:, i], calc_second_order=False, num_resamples=10)
        np.testing.assert_allclose(s1[i], ref["S1"], atol=1e-10)
        np.testing.assert_allclose(st[i], ref["ST"], atol=1e-10)


def test_a_weight_of_zero_has_zero_sobol_indices_and_moves_nothing_when_left_out(province):
    _, _, scorings = province
    res = analyse(scorings["zero"], RobustnessSettings(draws=10, spread=0.3, sobol_n=32))
    above = {(r.output, r.indicator): r for r in res.sensitivity if r.size == "above"}
    for output in ("total", "rank"):
        assert above[(output, "labour")].s1 == pytest.approx(0.0, abs=1e-12)
        assert above[(output, "labour")].st == pytest.approx(0.0, abs=1e-12)
        assert above[(output, "tax_mu")].st > 0.05
    assert above[("total", "tax_mu")].evaluations == 32 * (6 + 2)
    out = {r.indicator: r for r in res.leave_out if r.size == "above"}
    assert out["labour"].mean_rank_shift == 0.0 and out["labour"].class_changes == 0
    assert out["tax_mu"].mean_rank_shift > 0 and out["tax_mu"].class_changes > 0


def _sample(paths, status, n, seed=1):
    fp, _ = paths.groups[0]
    pick = np.flatnonzero(fp.status == status)
    rng = np.random.default_rng(seed)
    return fp, rng.choice(pick, min(n, pick.size), replace=False)


def test_a_firm_changed_along_its_path_lands_in_the_next_class_and_not_before(province):
    _, _, scorings = province
    rs = scorings["default"]
    paths = compute_paths(rs)
    fp, picks = _sample(paths, "reachable", 60)
    assert len(set(fp.lever[picks])) >= 4
    g = rs.groups[0]
    uscc = rs.firms["uscc"][g.scored.idx].astype(str)
    for i in picks:
        pos, lever = fp.rows[i], fp.lever[i]
        k = g.scored.cols["klass"][pos]
        cur, req = fp.current[i], fp.required[i]
        assert rescore_with_change(rs, uscc[pos], lever, fp.shown[i]) == k - 1
        assert rescore_with_change(rs, uscc[pos], lever, req) <= k - 1
        assert rescore_with_change(rs, uscc[pos], lever, cur + 0.999 * (req - cur)) == k


def test_paths_hold_under_a_full_rescoring_with_fixed_benchmarks(province):
    """With published (fixed) benchmarks and no imputation, re-running the whole scoring with
    the firm's changed figure is the independent check: nothing else can move."""
    _, _, scorings = province
    rs = scorings["fixed"]
    g = rs.groups[0]
    paths = compute_paths(rs)
    fp, picks = _sample(paths, "reachable", 200, seed=2)
    fact = {"tax": "tax_paid", "va": "value_added", "energy": "energy", "staff": "employees"}
    checked = 0
    for i in picks:
        pos, lever = fp.rows[i], fp.lever[i]
        if lever not in fact or g.scored.cols["category"][pos] == "tenant":
            continue
        firm = g.scored.idx[pos]
        k = g.scored.cols["klass"][pos]
        saved = rs.firms.cols[fact[lever]][firm]
        try:
            for value, expect in (
                (fp.shown[i], k - 1),
                (saved + 0.999 * (fp.required[i] - saved), k),
            ):
                rs.firms.cols[fact[lever]][firm] = value
                again = score_rules(rs.firms, g.rules, g.scored.idx, rs.year, g.previous)
                assert again.cols["klass"][pos] == expect, (lever, value)
        finally:
            rs.firms.cols[fact[lever]][firm] = saved
        checked += 1
        if checked == 12:
            break
    assert checked == 12


def test_blocked_levers_are_reported_with_the_reason(province):
    _, _, scorings = province
    rs = scorings["default"]
    paths = compute_paths(rs)
    fp, fs = paths.groups[0]
    g = rs.groups[0]
    uscc = rs.firms["uscc"][g.scored.idx].astype(str)
    # A veto (accident, unmet energy task) caps at C: no lever lifts a C firm under one.
    veto = (fp.status == "not-reachable") & np.char.startswith(
        fp.reason.astype(str), "受否决或限制条件约束"
    )
    assert veto.any()
    for i in np.flatnonzero(veto)[:5]:
        pos = fp.rows[i]
        assert g.scored.cols["klass"][pos] == g.rules.class_index("C")
        assert "reachable" not in set(fp.status[fp.rows == pos])
    # A capped item: even a thousand times the lever does not lift the firm.
    capped = np.flatnonzero((fp.status == "not-reachable") & (fp.lever == "tax") & ~veto)[:5]
    assert capped.size
    for i in capped:
        pos = fp.rows[i]
        assert (
            rescore_with_change(rs, uscc[pos], "tax", fp.current[i] * 1000 + 1000)
            == g.scored.cols["klass"][pos]
        )
    # Rules without the input say so; best-class firms get no path.
    assert set(
        fp.status[(fp.lever == "electricity") & (g.scored.cols["size"][fp.rows] == "above")]
    ) == {"not-used"}
    assert "best-class" in set(fs.status)


def test_mujun_robustness_writes_the_tables_and_prints_the_figures(province, tmp_path):
    path, runs, _ = province
    db = tmp_path / "cli.duckdb"
    shutil.copy(path, db)
    res = run_mujun(
        "robustness", runs["default"], "--draws", "60", "--sobol-n", "16", "--db", str(db)
    )
    assert res.returncode == 0, res.stderr
    assert "fragile" in res.stdout and "Sobol" in res.stdout and "升级路径" in res.stdout
    with open_store(db) as store:
        aid, settings = store.rows(
            "SELECT analysis_id, settings::VARCHAR FROM robustness_analyses"
        )[0]
        assert aid == f"{runs['default']}/R1" and json.loads(settings)["draws"] == 60
        n_classed = store.scalar(
            "SELECT count(*) FROM results WHERE run_id = ? AND class <> ''", [runs["default"]]
        )
        assert store.scalar("SELECT count(*) FROM robustness_firms") >= n_classed
        # A firm with a path reads as a sentence with the target class and the note.
        uscc = store.scalar(
            "SELECT min(uscc) FROM firm_paths WHERE status = 'reachable' AND lever = 'tax'"
        )
        p = firm_paths(store, runs["default"], uscc)
        assert p["status"] == "paths" and p["summary"].startswith(f"升至{p['target_class']}类需")
        assert "亩均税收需提高到" in p["summary"]
        text = firm_path_text(store, runs["default"], uscc)
        assert "基准值和分档线" in text
        r = firm_robustness(store, runs["default"], uscc)
        assert abs(sum(r["firm"]["probs"].values()) - 1) < 1e-3
    bad = run_mujun("robustness", runs["default"], "--spread", "2", "--db", str(db))
    assert bad.returncode == 2 and "--spread" in bad.stderr

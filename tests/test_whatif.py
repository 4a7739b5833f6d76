"""What-if on the generated province: unchanged rules reproduce the run exactly, every
re-computation path agrees with a real evaluation under the changed rules, and nothing is written."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from mujun.cli import app
from mujun.errors import ConfigError
from mujun.evaluation import evaluate
from mujun.policy import load_policy
from mujun.rules import load_rules
from mujun.store import open_store
from mujun.whatif import (
    apply_changes,
    base_for_run,
    build_base,
    class_matrix,
    moves_by,
    parse_changes,
    simulate,
)

from .conftest import ROOT

RULES = load_rules(ROOT / "rules" / "zhejiang-default.yaml")
POLICY = load_policy(ROOT / "rules" / "policies" / "zhejiang-default.yaml")
TABLES = ("runs", "results", "result_items", "run_rules", "policy_ledger", "policy_applications")


@pytest.fixture(scope="module")
def province(small_province, tmp_path_factory):
    """A copy of the generated province with one run of 2023 under the default rules."""
    _, src = small_province
    db = tmp_path_factory.mktemp("whatif") / "w.duckdb"
    db.write_bytes(src.read_bytes())
    with open_store(db) as store:
        run = evaluate(store, 2023, rules=RULES).run_id
        base = build_base(store, 2023, rules=RULES, policy=POLICY)
    return db, run, base


def _run_classes(store, run_id):
    t = store.arrow(
        'SELECT uscc, "class", total FROM results WHERE run_id = ? ORDER BY uscc', [run_id]
    )
    return (
        np.asarray(t.column("uscc").to_pylist(), dtype=object),
        np.asarray(t.column("class").to_pylist(), dtype=object),
        t.column("total").to_numpy(zero_copy_only=False).astype(float),
    )


def _counts(store) -> dict[str, int]:
    return {t: int(store.scalar(f"SELECT count(*) FROM {t}")) for t in TABLES}


def test_unchanged_rules_reproduce_the_run_exactly(province):
    db, run, base = province
    result = simulate(base, [])
    with open_store(db) as store:
        uscc, klass, total = _run_classes(store, run)
        from_run = base_for_run(store, run)
    assert (base.firms["uscc"] == uscc).all()
    assert result.path == "none" and result.n_moved == 0
    assert (result.classes == klass).all() and (from_run.classes == klass).all()
    np.testing.assert_array_equal(result.totals, total)  # NaN where unscored, on both sides
    assert (klass == "D").sum() > 0 and (klass == "A").sum() > 0


@pytest.mark.parametrize(
    ("sets", "path"),
    [
        (["weights.tax_per_mu=40", "weights.va_energy=10"], "weights"),
        (["bands.above=0.25,0.45,0.25,0.05"], "classify"),
        (["benchmark=cohort-mean"], "full"),
        (["cap=2"], "full"),
    ],
)
def test_each_path_agrees_with_an_evaluation_under_the_changed_rules(
    province, tmp_path, sets, path
):
    db, _, base = province
    changes = parse_changes(sets)
    result = simulate(base, changes)
    assert result.path == path and result.n_moved > 0
    changed, _ = apply_changes(RULES, None, changes)
    copy = tmp_path / "c.duckdb"
    copy.write_bytes(db.read_bytes())
    with open_store(copy) as store:
        _, klass, total = _run_classes(store, evaluate(store, 2023, rules=changed).run_id)
    assert (result.classes == klass).all()
    np.testing.assert_array_equal(result.totals, total)


def test_a_whatif_never_writes_a_run(province):
    db, _, _ = province
    with open_store(db) as store:
        before = _counts(store)
        base = build_base(store, 2023, rules=RULES, policy=POLICY)
        for sets in (
            ["weights.tax_mu=40"],
            ["benchmark=cohort-median"],
            ["policy.water_surcharge.C=0.3"],
        ):
            simulate(base, parse_changes(sets), store)
        after = _counts(store)
    assert before == after and before["runs"] == 1


def test_moves_by_region_and_industry_and_the_class_matrix(province):
    _, _, base = province
    result = simulate(base, parse_changes(["weights.tax_mu=60", "weights.va_mu=0"]))
    mat = class_matrix(result)
    counts = np.array(mat["counts"])
    assert mat["labels"][:4] == ["A", "B", "C", "D"] and mat["labels"][-1] == ""
    assert counts.sum() == base.firms.n
    assert counts.sum() - np.trace(counts) == result.n_moved
    by_county = moves_by(result, base.counties)
    assert sum(r["moved"] for r in by_county) == result.n_moved
    assert sum(r["firms"] for r in by_county) == base.firms.n
    assert all(r["up"] + r["down"] <= r["moved"] for r in by_county)
    by_industry = moves_by(result, base.firms["industry_code"].astype("U3"))
    assert sum(r["moved"] for r in by_industry) == result.n_moved


def test_policy_rates_change_the_fiscal_effect_without_moving_firms(province):
    _, _, base = province
    result = simulate(base, parse_changes(["policy.electricity_surcharge.D=0.2"]))
    fiscal = {f["lever"]: f for f in result.fiscal}
    power = fiscal["electricity_surcharge"]
    # No published run before: every D firm is in its first D year at 0.1, now 0.2 元/kWh.
    assert result.n_moved == 0 and power["amount_base"] > 0
    assert power["amount"] == pytest.approx(2 * power["amount_base"])
    assert fiscal["land_tax_relief"]["delta"] == 0
    # Moving firms changes the other levers: twice as many A firms (100 % relief instead of
    # 80 % for B), so more land-use tax is relieved.
    wider_a = simulate(base, parse_changes(["bands.above=0.4,0.4,0.15,0.05"]))
    relief = {f["lever"]: f for f in wider_a.fiscal}["land_tax_relief"]
    assert wider_a.n_moved > 0 and relief["delta"] < 0


def test_bad_settings_are_refused_with_the_key_named():
    with pytest.raises(ConfigError, match="not KEY=VALUE"):
        parse_changes(["weights.tax_mu"])
    with pytest.raises(ConfigError, match="no indicator 'nope'"):
        apply_changes(RULES, None, parse_changes(["weights.nope=3"]))
    with pytest.raises(ConfigError, match="band shares must be non-negative and sum to 1"):
        apply_changes(RULES, None, parse_changes(["bands=0.5,0.5,0.5,0.5"]))
    with pytest.raises(ConfigError, match="unknown benchmark strategy"):
        apply_changes(RULES, None, parse_changes(["benchmark=best-guess"]))
    with pytest.raises(ConfigError, match="add --policy"):
        apply_changes(RULES, None, parse_changes(["policy.electricity_surcharge.D=1"]))
    changed, _ = apply_changes(RULES, None, parse_changes(["rules.thresholds.0.below=2"]))
    assert changed.thresholds[0].below == 2 and RULES.thresholds[0].below == 1


def test_cli_whatif_without_changes_says_no_firm_moves(province):
    db, _, _ = province
    runner = CliRunner()
    common = ["whatif", "--year", "2023", "--rules", str(ROOT / "rules" / "zhejiang-default.yaml")]
    res = runner.invoke(app, [*common, "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "no firm moves class" in res.output and "nothing written" in res.output
    res = runner.invoke(
        app,
        [*common, "--db", str(db), "--set", "weights.tax_per_mu=40", "--policy",
         str(ROOT / "rules" / "policies" / "zhejiang-default.yaml")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "firms move class" in res.output and "差别电价" in res.output
    res = runner.invoke(app, [*common, "--db", str(db), "--set", "weight.tax_mu=40"])
    assert res.exit_code == 2 and "unknown key 'weight.tax_mu'" in res.output

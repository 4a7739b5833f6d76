"""Evaluation end to end on a generated province: shares, reproducibility, composite identity."""

from __future__ import annotations

import shutil

import numpy as np
import pyarrow.csv as pacsv
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mujun.composite.engine import run_rules
from mujun.evaluation import evaluate
from mujun.evaluation.exports import diff_runs, export_results
from mujun.evaluation.inputs import firms_from_table, load_firms
from mujun.evaluation.scoring import score_rules
from mujun.rules import load_rules
from mujun.store import open_store

from .conftest import ROOT

DEFAULT = ROOT / "rules" / "zhejiang-default.yaml"


@pytest.fixture(scope="module")
def store(small_province, tmp_path_factory):
    _, db = small_province
    copy = tmp_path_factory.mktemp("eval") / "e.duckdb"
    shutil.copy(db, copy)
    s = open_store(copy)
    yield s
    s.close()


def test_class_shares_match_the_bands_in_every_large_cohort(store):
    # City cohorts make cohorts of 100+ firms out of 2,000; limits are off so that only the
    # bands decide (caps and floors move firms on purpose).
    rules = load_rules(DEFAULT)
    rules = rules.model_copy(
        update={
            "limits": [],
            "thresholds": [],
            "cohorts": rules.cohorts.model_copy(update={"region": "city"}),
        }
    )
    run = evaluate(store, 2023, rules=rules).run_id
    rows = store.rows(
        "SELECT cohort, size, class, count(*) FROM results WHERE run_id = ? AND class <> '' "
        "GROUP BY ALL",
        [run],
    )
    sizes: dict[tuple, dict[str, int]] = {}
    for cohort, size, klass, n in rows:
        sizes.setdefault((cohort, size), {})[klass] = n
    checked = 0
    for (_cohort, size), by in sizes.items():
        total = sum(by.values())
        if total < 100:
            continue
        bands = rules.above.bands if size == "above" else rules.below.bands
        for code, share in zip("ABCD", bands, strict=True):
            assert abs(by.get(code, 0) / total - share) <= 0.01
        checked += 1
    assert checked >= 5


def test_rerunning_gives_byte_identical_results(store, tmp_path):
    rules = load_rules(DEFAULT)
    a = evaluate(store, 2023, rules=rules).run_id
    b = evaluate(store, 2023, rules=rules).run_id
    assert a != b
    for fmt in ("csv", "parquet"):
        export_results(store, a, fmt, tmp_path / f"a.{fmt}")
        export_results(store, b, fmt, tmp_path / f"b.{fmt}")
        assert (tmp_path / f"a.{fmt}").read_bytes() == (tmp_path / f"b.{fmt}").read_bytes()
    assert diff_runs(store, a, b) == []


def test_every_firm_has_one_row_a_status_and_a_reason(store):
    run = evaluate(store, 2023, rules=load_rules(DEFAULT)).run_id
    n_firms = store.scalar("SELECT count(*) FROM enterprises WHERE year = 2023")
    rows = store.rows(
        "SELECT status, class, reasons, count(*) FROM results WHERE run_id = ? GROUP BY ALL",
        [run],
    )
    assert sum(r[3] for r in rows) == n_firms
    assert all(r[2] for r in rows)  # every firm has reasons in plain words
    # Exempt firms are never classed; evaluated firms with a total always are.
    assert all(r[1] == "" for r in rows if r[0] != "evaluated")
    reasons = dict(
        store.rows(
            "SELECT status, any_value(reasons) FROM results WHERE run_id = ? GROUP BY 1", [run]
        )
    )
    assert reasons["not-evaluated"].startswith("不评：")
    assert "排名第" in reasons["evaluated"] or "无有效得分" in reasons["evaluated"]


def test_vetoed_firms_never_exceed_c(store):
    run = evaluate(store, 2023, rules=load_rules(DEFAULT)).run_id
    rows = store.rows(
        "SELECT r.class, r.limit_reason FROM results r JOIN events e ON e.uscc = r.uscc "
        "AND e.year = 2023 AND e.event IN ('safety-accident', 'env-accident', 'energy-task-unmet') "
        "WHERE r.run_id = ? AND r.class <> ''",
        [run],
    )
    assert rows, "the demo province has firms on the accident lists"
    assert all(k in ("C", "D") for k, _ in rows)
    assert all("最高为C类" in why for _, why in rows)


def test_diff_lists_firms_that_changed_class_with_reasons(store):
    a = evaluate(store, 2023, rules=load_rules(DEFAULT)).run_id
    b = evaluate(store, 2023, rules=load_rules(ROOT / "rules" / "huangyan-2022.yaml")).run_id
    rows = diff_runs(store, a, b)
    assert len(rows) > 50
    _uscc, _name, ka, kb, _ta, _tb, why = rows[0]
    assert ka != kb and why
    got = store.scalar(
        "SELECT count(*) FROM (SELECT uscc, class FROM results WHERE run_id = ?) x "
        "JOIN (SELECT uscc, class FROM results WHERE run_id = ?) y USING (uscc) "
        "WHERE x.class <> y.class",
        [a, b],
    )
    assert len(rows) == got


def test_the_composite_command_path_gives_the_evaluations_totals(store, tmp_path):
    rules = load_rules(DEFAULT)
    run = evaluate(store, 2023, rules=rules).run_id
    firms = load_firms(store, 2023)
    scored = score_rules(firms, rules, np.arange(firms.n), 2023)
    res = scored.composites["above"]
    # Write the same unit × input table and the same spec as a standalone composite rule set.
    data = tmp_path / "data"
    data.mkdir()
    rows = scored.items["above"]["rows"]
    import pyarrow as pa

    from mujun.evaluation.scoring import _inputs

    inputs = _inputs(firms, np.arange(firms.n), scored.cols["land_mu"])
    table = pa.table(
        {"uscc": firms["uscc"][rows].astype(str), "cohort": scored.cols["cohort"][rows].astype(str)}
        | {k: v[rows] for k, v in inputs.items()}
    )
    pacsv.write_csv(table, data / "iData.csv")
    spec = rules.above.composite.model_dump(mode="json", exclude_none=True)
    spec["data"] = {"file": "iData.csv", "unit_column": "uscc", "cohort_columns": ["cohort"]}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    standalone = run_rules(tmp_path / "spec.yaml", data)
    assert standalone.units.tolist() == res.units.tolist()
    assert np.array_equal(standalone.total, res.total, equal_nan=True)
    stored = dict(
        store.rows(
            "SELECT uscc, composite_total FROM results WHERE run_id = ? AND size = 'above' AND status = 'evaluated'",
            [run],
        )
    )
    assert [stored[u] for u in res.units[:50]] == pytest.approx(
        res.total[:50].tolist(), nan_ok=True
    )


HUANGYAN = load_rules(ROOT / "rules" / "huangyan-2021.yaml")


def _one_cohort(tax, va, energy, staff, land):
    n = len(tax)
    import pyarrow as pa

    t = pa.table(
        {
            "uscc": [f"F{i:05d}" for i in range(n)],
            "name": ["x"] * n,
            "county_code": ["331003"] * n,
            "city_code": ["331000"] * n,
            "industry_code": ["C3441"] * n,
            "industry_division": ["C34"] * n,
            "traditional_industry": [None] * n,
            "above_size": [True] * n,
            "est_year": [2000.0] * n,
            "tax_paid": tax,
            "value_added": va,
            "revenue": [v * 4 for v in va],
            "employees": staff,
            "energy": energy,
            "rd": [v * 0.03 for v in va],
            "electricity": [1e6] * n,
            "water": [1.0] * n,
            "cod": [1.0] * n,
            "ammonia": [0.0] * n,
            "so2": [0.0] * n,
            "nox": [0.0] * n,
            "land_own_mu": land,
            "land_leased_mu": [None] * n,
            "n_parcels": [1.0] * n,
        }
    )
    return firms_from_table(t, 2021)


pos = st.floats(1, 5000, allow_nan=False)


@settings(max_examples=40)
@given(
    rows=st.lists(
        st.tuples(pos, pos, pos, st.integers(1, 500), st.floats(1, 200)), min_size=2, max_size=30
    ),
    which=st.sampled_from(["tax_paid", "value_added"]),
    factor=st.floats(1.0, 10.0),
)
def test_the_total_never_falls_when_a_positive_indicator_rises(rows, which, factor):
    tax, va, energy, staff, land = (list(x) for x in zip(*rows, strict=True))
    base = _one_cohort(tax, va, energy, staff, land)
    before = score_rules(base, HUANGYAN, np.arange(base.n), 2021).cols["total"][0]
    base.cols[which] = base.cols[which].copy()
    base.cols[which][0] *= factor
    after = score_rules(base, HUANGYAN, np.arange(base.n), 2021).cols["total"][0]
    assert after >= before
    # Item scores stay within [floor, cap] × weight: 0 … 150 in total for Huangyan.
    assert 0 <= after <= 150


def test_a_previous_year_benchmark_uses_last_years_cohort_mean(store):
    rules = load_rules(DEFAULT)
    data = rules.model_dump(mode="json", exclude_none=True)
    step = data["above"]["composite"]["steps"][1]
    step["benchmark"] = {"strategy": "previous-year", "factor": 2.0}  # Huai'an: 2 × last year
    huaian = type(rules).model_validate(data)
    run = evaluate(store, 2023, rules=huaian).run_id
    # Independently: the 2022 mean of tax/mu over evaluated above-size firms of one county.
    base = evaluate(store, 2022, rules=rules).run_id
    county, mean22 = store.rows(
        "SELECT r.cohort, avg(i.value) FROM results r JOIN result_items i USING (run_id, uscc) "
        "WHERE r.run_id = ? AND r.size = 'above' AND r.status = 'evaluated' AND i.indicator = 'tax_mu' "
        "AND i.value IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
        [base],
    )[0]
    bench = store.scalar(
        "SELECT any_value(i.benchmark) FROM results r JOIN result_items i USING (run_id, uscc) "
        "WHERE r.run_id = ? AND r.cohort = ? AND i.indicator = 'tax_mu'",
        [run, county],
    )
    assert bench == pytest.approx(2 * mean22)

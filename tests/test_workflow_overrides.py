"""The evaluation hook for accepted corrections: overrides replace a firm's facts for one run
exactly as if the facts had been stored so, and change nothing when none are given."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from mujun.errors import InputError
from mujun.evaluation import evaluate
from mujun.evaluation.inputs import EXEMPTION_EVENT, apply_overrides, load_firms
from mujun.rules import load_rules
from mujun.store import open_store
from mujun.web.demo import build_demo_store

from .conftest import ROOT

RULES = ROOT / "rules" / "zhejiang-default.yaml"


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """A 300-firm province evaluated once; yields (store path, first run id)."""
    base = tmp_path_factory.mktemp("overrides")
    db = base / "o.duckdb"
    run = build_demo_store(db, base / "data", enterprises=300)
    return base, db, run


def _results(store, run_id):
    table = store.arrow(
        "SELECT * EXCLUDE (run_id) FROM results WHERE run_id = ? ORDER BY uscc", [run_id]
    )
    items = store.arrow(
        "SELECT * EXCLUDE (run_id) FROM result_items WHERE run_id = ? ORDER BY uscc, indicator",
        [run_id],
    )
    return table, items


def _two_firms(store):
    return [
        u
        for (u,) in store.rows(
            "SELECT uscc FROM facts WHERE year = 2023 AND land_own_mu > 0 AND tax_paid > 0 "
            "ORDER BY uscc LIMIT 2"
        )
    ]


def test_overrides_score_a_firm_as_if_its_facts_had_been_stored_so(province, tmp_path):
    _, db, first = province
    rules = load_rules(RULES)
    copy = tmp_path / "edited.duckdb"
    shutil.copy(db, copy)
    with open_store(db) as store:
        a, b = _two_firms(store)
    overrides = {a: {"land_own_mu": 1.25}, b: {"tax_paid": 0.5, "value_added": None}}
    with open_store(copy) as store:
        store.execute("UPDATE facts SET land_own_mu = 1.25 WHERE year = 2023 AND uscc = ?", [a])
        store.execute(
            "UPDATE facts SET tax_paid = 0.5, value_added = NULL WHERE year = 2023 AND uscc = ?",
            [b],
        )
        edited = _results(store, evaluate(store, 2023, rules=rules).run_id)
    with open_store(db) as store:
        assert edited != _results(store, first)  # the corrections matter
        facts = store.arrow("SELECT * FROM facts ORDER BY uscc")
        run = evaluate(store, 2023, rules=rules, overrides=overrides).run_id
        assert _results(store, run) == edited
        assert store.arrow("SELECT * FROM facts ORDER BY uscc") == facts  # facts untouched


def test_without_overrides_the_evaluation_is_unchanged(province):
    _, db, first = province
    with open_store(db) as store:
        again = evaluate(store, 2023, rules=load_rules(RULES), overrides={}).run_id
        plain = evaluate(store, 2023, rules=load_rules(RULES)).run_id
        assert _results(store, again) == _results(store, first) == _results(store, plain)


def test_apply_overrides_sets_facts_and_exemptions_and_names_unknown_firms(province):
    _, db, _ = province
    with open_store(db) as store:
        a, b = _two_firms(store)
        firms = load_firms(store, 2023)
    i = int(np.flatnonzero(firms["uscc"] == a)[0])
    absent = apply_overrides(
        firms, {a: {"land_leased_mu": 2.0, "exemption": 1}, "91330000000000000X": {"rd": 1.0}}
    )
    assert absent == ["91330000000000000X"]
    assert firms["land_leased_mu"][i] == 2.0
    assert firms.events[EXEMPTION_EVENT][i] and firms.events[EXEMPTION_EVENT].sum() >= 1
    with pytest.raises(InputError, match="cannot override 'name'"):
        apply_overrides(firms, {b: {"name": 1.0}})

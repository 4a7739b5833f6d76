"""Rule-set loading: bad specs raise ConfigError naming the file and key path; keys are documented."""

from __future__ import annotations

import copy
import typing

import numpy as np
import pytest
import yaml

from mujun.composite import UnitTable, load_spec, run_composite
from mujun.composite import spec as spec_module
from mujun.errors import ConfigError

from .conftest import ROOT

BASE = {
    "version": 2021,
    "name": "test",
    "indicators": [
        {"code": "a", "parent": "T", "weight": 2},
        {"code": "b", "parent": "P"},
    ],
    "aggregates": [{"code": "P", "parent": "T"}, {"code": "T"}],
    "steps": [
        {"op": "screen", "min_availability": 0.5},
        {"op": "normalise", "method": "minmax"},
        {"op": "aggregate"},
    ],
}


def load_modified(tmp_path, change):
    data = copy.deepcopy(BASE)
    change(data)
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path, lambda: load_spec(path)


def error_of(tmp_path, change) -> str:
    path, load = load_modified(tmp_path, change)
    with pytest.raises(ConfigError) as info:
        load()
    assert str(path) in info.value.message
    return info.value.message


def test_a_valid_rule_set_loads_with_its_version_as_text(tmp_path):
    _, load = load_modified(tmp_path, lambda d: None)
    spec = load()
    assert spec.version == "2021"
    assert spec.precision == 6


def test_an_unknown_key_names_its_key_path(tmp_path):
    msg = error_of(tmp_path, lambda d: d["steps"][1].update(hgih=100))
    assert "steps.1.hgih: Extra inputs are not permitted" in msg
    assert "colour: Extra" in error_of(tmp_path, lambda d: d.update(colour="red"))
    assert "indicators.0.wieght" in error_of(
        tmp_path, lambda d: d["indicators"][0].update(wieght=1)
    )


def test_an_unknown_op_or_method_names_the_tag_key(tmp_path):
    msg = error_of(tmp_path, lambda d: d["steps"].insert(0, {"op": "winsorize"}))
    assert "steps.0.op: Input tag 'winsorize'" in msg
    msg = error_of(tmp_path, lambda d: d["steps"][1].update(method="min-max"))
    assert "steps.1.method: Input tag 'min-max'" in msg


def test_a_bad_value_names_its_key_path(tmp_path):
    msg = error_of(tmp_path, lambda d: d["steps"][0].update(min_availability=2))
    assert "steps.0.min_availability" in msg
    msg = error_of(tmp_path, lambda d: d["indicators"][0].update(direction=0))
    assert "indicators.0.direction" in msg


def test_a_benchmark_error_names_its_key_path(tmp_path):
    def bad(d):
        d["steps"][1] = {
            "op": "normalise",
            "method": "ratio-to-benchmark",
            "benchmarks": {"a": {"strategy": "fixed", "value": 1}, "b": {"strategy": "avg"}},
        }

    assert "steps.1.benchmarks.b.strategy: Input tag 'avg'" in error_of(tmp_path, bad)


def test_a_cycle_is_rejected(tmp_path):
    def cycle(d):
        d["aggregates"] += [{"code": "Q", "parent": "R"}, {"code": "R", "parent": "Q"}]
        d["indicators"].append({"code": "c", "parent": "Q"})

    msg = error_of(tmp_path, cycle)
    assert "aggregates.2.parent: cycle Q → R → Q" in msg


def test_a_dangling_parent_is_rejected(tmp_path):
    msg = error_of(tmp_path, lambda d: d["indicators"][1].update(parent="Pillar9"))
    assert "indicators.1.parent: parent 'Pillar9' of 'b' is not an aggregate" in msg
    msg = error_of(tmp_path, lambda d: d["aggregates"][0].update(parent="Nowhere"))
    assert "aggregates.0.parent" in msg


def test_two_roots_or_a_childless_aggregate_are_rejected(tmp_path):
    msg = error_of(tmp_path, lambda d: d["aggregates"].append({"code": "U"}))
    assert "exactly one root" in msg and "aggregates.2: aggregate 'U' has no children" in msg


def test_step_order_rules_are_enforced(tmp_path):
    msg = error_of(tmp_path, lambda d: d["steps"].reverse())
    assert "steps.0: `aggregate` must be the last step" in msg
    msg = error_of(tmp_path, lambda d: d["steps"].insert(2, {"op": "treat-outliers"}))
    assert "steps.2: `treat-outliers` must come before `normalise`" in msg
    msg = error_of(
        tmp_path,
        lambda d: d["steps"].insert(0, {"op": "impute", "method": "cohort-average-item-score"}),
    )
    assert "steps.0.method: cohort-average-item-score needs `normalise` first" in msg


def test_unreadable_yaml_and_inline_plus_meta_indicators_are_config_errors(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("steps: [", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read rule set"):
        load_spec(path)
    msg = error_of(tmp_path, lambda d: d.update(indicators_from="iMeta.csv"))
    assert "not both" in msg


def test_a_missing_meta_file_is_a_config_error(tmp_path):
    path = tmp_path / "r.yaml"
    data = {k: v for k, v in BASE.items() if k not in ("indicators", "aggregates")}
    path.write_text(yaml.safe_dump({**data, "indicators_from": "iMeta.csv"}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"iMeta\.csv"):
        load_spec(path, data_dir=tmp_path)


def test_a_missing_input_column_or_unknown_weight_is_a_config_error(tmp_path):
    _, load = load_modified(tmp_path, lambda d: None)
    spec = load()
    table = UnitTable(units=["x"], columns={"a": np.array([1.0])})
    with pytest.raises(ConfigError, match="input column 'b'"):
        run_composite(spec, table)
    table = UnitTable(units=["x"], columns={"a": np.array([1.0]), "b": np.array([2.0])})
    with pytest.raises(ConfigError, match="unknown code 'zz'"):
        run_composite(spec, table, weights={"zz": 1})


def _model_fields() -> set[str]:
    keys: set[str] = set()
    for obj in vars(spec_module).values():
        if isinstance(obj, type) and issubclass(obj, spec_module._Model):
            keys |= set(obj.model_fields)
    return keys


def test_every_rule_set_key_is_documented():
    doc = (ROOT / "docs" / "composite.md").read_text(encoding="utf-8")
    assert sorted(k for k in _model_fields() if f"`{k}`" not in doc) == []
    tags: set[str] = set()
    for obj in vars(spec_module).values():
        if isinstance(obj, type) and issubclass(obj, spec_module._Model):
            for name in ("op", "method", "strategy"):
                if name in obj.model_fields:
                    tags |= set(typing.get_args(obj.model_fields[name].annotation))
    assert {"denominate", "ratio-to-benchmark", "industry-mean"} <= tags
    assert sorted(t for t in tags if f"`{t}`" not in doc) == []


def test_the_per_mu_example_in_the_docs_loads_and_scores_45_for_tax_per_mu(tmp_path):
    doc = (ROOT / "docs" / "composite.md").read_text(encoding="utf-8")
    block = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "huangyan.yaml"
    path.write_text(block, encoding="utf-8")
    spec = load_spec(path)
    cols = {
        "tax": [39.015, 20.0], "land_mu": [1.0, 1.0], "va": [100.0, 100.0],
        "energy": [50.0, 50.0], "emissions": [0.02, np.nan], "staff": [5.0, 5.0],
        "rd_spend": [3.05, 3.05], "revenue": [100.0, 100.0],
    }  # fmt: skip
    res = run_composite(spec, UnitTable(units=["f1", "f2"], columns=cols))
    assert res.item_scores[0, 0] == 45.0
    # f2 has no emissions data: it takes the cohort's average item score on that item.
    assert res.item_scores[1, 3] == res.item_scores[0, 3]
    assert res.total[0] == round(float(res.item_scores[0].sum()), 2)

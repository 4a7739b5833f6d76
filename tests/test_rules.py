"""Rule-set schema: presets load, bad files are named with their key path, docs stay current."""

from __future__ import annotations

import pytest
import yaml

from mujun.errors import ConfigError
from mujun.rules import load_rules, load_rules_map, rules_hash
from mujun.rules_doc import render_rules_doc

from .conftest import ROOT

PRESETS = ["huangyan-2021", "huangyan-2022", "wenling-2021", "zhejiang-default"]


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_loads_and_cites_its_source(name):
    rules = load_rules(ROOT / "rules" / f"{name}.yaml")
    assert rules.source and rules.version
    assert [c.code for c in rules.classes] == ["A", "B", "C", "D"]
    text = (ROOT / "rules" / f"{name}.yaml").read_text(encoding="utf-8")
    assert text.startswith("#")  # a header comment says where the numbers come from


def test_presets_carry_the_published_numbers():
    h21 = load_rules(ROOT / "rules" / "huangyan-2021.yaml")
    weights = {i.code: i.weight for i in h21.above.composite.indicators}
    assert weights == {
        "tax_mu": 30,
        "va_mu": 20,
        "va_energy": 20,
        "va_emissions": 10,
        "labour": 10,
        "rd_ratio": 10,
    }
    steps = h21.above.composite.steps
    assert steps[1].benchmark.values["tax_mu"] == 26.01
    assert steps[2].benchmark.values["va_emissions"] == 4861.08
    h22 = load_rules(ROOT / "rules" / "huangyan-2022.yaml")
    assert h22.above.composite.steps[1].benchmark.values["va_energy"] == 2.694
    assert h22.below.composite.steps[1].benchmark.values == {
        "tax_mu": 11.5932,
        "tax_electricity": 0.2352,
    }
    wl = load_rules(ROOT / "rules" / "wenling-2021.yaml")
    assert wl.above.bands == [0.20, 0.60, 0.15, 0.05] and wl.below.bands == [0.05, 0.70, 0.20, 0.05]
    assert [g.name for g in wl.cohorts.industry_groups] == [
        "纺织鞋业橡塑",
        "金属及金属制品",
        "泵阀动力机械通用设备",
        "电子电器仪表",
    ]
    assert wl.land.leasing_penalty.above_size_per_extra_tenant == 5
    assert wl.land.leasing_penalty.below_size_first_tenant == 10


def test_an_unknown_key_is_rejected_naming_the_file_and_key_path(tmp_path):
    data = yaml.safe_load((ROOT / "rules" / "zhejiang-default.yaml").read_text(encoding="utf-8"))
    data["land"]["leasing_penalty"] = {"per_tenant": 3}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_rules(path)
    assert "bad.yaml" in exc.value.message
    assert "land.leasing_penalty.per_tenant" in exc.value.message


def test_bands_must_match_the_classes_and_limits_name_known_classes(tmp_path):
    data = yaml.safe_load((ROOT / "rules" / "zhejiang-default.yaml").read_text(encoding="utf-8"))
    data["above"]["bands"] = [0.5, 0.5]
    data["limits"][0]["cap"] = "E"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_rules(path)
    assert "above.bands" in exc.value.message and "limits.0.cap" in exc.value.message


def test_a_rules_map_assigns_rule_sets_by_county(tmp_path):
    (tmp_path / "map.yaml").write_text(
        f"'331003': {ROOT}/rules/huangyan-2021.yaml\ndefault: {ROOT}/rules/zhejiang-default.yaml\n",
        encoding="utf-8",
    )
    m = load_rules_map(tmp_path / "map.yaml")
    assert m["331003"].region == "331003" and m["default"].region == "330000"
    assert rules_hash(m["331003"]) != rules_hash(m["default"])
    (tmp_path / "bad.yaml").write_text("温岭: x.yaml\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_rules_map(tmp_path / "bad.yaml")


def test_docs_rules_md_is_generated_from_the_models():
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == render_rules_doc(), (
        "regenerate with: python -m mujun.rules_doc > docs/rules.md"
    )

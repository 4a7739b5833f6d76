"""The policy engine on firms worked by hand: literal amounts, escalation, land-right holder."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from mujun.errors import ConfigError
from mujun.policy import (
    compute_amounts,
    compute_ledger,
    consecutive_years,
    fiscal_totals,
    load_policy,
    parse_policy,
)

from .conftest import ROOT

POLICY = {
    "version": "t1",
    "name": "测试政策",
    "region": "331081",
    "source": "tests",
    "levers": [
        {
            "code": "land_tax_relief",
            "kind": "land-use-tax-relief",
            "name": "城镇土地使用税减免",
            "relief": {"A": 1.0, "B": 0.8},
            "rates": {
                "331081": {"rate": 6, "tier": "small-city"},
                "330100": {"rate": 20, "tier": "large-city"},
                "default": {"rate": 4, "tier": "county-town"},
            },
        },
        {
            "code": "power",
            "kind": "electricity-surcharge",
            "name": "差别电价",
            "rates": {"D": [0.1, 0.3, 0.5], "C": 0.05},
        },
        {
            "code": "water",
            "kind": "water-surcharge",
            "name": "差别水价",
            "markup": {"C": 0.15},
            "prices": {"331081": 5.0},
        },
        {"code": "energy", "kind": "energy-quota-cut", "name": "用能", "cuts": {"D": 0.1}},
        {"code": "emission", "kind": "emission-quota-cut", "name": "排放", "cuts": {"C": 0.05}},
        {"code": "priority", "kind": "measure", "name": "要素", "texts": {"A": "优先供地"}},
    ],
}
M2 = 10000 / 15


def _firms():
    # owner: class A, 30 mu own; tenant: class B on the owner's parcel (leases 4 mu, owns none);
    # b_own: class B, 20 mu own; c: class C; d: class D in its 3rd consecutive D year;
    # hz: class A in Hangzhou (city rate 20); none: unclassed.
    return {
        "uscc": np.array(["owner", "tenant", "b_own", "c", "d", "hz", "none"], dtype=object),
        "class": np.array(["A", "B", "B", "C", "D", "A", ""], dtype=object),
        "county_code": np.array(
            ["331081", "331081", "331081", "331081", "331081", "330106", "331081"], dtype=object
        ),
        "own_land_m2": np.array([30 * M2, 0, 20 * M2, 10 * M2, 5 * M2, 1000, 9 * M2]),
        "leased_land_m2": np.array([0, 4 * M2, 0, 0, 0, 0, 0]),
        "electricity_kwh": np.array([1e6, 1e5, 1e5, 400_000, 500_000, 1e5, 1e6]),
        "water_m3": np.array([1.0, 1, 1, 10_000, 1, 1, 1]),
        "energy_tce": np.array([1.0, 1, 1, 1, 200, 1, 1]),
        "emissions_t": np.array([1.0, 1, 1, 5, np.nan, 1, 1]),
        "consecutive_years": np.array([1, 1, 1, 2, 3, 1, 0]),
    }


def _ledger():
    rows = compute_ledger(parse_policy(POLICY), _firms()).to_pylist()
    return {(r["uscc"], r["lever"]): r for r in rows}


def test_land_use_tax_relief_by_hand_goes_to_the_land_right_holder():
    led = _ledger()
    owner = led[("owner", "land_tax_relief")]
    # 30 亩 = 20,000 m² × 6 元/m² × 100 % = 120,000 元 = 12 万元 saved.
    assert owner["base_quantity"] == pytest.approx(20_000)
    assert owner["rate"] == 6 and owner["amount_wan"] == pytest.approx(-12.0)
    # 20 亩 = 13,333.33 m² × 6 × 80 % = 64,000 元.
    assert led[("b_own", "land_tax_relief")]["amount_wan"] == pytest.approx(-6.4)
    # A class-B tenant with no land of its own pays no land-use tax and gets no relief.
    tenant = led[("tenant", "land_tax_relief")]
    assert tenant["amount_wan"] == 0 and tenant["base_quantity"] == 0
    assert "承租" in tenant["rule"] and "土地使用权人" in tenant["rule"]
    # A county without its own rate takes its city's (Hangzhou 20 元/m²): 1,000 m² → 2 万元.
    assert led[("hz", "land_tax_relief")]["rate"] == 20
    assert led[("hz", "land_tax_relief")]["amount_wan"] == pytest.approx(-2.0)
    # C, D and unclassed firms get no relief row.
    assert not {k for k in led if k[1] == "land_tax_relief"} & {
        ("c", "land_tax_relief"),
        ("d", "land_tax_relief"),
        ("none", "land_tax_relief"),
    }


def test_surcharges_and_quota_cuts_by_hand():
    led = _ledger()
    # D in its 3rd consecutive year: 0.5 元/kWh × 500,000 kWh = 250,000 元.
    d = led[("d", "power")]
    assert d["rate"] == 0.5 and d["amount_wan"] == pytest.approx(25.0)
    assert d["consecutive_years"] == 3 and "连续第3年D类" in d["rule"]
    # C at a flat 0.05 元/kWh × 400,000 = 20,000 元.
    assert led[("c", "power")]["amount_wan"] == pytest.approx(2.0)
    # Water: 10,000 m³ × 5 元/m³ × 15 % = 7,500 元.
    w = led[("c", "water")]
    assert w["rate"] == pytest.approx(0.75) and w["amount_wan"] == pytest.approx(0.75)
    # Energy quota: 200 吨标煤 × 10 % = 20 吨标煤, not money.
    e = led[("d", "energy")]
    assert e["amount"] == pytest.approx(20.0) and e["amount_unit"] == "吨标煤"
    assert e["amount_wan"] is None
    assert led[("c", "emission")]["amount"] == pytest.approx(0.25)
    assert led[("owner", "priority")]["rule"] == "A类：优先供地"
    assert ("none", "power") not in led and ("none", "priority") not in led


def test_escalation_follows_consecutive_years_in_the_class():
    policy = parse_policy(POLICY)
    classes = np.array(["D", "D", "D", "D", "C"], dtype=object)
    last_year = np.array(["D", "D", "D", "C", "C"], dtype=object)
    year_before = np.array(["D", "D", "", "D", "D"], dtype=object)
    three_back = np.array(["D", "", "", "D", ""], dtype=object)
    streak = consecutive_years(classes, [last_year, year_before, three_back])
    assert streak.tolist() == [4, 3, 2, 1, 2]
    kwh = np.full(5, 1_000_000.0)
    power = compute_amounts(policy, classes, {"electricity_kwh": kwh}, consecutive=streak)[1]
    # 0.1, 0.3, then 0.5 from the 3rd year on (the last rate repeats).
    assert power.rate.tolist()[:4] == [0.5, 0.5, 0.3, 0.1]
    assert power.amount_wan.tolist()[:4] == pytest.approx([50.0, 50.0, 30.0, 10.0])


def test_missing_quantities_are_kept_as_rows_not_dropped():
    led = _ledger()
    # Emissions unknown for d: the energy lever still computes, no emission row (C only),
    # but a D firm without power data keeps its row, with the reason.
    firms = _firms()
    firms["electricity_kwh"][4] = np.nan
    rows = {
        (r["uscc"], r["lever"]): r for r in compute_ledger(parse_policy(POLICY), firms).to_pylist()
    }
    assert rows[("d", "power")]["amount_wan"] is None
    assert "缺少用电量" in rows[("d", "power")]["rule"]
    assert led[("d", "energy")]["amount"] == pytest.approx(20.0)


def test_fiscal_totals_add_up_the_levers():
    policy = parse_policy(POLICY)
    f = _firms()
    totals = {
        t["lever"]: t
        for t in fiscal_totals(
            compute_amounts(
                policy, f["class"], f, counties=f["county_code"], consecutive=f["consecutive_years"]
            )
        )
    }
    assert totals["land_tax_relief"]["firms"] == 4
    assert totals["land_tax_relief"]["amount"] == pytest.approx(-12 - 6.4 - 2.0)
    assert totals["power"]["amount"] == pytest.approx(25.0 + 2.0)
    assert totals["priority"]["amount"] is None


def test_presets_load_and_cite_their_sources():
    for path in sorted((ROOT / "rules" / "policies").glob("*.yaml")):
        p = load_policy(path)
        assert p.source and p.levers
    default = load_policy(ROOT / "rules" / "policies" / "zhejiang-default.yaml")
    assert default.lever("land_tax_relief").relief == {"A": 1.0, "B": 0.8}
    assert default.lever("electricity_surcharge").rates == {"D": [0.1, 0.3, 0.5]}
    ruian = load_policy(ROOT / "rules" / "policies" / "ruian-2018.yaml")
    assert ruian.lever("electricity_surcharge").rates == {"C": [0.1], "C-": [0.15]}


def test_bad_policy_files_name_the_file_and_the_key(tmp_path):
    bad = dict(POLICY, levers=[dict(POLICY["levers"][1], rate={"D": 1})])
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_policy(path)
    assert "bad.yaml" in e.value.message
    assert "levers.0.electricity-surcharge.rate" in e.value.message
    # A land-use tax rate outside the national range of its tier is refused.
    lever = dict(POLICY["levers"][0], rates={"default": {"rate": 14, "tier": "county-town"}})
    with pytest.raises(ConfigError, match=r"outside the national range 0.6–12"):
        parse_policy(dict(POLICY, levers=[lever]))
    with pytest.raises(ConfigError, match="codes must be unique"):
        parse_policy(dict(POLICY, levers=[POLICY["levers"][1], POLICY["levers"][1]]))

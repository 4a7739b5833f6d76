"""The policy ledger of runs on hand-made firms over three years: literal amounts, escalation
from published runs only, relief to the land-right holder, Excel export and the CLI."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml
from python_calamine import CalamineWorkbook

from mujun.auth.audit import Actor
from mujun.errors import InputError
from mujun.evaluation import evaluate
from mujun.ingest import ingest_directory
from mujun.policy import load_policy, parse_policy
from mujun.policy.ledger import apply_policy, latest_application, ledger_rows, ledger_totals
from mujun.reference.uscc import make_uscc
from mujun.rules import RuleSet, load_rules
from mujun.store import open_store
from mujun.validate import validate_year
from mujun.workflow.runs import get_run, move_status

from .conftest import ROOT, run_mujun

C = [make_uscc("91", "331081", f"MA2PL{i:03d}") for i in range(1, 6)]
A1, B1, C1, D1, TENANT = C
M2 = 10000 / 15
YEARS = (2021, 2022, 2023)
POLICY = {
    "version": "t1",
    "name": "测试政策（温岭）",
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
                "default": {"rate": 4, "tier": "county-town"},
            },
        },
        {
            "code": "electricity_surcharge",
            "kind": "electricity-surcharge",
            "name": "差别电价",
            "rates": {"D": [0.1, 0.3, 0.5]},
        },
        {
            "code": "water_surcharge",
            "kind": "water-surcharge",
            "name": "差别水价",
            "markup": {"C": 0.15},
            "prices": {"331081": 5.0},
        },
        {"code": "energy", "kind": "energy-quota-cut", "name": "用能指标核减", "cuts": {"D": 0.1}},
        {
            "code": "emission",
            "kind": "emission-quota-cut",
            "name": "排污指标核减",
            "cuts": {"C": 0.05},
        },
    ],
}


def _write_year(d: Path, year: int) -> None:
    """Four above-size firms ordered by tax (A1 > B1 > C1 > D1) and a below-size tenant on A1's
    parcel; the same facts every year."""
    d.mkdir(parents=True)
    reg = [(A1, "是"), (B1, "是"), (C1, "是"), (D1, "是"), (TENANT, "否")]
    (d / f"企业名录{year}.csv").write_text(
        "统一社会信用代码,企业名称,区县代码,行业代码,是否规上,成立日期\n"
        + "".join(f"{c},企业{i},331081,C3441,{a},2005-01-01\n" for i, (c, a) in enumerate(reg)),
        encoding="utf-8",
    )
    tax = {A1: 450, B1: 200, C1: 100, D1: 50, TENANT: 20}
    (d / f"税务{year}.csv").write_text(
        "统一社会信用代码,实缴税金（万元）\n" + "".join(f"{c},{t}\n" for c, t in tax.items()),
        encoding="utf-8",
    )
    (d / f"统计{year}.csv").write_text(
        "统一社会信用代码,工业增加值,主营业务收入,年平均从业人员,综合能耗,R&D经费支出\n"
        + "".join(f"{c},500,2000,50,200,60\n" for c in (A1, B1, C1, D1)),
        encoding="utf-8",
    )
    (d / f"用电{year}.csv").write_text(
        "户号,统一社会信用代码,用电量\n"
        + "".join(f"{i:03d},{c},500000\n" for i, c in enumerate(C)),
        encoding="utf-8",
    )
    (d / f"用水{year}.csv").write_text(
        "统一社会信用代码,年用水量\n" + "".join(f"{c},10000\n" for c in C), encoding="utf-8"
    )
    (d / f"排污{year}.csv").write_text(
        "统一社会信用代码,化学需氧量,氨氮,二氧化硫,氮氧化物\n"
        + "".join(f"{c},2,0.5,1,1.5\n" for c in (A1, B1, C1, D1)),
        encoding="utf-8",
    )
    parcel = "浙(2005)温岭市不动产权第000{}号"
    land = [
        (A1, parcel.format(1), 30 * M2, "自有", ""),
        (TENANT, parcel.format(1), 4 * M2, "租赁", A1),
        (B1, parcel.format(2), 20 * M2, "自有", ""),
        (C1, parcel.format(3), 20 * M2, "自有", ""),
        (D1, parcel.format(4), 20 * M2, "自有", ""),
    ]
    (d / f"用地{year}.csv").write_text(
        "统一社会信用代码,不动产权证号,土地使用权面积（平方米）,使用方式,出租方信用代码,供地日期\n"
        + "".join(f"{c},{p},{a:.4f},{t},{lc},2005-01-01\n" for c, p, a, t, lc in land),
        encoding="utf-8",
    )


def _rules() -> RuleSet:
    body = load_rules(ROOT / "rules" / "zhejiang-default.yaml").model_dump(mode="json")
    body["above"]["bands"] = [0.25, 0.25, 0.25, 0.25]
    return RuleSet.model_validate(body)


@pytest.fixture(scope="module")
def world(tmp_path_factory, profiles):
    """The three years ingested and evaluated; the policy applied to the 2023 run while 2022 is
    still a draft (kept as ``draft_2023``), then 2021 and 2022 published and every year applied."""
    base = tmp_path_factory.mktemp("policy")
    path = base / "p.duckdb"
    policy = parse_policy(POLICY)
    out: dict = {"path": path}
    with open_store(path) as store:
        for y in YEARS:
            _write_year(base / str(y), y)
            ingest_directory(store, base / str(y), y, profiles)
            validate_year(store, y, profiles)
        runs = {y: evaluate(store, y, rules=_rules()).run_id for y in YEARS}
        _publish(store, runs[2021])
        apply_policy(store, runs[2023], policy, applied_by="test")
        out["draft_2023"] = _ledger(store, runs[2023])
        _publish(store, runs[2022])
        for y in YEARS:
            apply_policy(store, runs[y], policy, applied_by="test")
        apply_policy(store, runs[2023], policy, applied_by="test")  # again: replaces its rows
        out["runs"] = runs
        out["by_year"] = {y: _ledger(store, runs[y]) for y in YEARS}
        out["totals"] = ledger_totals(store, [runs[2023]], by="")
        out["app"] = latest_application(store, runs[2023])
        out["counts"] = store.rows(
            "SELECT (SELECT count(*) FROM policy_ledger WHERE run_id = ?), "
            "(SELECT count(*) FROM policy_applications WHERE run_id = ?)",
            [runs[2023], runs[2023]],
        )[0]
        out["classes"] = dict(
            store.rows('SELECT uscc, "class" FROM results WHERE run_id = ?', [runs[2023]])
        )
    return out


def _publish(store, run_id: str) -> None:
    move_status(store, get_run(store, run_id), "published", Actor("test", "cli"), datetime.now())


def _ledger(store, run_id: str) -> dict[tuple[str, str], dict]:
    _, rows = ledger_rows(store, run_id)
    return {(r["uscc"], r["lever"]): r for r in rows}


def test_classes_of_the_hand_made_firms(world):
    got = world["classes"]
    assert [got[c] for c in (A1, B1, C1, D1)] == ["A", "B", "C", "D"]
    assert got[TENANT] == "B"  # the only below-size firm of its cohort takes the widest band


def test_ledger_amounts_by_hand_and_surcharge_escalation(world):
    by_year = world["by_year"]
    # D1 is D every year: 0.1, 0.3, 0.5 元/kWh × 500,000 kWh = 5, 15, 25 万元.
    assert [by_year[y][(D1, "electricity_surcharge")]["amount_wan"] for y in YEARS] == (
        pytest.approx([5.0, 15.0, 25.0])
    )
    assert [by_year[y][(D1, "electricity_surcharge")]["consecutive_years"] for y in YEARS] == [
        1,
        2,
        3,
    ]
    led = by_year[2023]
    # A1 holds the land-use right on 30 亩 = 20,000 m² × 6 元 × 100 % = 12 万元 relieved.
    assert led[(A1, "land_tax_relief")]["base_quantity"] == pytest.approx(20_000)
    assert led[(A1, "land_tax_relief")]["amount_wan"] == pytest.approx(-12.0)
    # B1: 20 亩 = 13,333.33 m² × 6 × 80 % = 6.4 万元.
    assert led[(B1, "land_tax_relief")]["amount_wan"] == pytest.approx(-6.4)
    # The class-B tenant on A1's parcel owns no land: no relief, and the rule says why.
    t = led[(TENANT, "land_tax_relief")]
    assert t["amount_wan"] == 0 and "承租" in t["rule"]
    # C1: water 10,000 m³ × 5 元 × 15 % = 0.75 万元; emissions (2+0.5+1+1.5) × 5 % = 0.25 吨.
    assert led[(C1, "water_surcharge")]["amount_wan"] == pytest.approx(0.75)
    assert led[(C1, "emission")]["amount"] == pytest.approx(0.25)
    # D1: energy 200 吨标煤 × 10 % = 20 吨标煤.
    assert led[(D1, "energy")]["amount"] == pytest.approx(20.0)
    totals = {(r["class"], r["lever"]): r["amount_wan"] for r in world["totals"]}
    assert totals[("A", "land_tax_relief")] == pytest.approx(-12.0)
    assert totals[("B", "land_tax_relief")] == pytest.approx(-6.4)
    assert world["app"]["rows"] == len(led) == 7


def test_draft_runs_do_not_count_as_consecutive_years(world):
    row = world["draft_2023"][(D1, "electricity_surcharge")]
    assert row["consecutive_years"] == 1 and row["rate"] == 0.1


def test_reapplying_a_policy_replaces_its_rows(world):
    assert world["counts"] == (7, 1)


def test_cli_applies_and_exports_with_credit_codes_as_text(world, tmp_path):
    db = _copy(world["path"], tmp_path)
    run = world["runs"][2023]
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(POLICY, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "ledger.xlsx"
    res = run_mujun(
        "policy", "apply", run, "--policy", str(policy), "--db", str(db), "--out", str(out)
    )
    assert res.returncode == 0, res.stderr
    assert "7 ledger rows for 5 classed firms" in res.stdout
    assert "-12.00" in res.stdout  # class A land-use tax relief
    sheet = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("台账").to_python()
    header = sheet[1]
    codes = [row[header.index("统一社会信用代码")] for row in sheet[2:]]
    counties = {row[header.index("区县代码")] for row in sheet[2:]}
    assert set(codes) == set(C)
    # Digit-only codes stay text too (never 331081.0 or 9.13301E+17).
    assert counties == {"331081"}
    with open_store(db) as store, pytest.raises(InputError, match="run E2023-9999 not found"):
        apply_policy(store, "E2023-9999", parse_policy(POLICY))


def test_shipped_default_policy_applies_to_a_run(world, tmp_path):
    with open_store(_copy(world["path"], tmp_path)) as store:
        run = world["runs"][2023]
        summary = apply_policy(
            store, run, load_policy(ROOT / "rules" / "policies" / "zhejiang-default.yaml")
        )
        led = _ledger(store, run)
    assert summary["unknown_classes"] == []
    # The default's placeholder county-town rate of 4 元/m²: 20,000 m² × 4 = 8 万元.
    assert led[(A1, "land_tax_relief")]["amount_wan"] == pytest.approx(-8.0)
    # Fenghua's 3rd consecutive D year: 0.5 元/kWh × 500,000 kWh.
    assert led[(D1, "electricity_surcharge")]["amount_wan"] == pytest.approx(25.0)


def _copy(src: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "p.duckdb"
    dest.write_bytes(src.read_bytes())
    return dest

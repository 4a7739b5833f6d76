"""Firms worked by hand under the Huangyan 2021 preset: literal expected item scores and totals.

Benchmarks (published): 亩均税收 26.01, 亩均增加值 132.27, 单位能耗增加值 2.54, 单位排放增加值
4861.08, 全员劳动生产率 17.45, R&D占比 0.0305; below-size 16.601058 and 0.236565. Weights
30/20/20/10/10/10 and 50/50; items clamp(x/b, 0, 1.5) × weight; negative or missing → 0, except
emissions, which take the cohort-average item score.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mujun.evaluation import evaluate
from mujun.ingest import ingest_directory
from mujun.reference.uscc import make_uscc
from mujun.rules import load_rules
from mujun.store import open_store
from mujun.validate import validate_year

from .conftest import ROOT

C = [make_uscc("91", "331003", f"MA2HY{i:03d}") for i in range(1, 7)]
M2 = 10000 / 15  # one mu in m²


def _write(d: Path) -> None:
    d.mkdir()
    (d / "企业名录2021.csv").write_text(
        "统一社会信用代码,企业名称,区县代码,行业代码,是否规上,成立日期\n"
        + "".join(
            f"{c},黄岩{i}号企业有限公司,331003,C2927,{'否' if i == 6 else '是'},2010-01-01\n"
            for i, c in enumerate(C, start=1)
        ),
        encoding="utf-8",
    )
    # tax in 万元
    (d / "税务2021.csv").write_text(
        "统一社会信用代码,实缴税金（万元）\n"
        f"{C[0]},1170.45\n{C[1]},-10\n{C[2]},520.2\n{C[3]},260.1\n{C[4]},780.3\n{C[5]},83.005\n",
        encoding="utf-8",
    )
    # firm 4 is above-size but absent from statistics (value added, energy … missing)
    (d / "统计2021.csv").write_text(
        "统一社会信用代码,工业增加值,主营业务收入,年平均从业人员,综合能耗,R&D经费支出\n"
        f"{C[0]},3968.1,10000,100,500,305\n"
        f"{C[1]},1322.7,8000,200,1000,0\n"
        f"{C[2]},2645.4,20000,300,1041.5,305\n"
        f"{C[4]},1983.6,5000,80,400,100\n",
        encoding="utf-8",
    )
    # firm 3 is absent from the environment file: emissions missing
    (d / "排污2021.csv").write_text(
        "统一社会信用代码,COD,氨氮,二氧化硫,氮氧化物\n"
        f"{C[0]},0.5,0.05,0.2,0.25\n{C[1]},0.1,0,0,0\n{C[4]},1,0,0,0\n",
        encoding="utf-8",
    )
    (d / "用电2021.csv").write_text(
        "户号,统一社会信用代码,用电量\n"
        + "".join(f"00{i},{c},1000000\n" for i, c in enumerate(C[:5]))
        + f"009,{C[5]},3508770.5\n",
        encoding="utf-8",
    )
    areas = [30, 10, 20, 10, 30, 5]  # mu
    (d / "用地2021.csv").write_text(
        "统一社会信用代码,不动产权证号,土地使用权面积（平方米）\n"
        + "".join(
            f"{c},浙(2010)黄岩区第{i:04d}号,{a * M2:.4f}\n"
            for i, (c, a) in enumerate(zip(C, areas, strict=True))
        ),
        encoding="utf-8",
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory, profiles):
    base = tmp_path_factory.mktemp("huangyan")
    _write(base / "2021")
    with open_store(base / "h.duckdb") as store:
        ingest_directory(store, base / "2021", 2021, profiles)
        validate_year(store, 2021, profiles)
        summary = evaluate(store, 2021, rules=load_rules(ROOT / "rules" / "huangyan-2021.yaml"))
        items = {
            (u, k): (v, s)
            for u, k, v, s in store.rows(
                "SELECT uscc, indicator, value, score FROM result_items WHERE run_id = ?",
                [summary.run_id],
            )
        }
        results = {
            r[0]: r[1:]
            for r in store.rows(
                "SELECT uscc, total, status, size, reasons FROM results WHERE run_id = ?",
                [summary.run_id],
            )
        }
    return items, results


def test_a_firm_above_every_benchmark_is_capped_at_one_and_a_half_times_the_weight(run):
    items, results = run
    f = C[0]
    assert items[(f, "tax_mu")][1] == 45.00  # 39.015 / 26.01 = 1.5 → 1.5 × 30
    assert items[(f, "va_mu")][1] == 20.00  # 132.27 / 132.27 = 1
    assert items[(f, "va_energy")][1] == 30.00  # 7.9362 / 2.54 > 1.5 → capped
    assert items[(f, "va_emissions")][1] == 8.16  # 3968.1 / 4861.08 × 10 = 8.163
    assert items[(f, "labour")][1] == 15.00  # 39.681 / 17.45 > 1.5 → capped
    assert items[(f, "rd_ratio")][1] == 10.00  # 0.0305 / 0.0305
    assert results[f][0] == 128.16


def test_a_negative_net_tax_scores_zero_on_that_item(run):
    items, results = run
    f = C[1]
    value, score = items[(f, "tax_mu")]
    assert value == pytest.approx(-1.0) and score == 0.0
    assert items[(f, "va_mu")][1] == 20.00  # 132.27
    assert items[(f, "va_energy")][1] == 10.41  # 1.3227 / 2.54 × 20 = 10.4150
    assert items[(f, "va_emissions")][1] == 15.00  # 13227 / 4861.08 > 1.5
    assert items[(f, "labour")][1] == 3.79  # 6.6135 / 17.45 × 10
    assert items[(f, "rd_ratio")][1] == 0.00
    assert results[f][0] == 49.20


def test_missing_emissions_take_the_cohort_average_item_score(run):
    items, results = run
    f = C[2]
    # Above-size firms with emissions data: 8.16, 15.00 and firm 5's 3.0 (1983.6/1 ÷ 4861.08 … capped)
    scored = [items[(c, "va_emissions")][1] for c in (C[0], C[1], C[4])]
    assert items[(f, "va_emissions")][1] == pytest.approx(sum(scored) / 3, abs=0.006)
    assert "单位排放增加值" in results[f][3]


def test_missing_statistics_score_zero_except_emissions(run):
    items, _results = run
    f = C[3]
    assert items[(f, "tax_mu")][1] == 30.00  # 26.01
    for code in ("va_mu", "va_energy", "labour", "rd_ratio"):
        assert items[(f, code)][1] == 0.0
    # va missing makes 单位排放增加值 missing too: it takes the cohort average like firm 3.
    assert items[(f, "va_emissions")][1] == items[(C[2], "va_emissions")][1]


def test_a_below_size_firm_at_both_benchmarks_scores_one_hundred(run):
    items, results = run
    f = C[5]
    assert items[(f, "tax_mu")][1] == 50.00  # 83.005 / 5 = 16.601 ≈ 16.601058
    assert items[(f, "tax_electricity")][1] == 50.00
    assert results[f][0] == 100.00
    assert results[f][2] == "below"


def test_an_indicator_bonus_is_added_to_the_total(tmp_path, profiles):
    rules = load_rules(ROOT / "rules" / "huangyan-2021.yaml")
    bonus = {"name": "研发投入强度加分", "indicator": "rd_ratio", "at_least": 0.03, "points": 2}
    rules = type(rules).model_validate(
        rules.model_dump(mode="json", exclude_none=True) | {"adjustments": [bonus]}
    )
    _write(tmp_path / "2021")
    with open_store(tmp_path / "b.duckdb") as store:
        ingest_directory(store, tmp_path / "2021", 2021, profiles)
        validate_year(store, 2021, profiles)
        run = evaluate(store, 2021, rules=rules).run_id
        got = dict(store.rows("SELECT uscc, bonus FROM results WHERE run_id = ?", [run]))
        total = store.scalar("SELECT total FROM results WHERE run_id = ? AND uscc = ?", [run, C[0]])
    # R&D / revenue: firm 1 0.0305 (bonus), firm 2 0, firm 3 0.01525, firm 5 0.02.
    assert got[C[0]] == 2.0 and got[C[1]] == 0.0 and got[C[2]] == 0.0 and got[C[4]] == 0.0
    assert total == 130.16  # 128.16 + 2

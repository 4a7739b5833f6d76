"""Land rules, exemptions and limits on hand-made firms: literal expected numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mujun.evaluation import evaluate
from mujun.evaluation.inputs import load_firms
from mujun.evaluation.scoring import score_rules
from mujun.ingest import ingest_directory
from mujun.reference.uscc import make_uscc
from mujun.rules import load_rules
from mujun.store import open_store
from mujun.validate import validate_year

from .conftest import ROOT

C = [make_uscc("91", "331081", f"MA2WL{i:03d}") for i in range(1, 9)]
OWNER, T1, T2, SMALL, UTIL, YOUNG, ACCIDENT, FLOOR = C
M2 = 10000 / 15
PARCEL = "浙(2015)温岭市不动产权第0000001号"


def _write(d: Path) -> None:
    d.mkdir()
    reg = [
        (OWNER, "是", "C3441", "2005-01-01"),
        (T1, "否", "C3443", "2010-01-01"),
        (T2, "否", "C3443", "2010-01-01"),
        (SMALL, "否", "C3443", "2010-01-01"),
        (UTIL, "是", "D4411", "2000-01-01"),
        (YOUNG, "是", "C3441", "2022-06-01"),
        (ACCIDENT, "是", "C3441", "2000-01-01"),
        (FLOOR, "否", "C3443", "2012-01-01"),
    ]
    (d / "企业名录2023.csv").write_text(
        "统一社会信用代码,企业名称,区县代码,行业代码,是否规上,成立日期\n"
        + "".join(
            f"{c},企业{i},331081,{ind},{a},{est}\n" for i, (c, a, ind, est) in enumerate(reg)
        ),
        encoding="utf-8",
    )
    (d / "税务2023.csv").write_text(
        "统一社会信用代码,实缴税金（万元）\n"
        + "".join(f"{c},{100 + 10 * i}\n" for i, c in enumerate(C)),
        encoding="utf-8",
    )
    (d / "统计2023.csv").write_text(
        "统一社会信用代码,工业增加值,主营业务收入,年平均从业人员,综合能耗,R&D经费支出\n"
        + "".join(f"{c},500,2000,50,200,60\n" for c in (OWNER, UTIL, YOUNG, ACCIDENT)),
        encoding="utf-8",
    )
    (d / "用电2023.csv").write_text(
        "户号,统一社会信用代码,用电量\n"
        + "".join(f"{i:03d},{c},500000\n" for i, c in enumerate(C)),
        encoding="utf-8",
    )
    (d / "名单2023.csv").write_text(
        f"统一社会信用代码,事项,年度,文号\n{ACCIDENT},安全生产事故,2023,温应急〔2023〕1号\n",
        encoding="utf-8",
    )
    land = [
        (OWNER, PARCEL, 30 * M2, "自有", "", "", "2015-01-01"),
        (T1, PARCEL, 4 * M2, "租赁", OWNER, 1200, "2015-01-01"),
        (T2, PARCEL, 5 * M2, "租赁", OWNER, 1800, "2015-01-01"),
        (SMALL, "浙(2001)温岭市不动产权第0000009号", 2 * M2, "自有", "", "", "2001-01-01"),
        (UTIL, "浙(2000)温岭市不动产权第0000010号", 50 * M2, "自有", "", "", "2000-01-01"),
        (YOUNG, "浙(2022)温岭市不动产权第0000011号", 20 * M2, "自有", "", "", "2022-06-01"),
        (ACCIDENT, "浙(2000)温岭市不动产权第0000012号", 20 * M2, "自有", "", "", "2000-01-01"),
        (FLOOR, "浙(2012)温岭市不动产权第0000013号", 6 * M2, "自有", "", "", "2012-01-01"),
    ]
    (d / "用地2023.csv").write_text(
        "统一社会信用代码,不动产权证号,土地使用权面积（平方米）,使用方式,出租方信用代码,租赁建筑面积,供地日期\n"
        + "".join(f"{c},{p},{a:.4f},{t},{lc},{fa},{sd}\n" for c, p, a, t, lc, fa, sd in land),
        encoding="utf-8",
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory, profiles):
    base = tmp_path_factory.mktemp("land")
    _write(base / "2023")
    path = base / "l.duckdb"
    with open_store(path) as store:
        ingest_directory(store, base / "2023", 2023, profiles)
        validate_year(store, 2023, profiles)
    return path


def _results(db, rules):
    with open_store(db) as store:
        run = evaluate(store, 2023, rules=rules).run_id
        return {
            r[0]: r[1:]
            for r in store.rows(
                "SELECT uscc, status, status_reason, land_mu, penalty, class, tenant_of, reasons, category "
                "FROM results WHERE run_id = ?",
                [run],
            )
        }


WENLING = load_rules(ROOT / "rules" / "wenling-2021.yaml")


def test_leased_land_counts_the_tenants_share_and_the_lessor_loses_points(db):
    r = _results(db, WENLING)
    assert r[T1][2] == pytest.approx(4.0) and r[T2][2] == pytest.approx(5.0)
    assert r[OWNER][2] == pytest.approx(30.0)
    # Above-size lessor with two tenants: −5 per tenant beyond the first.
    assert r[OWNER][3] == 5.0
    assert "出租厂房扣分（承租企业2家）" in r[OWNER][6]
    assert r[T1][7] == "tenant"


def test_floor_space_converts_leased_floor_area_by_the_plot_ratio(db):
    rules = WENLING.model_copy(
        update={
            "land": WENLING.land.model_copy(update={"leased": "floor-space", "plot_ratio": 1.5})
        }
    )
    r = _results(db, rules)
    # 1,200 m² of floor space ÷ 1.5 = 800 m² of land = 1.2 亩
    assert r[T1][2] == pytest.approx(1.2)
    assert r[T2][2] == pytest.approx(1.8)


def test_tenants_merged_into_the_owner_take_the_owners_class(db):
    rules = WENLING.model_copy(
        update={
            "land": WENLING.land.model_copy(update={"shared_parcel_tenants": "merge-into-owner"})
        }
    )
    r = _results(db, rules)
    for t in (T1, T2):
        assert r[t][0] == "provisional"
        assert r[t][5] == OWNER
        assert r[t][4] == r[OWNER][4] != ""
        assert "采用出租方" in r[t][6]
    with open_store(db, read_only=True) as store:
        firms = load_firms(store, 2023)
    scored = score_rules(firms, rules, np.arange(firms.n), 2023)
    i_owner = list(firms["uscc"]).index(OWNER)
    # The owner's tax/mu includes its tenants' tax: (100 + 110 + 120) / 30.
    it = scored.items["above"]
    row = list(it["rows"]).index(i_owner)
    assert it["value"][row, list(it["codes"]).index("tax_mu")] == pytest.approx(330 / 30)


def test_a_below_size_tenant_can_take_its_landlords_class(db):
    rules = WENLING.model_copy(
        update={
            "land": WENLING.land.model_copy(update={"below_size_tenant_takes_landlord_class": True})
        }
    )
    r = _results(db, rules)
    assert r[T1][4] == r[OWNER][4]
    assert "采用出租方" in r[T1][6]


def test_scope_and_exemptions_give_reasons_and_no_class(db):
    r = _results(db, load_rules(ROOT / "rules" / "zhejiang-default.yaml"))
    assert (
        r[SMALL][0] == "not-evaluated"
        and r[SMALL][1] == "规下企业用地不足3亩"
        and r[SMALL][4] == ""
    )
    assert r[SMALL][7] == "below-small"
    assert r[UTIL][0] == "not-evaluated" and "公用事业" in r[UTIL][1]
    assert r[YOUNG][0] == "provisional" and "成立不足2年" in r[YOUNG][1]
    assert r[YOUNG][6].startswith("暂评：")


def test_an_accident_caps_the_class_at_c_whatever_the_score(db):
    r = _results(db, load_rules(ROOT / "rules" / "zhejiang-default.yaml"))
    assert r[ACCIDENT][4] in ("C", "D")
    assert "发生安全生产事故：最高为C类" in r[ACCIDENT][6]

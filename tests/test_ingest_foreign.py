"""Department files written by someone else: layouts our generator does not produce.

Each case comes from a red-team pass with hand-written files (title lines with several 单位,
units rows, notes in headers, sub-totals, copy artefacts in codes, renamed workbooks).
"""

from __future__ import annotations

import shutil

import pytest
import xlsxwriter
import xlwt

from mujun.ingest import ingest_directory
from mujun.reference.uscc import make_uscc
from mujun.validate import validate_year

from .conftest import FIXTURES

C = [make_uscc("91", "331081", f"MA2RT{i:03d}") for i in range(1, 7)]
REGISTER = "统一社会信用代码,企业名称,区县,行业代码,是否规上\n" + "".join(
    f"{c},企业{i},温岭市,C3441,{'规模以上' if i < 3 else '规模以下'}\n" for i, c in enumerate(C)
)


def _deliver(tmp_path, files: dict[str, str | bytes]):
    d = tmp_path / "2023"
    d.mkdir()
    (d / "企业名录2023.csv").write_text(REGISTER, encoding="utf-8")
    for name, content in files.items():
        if isinstance(content, bytes):
            (d / name).write_bytes(content)
        else:
            (d / name).write_text(content, encoding="utf-8")
    return d


def _issues(store, file):
    return store.rows(
        "SELECT row_no, column_name, code FROM issues WHERE file = ? AND severity <> 'info' "
        "ORDER BY row_no NULLS LAST, code",
        [file],
    )


def test_county_names_and_size_words_in_the_register_are_understood(store, profiles, tmp_path):
    d = _deliver(tmp_path, {})
    ingest_directory(store, d, 2023, profiles)
    validate_year(store, 2023, profiles)
    rows = store.rows("SELECT county_code, above_size FROM enterprises ORDER BY uscc")
    assert rows == [("331081", True)] * 3 + [("331081", False)] * 3


def test_a_title_line_with_several_units_gives_the_money_unit(store, profiles, tmp_path):
    lines = [
        "2023年度税收实际贡献,,",
        "填报单位：国家税务总局温岭市税务局,,金额单位：元",
        "统一社会信用代码（18位）,企业名称,税收实际贡献",
    ]
    lines += [f'{c},企业{i},"1,234,500"' for i, c in enumerate(C)]
    d = _deliver(tmp_path, {"税务2023.csv": "\n".join(lines) + "\n"})
    ingest_directory(store, d, 2023, profiles)
    validate_year(store, 2023, profiles)
    assert store.scalar("SELECT units FROM files WHERE source = 'tax'") == '{"tax_paid": "元"}'
    assert store.scalar("SELECT max(tax_paid) FROM facts") == pytest.approx(123.45)


def test_a_units_row_and_a_column_number_row_under_the_header_are_read_not_quarantined(
    store, profiles, tmp_path
):
    lines = [
        "统一社会信用代码,企业名称,工业增加值,主营业务收入,年平均从业人员,综合能耗",
        ",,千元,千元,人,吨标准煤",
        "甲,乙,1,2,3,4",
    ]
    lines += [f"{c},企业{i},34416,120000,80,500" for i, c in enumerate(C[:3])]
    d = _deliver(tmp_path, {"统计2023.csv": "\n".join(lines) + "\n"})
    ingest_directory(store, d, 2023, profiles)
    validate_year(store, 2023, profiles)
    f = store.rows(
        "SELECT header_rows, rows_read, rows_quarantined, units FROM files WHERE source = 'stats'"
    )[0]
    assert f[:3] == (3, 3, 0)
    assert '"value_added": "千元"' in f[3]
    assert store.scalar("SELECT max(value_added) FROM facts") == pytest.approx(3441.6)


def test_water_accounts_of_one_firm_add_up(store, profiles, tmp_path):
    d = _deliver(
        tmp_path,
        {"用水2023.csv": f"统一社会信用代码,年用水量\n{C[0]},100\n{C[0]},250\n{C[1]},80\n"},
    )
    ingest_directory(store, d, 2023, profiles)
    validate_year(store, 2023, profiles)
    water = dict(store.rows("SELECT uscc, water FROM facts WHERE water IS NOT NULL"))
    assert water == {C[0]: 350.0, C[1]: 80.0}
    assert _issues(store, "用水2023.csv") == []


def test_subtotals_notes_and_copy_artefacts_in_the_code_column(store, profiles, tmp_path):
    lines = [
        "统一社会信用代码,企业名称,实缴税金",
        f"'{C[0]},企业0,10",  # Excel text prefix
        f"{C[1][:4]} {C[1][4:]},企业1,(12.50)",  # inner space; accounting negative
        f"{C[2]}\u200b,企业2,30",  # zero-width space
        f"{C[3][:17]}0,企业3,40",  # wrong check character
        "其中：出口企业,,20",
        f"{C[4]},企业4,50",
        "合计（5户）,,137.5",
        "全县合计,,137.5",
        "注：数据来源金税三期,,",
        "填报人：王五,联系电话：0576-1234567,",
        "913310812344999936,企业5,60",  # a number Excel stored for the code
    ]
    d = _deliver(tmp_path, {"税务2023.csv": "\n".join(lines) + "\n"})
    ingest_directory(store, d, 2023, profiles)
    validate_year(store, 2023, profiles)
    tax = dict(store.rows("SELECT uscc, tax_paid FROM facts WHERE tax_paid IS NOT NULL"))
    assert tax == {C[0]: 10.0, C[1]: -12.5, C[2]: 30.0, C[4]: 50.0}
    skipped = store.rows("SELECT row_no, kind FROM skipped_rows ORDER BY row_no")
    assert skipped == [
        (6, "totals-row"),
        (8, "totals-row"),
        (9, "totals-row"),
        (10, "note-row"),
        (11, "note-row"),
    ]
    codes = {(r, c) for r, _col, c in _issues(store, "税务2023.csv")}
    assert (5, "bad-credit-code") in codes and (12, "mangled-credit-code") in codes
    msg = store.scalar("SELECT message FROM issues WHERE row_no = 5 AND code = 'bad-credit-code'")
    assert "position 18" in msg  # the explanation belongs to this row, not a neighbour


def test_same_figures_under_another_name_is_reported_as_a_copy(store, profiles, tmp_path):
    d = _deliver(
        tmp_path,
        {
            "税务2023.csv": f"统一社会信用代码,企业名称,实缴税金\n{C[0]},企业0,10\n{C[0]},别的公司,10\n"
        },
    )
    ingest_directory(store, d, 2023, profiles)
    validate_year(store, 2023, profiles)
    msg = store.scalar("SELECT message FROM issues WHERE code = 'duplicate-row'")
    assert "name differs" in msg and "企业0" in msg


def test_an_xls_workbook_renamed_xlsx_and_an_empty_file(store, profiles, tmp_path):
    d = _deliver(tmp_path, {"空白.csv": b""})
    shutil.copy(FIXTURES / "dept2023" / "税务局_2023年度税收实际贡献.xls", d / "税务2023.xlsx")
    ingest_directory(store, d, 2023, profiles)
    assert store.scalar("SELECT format FROM files WHERE source = 'tax'") == "xlsx"
    assert store.scalar("SELECT rows_read FROM files WHERE source = 'tax'") == 16
    assert store.rows("SELECT code FROM issues WHERE file = '空白.csv'") == [("empty-file",)]


def test_a_two_row_header_with_units_over_names(store, profiles, tmp_path):
    path = tmp_path / "stats.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("说明")
    ws.write(0, 0, "本表由统计局提供")
    ws = wb.add_worksheet("数据")
    ws.merge_range(0, 0, 1, 0, "统一社会信用代码")
    ws.merge_range(0, 1, 0, 2, "价值量指标（千元）")
    ws.write_row(1, 1, ["工业增加值", "主营业务收入"])
    for i, c in enumerate(C[:3]):
        ws.write_row(2 + i, 0, [c, 1000 * (i + 1), 5000])
    wb.close()
    d = _deliver(tmp_path, {})
    shutil.copy(path, d / "统计2023.xlsx")
    ingest_directory(store, d, 2023, profiles)
    validate_year(store, 2023, profiles)
    assert store.scalar("SELECT sheet FROM files WHERE source = 'stats'") == "数据"
    assert sorted(
        r[0] for r in store.rows("SELECT value_added FROM facts WHERE value_added IS NOT NULL")
    ) == [100, 200, 300]


def test_an_xls_written_by_another_tool_with_unit_headers(store, profiles, tmp_path):
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("排污")
    for j, h in enumerate(
        [
            "统一社会信用代码",
            "化学需氧量(COD)（吨）",
            "氨氮（吨）",
            "二氧化硫（千克）",
            "氮氧化物（吨）",
        ]
    ):
        ws.write(0, j, h)
    for i, c in enumerate(C[:2]):
        ws.write(1 + i, 0, c)
        for j in range(1, 5):
            ws.write(1 + i, j, 0 if i == 1 else 2.5)
    d = _deliver(tmp_path, {})
    wb.save(str(d / "排污2023.xls"))
    ingest_directory(store, d, 2023, profiles)
    validate_year(store, 2023, profiles)
    row = store.rows("SELECT cod, so2 FROM facts WHERE uscc = ?", [C[0]])[0]
    assert row == (2.5, pytest.approx(0.0025))  # 2.5 千克 of SO₂ = 0.0025 吨
    assert _issues(store, "排污2023.xls") == []  # zero emissions are legitimate


def test_a_second_area_column_in_another_unit_fills_empty_cells(store, profiles, tmp_path):
    m2 = 10000 / 15
    lines = ["统一社会信用代码,不动产权证号,土地面积（亩）,土地面积（平方米）"]
    lines += [f"{C[0]},P1,30,", f"{C[1]},P2,,{20 * m2:.4f}", f"{C[2]},P3,,"]
    d = _deliver(tmp_path, {"用地2023.csv": "\n".join(lines) + "\n"})
    ingest_directory(store, d, 2023, profiles)
    validate_year(store, 2023, profiles)
    land = dict(store.rows("SELECT uscc, land_own_mu FROM facts WHERE land_own_mu IS NOT NULL"))
    assert land[C[0]] == 30 and land[C[1]] == pytest.approx(20)
    assert [(r, c) for r, _col, c in _issues(store, "用地2023.csv") if c == "missing-value"] == [
        (4, "missing-value")
    ]

"""Hand-made department files (tests/fixtures/dept2023) and the exact issues each must produce."""

from __future__ import annotations

import pytest

from mujun.ingest import ingest_directory
from mujun.store import open_store
from mujun.validate import validate_year

from .conftest import FIXTURES

DIR = FIXTURES / "dept2023"
TAX = "税务局_2023年度税收实际贡献.xls"
REGISTER = "市场监管局_企业名录_2023.xlsx"
STATS = "统计局规上工业企业主要指标2023.xlsx"
POWER = "国网供电公司_用电量_2023年.csv"
ENV = "生态环境局排污数据2023.csv"
LAND = "自然资源和规划局_工业用地_2023.csv"


@pytest.fixture(scope="module")
def db(tmp_path_factory, profiles):
    path = tmp_path_factory.mktemp("fixtures") / "f.duckdb"
    with open_store(path) as s:
        report = ingest_directory(s, DIR, 2023, profiles)
        validate_year(s, 2023, profiles)
    s = open_store(path, read_only=True)
    s.report = report
    yield s
    s.close()


def test_every_problem_in_the_hand_made_files_is_reported_exactly(db):
    got = db.rows(
        "SELECT file, row_no, column_name, code, severity FROM issues "
        "WHERE severity <> 'info' AND code NOT LIKE '%credit-code' "
        "ORDER BY file, row_no NULLS LAST, code"
    )
    expected = [
        (POWER, 12, "用电量（千瓦时）", "missing-value", "error"),
        (POWER, None, None, "missing-enterprise", "error"),
        (REGISTER, 12, "成立日期", "type-error", "warning"),
        (REGISTER, 14, "区县代码", "unknown-division", "error"),
        (REGISTER, 15, "行业代码", "unknown-industry", "error"),
        (ENV, 5, "主要污染物排放量（吨）/氨氮", "out-of-range", "error"),
        (TAX, 5, "纳税人识别号", "duplicate-key", "error"),
        (TAX, 7, "税收实际贡献", "type-error", "error"),
        (TAX, 11, "纳税人识别号", "duplicate-row", "warning"),
        (TAX, 12, "纳税人识别号", "duplicate-key", "error"),
        (TAX, 17, "纳税人识别号", "unknown-enterprise", "warning"),
        (TAX, None, None, "missing-enterprise", "error"),
        (TAX, None, None, "missing-enterprise", "error"),
        (TAX, None, None, "missing-enterprise", "error"),
        (STATS, 6, "主要经济指标（万元）/工业增加值", "type-error", "error"),
        (STATS, None, None, "missing-enterprise", "error"),
        (LAND, 14, "使用方式", "invalid-choice", "error"),
        (LAND, None, None, "missing-enterprise", "error"),
        ("会议纪要.csv", None, None, "unrecognised-file", "error"),
        ("附件说明.docx", None, None, "unsupported-file", "warning"),
    ]
    # Credit-code problems carry no parsed uscc, so they are checked separately below.
    assert sorted(got, key=repr) == sorted(expected, key=repr)


def test_mistyped_credit_codes_are_quarantined_with_a_suggestion(db):
    rows = db.rows(
        "SELECT row_no, code, value, suggestion FROM issues WHERE file = ? "
        "AND code LIKE '%credit-code' ORDER BY row_no",
        [TAX],
    )
    assert rows == [
        (8, "mangled-credit-code", "913310810000000000", "91331081MA2AL0055K"),
        (9, "bad-credit-code", "91331081MA2AL00630", "91331081MA2AL0063E"),
    ]
    msg = db.scalar("SELECT message FROM issues WHERE file = ? AND row_no = 9", [TAX])
    assert "position 18" in msg and "expected 'E'" in msg
    quarantined = db.rows(
        "SELECT row_no, codes FROM quarantine JOIN files USING (file_id) WHERE name = ? "
        "ORDER BY row_no",
        [TAX],
    )
    assert quarantined == [(8, "mangled-credit-code"), (9, "bad-credit-code")]
    # The missing firm points at the quarantined row that probably is it.
    hint = db.scalar(
        "SELECT message FROM issues WHERE code = 'missing-enterprise' AND uscc = ?",
        ["91331081MA2AL0063E"],
    )
    assert "row 9" in hint


def test_no_row_is_lost_in_any_file(db):
    rows = db.rows(
        "SELECT name, rows_read, rows_stored, rows_quarantined, rows_skipped FROM files "
        "WHERE status = 'current' ORDER BY name"
    )
    assert len(rows) == 6
    for name, read, stored, quarantined, skipped in rows:
        assert read == stored + quarantined + skipped, name
    by_name = {r[0]: r[1:] for r in rows}
    assert by_name[TAX] == (16, 12, 2, 2)  # a blank row and the totals row are skipped
    assert by_name[POWER] == (14, 13, 0, 1)
    skipped = db.rows(
        "SELECT row_no, kind FROM skipped_rows JOIN files USING (file_id) WHERE name = ? "
        "ORDER BY row_no",
        [TAX],
    )
    assert skipped == [(10, "blank-row"), (19, "totals-row")]


def test_units_are_converted_to_canonical_units(db):
    tax = dict(db.rows("SELECT uscc, tax_paid FROM facts"))
    # 1,234,567 元 under a title row saying 单位：元 is 123.4567 万元.
    assert tax["91331081MA2AL00126"] == pytest.approx(123.4567)
    # A refund larger than the tax is a legitimate negative amount.
    assert tax["91331081MA2AL0039X"] == pytest.approx(-5.2)
    assert tax["91331081MA2AL00981"] == pytest.approx(125.00005)  # "1,250,000.50" 元
    # Conflicting rows: no silent pick.
    assert tax["91331081MA2AL00201"] is None
    land = dict(db.rows("SELECT uscc, land_own_mu FROM facts"))
    assert land["91331081MA2AL00126"] == pytest.approx((20000 + 6666.67) / (10000 / 15))
    energy = db.scalar("SELECT energy FROM facts WHERE uscc = '91331081MA2AL00126'")
    assert energy == 2100


def test_power_meters_of_one_firm_are_summed_and_keep_leading_zeros(db):
    row = db.rows("SELECT electricity, n_power_rows FROM facts WHERE uscc = '91331081MA2AL00126'")
    assert row == [(2_050_000.0, 3)]
    meters = [r[0] for r in db.rows("SELECT meter_id FROM src_power ORDER BY row_no")]
    assert meters[:3] == ["0001001", "0001002", "0001003"]


def test_register_fields_are_parsed_from_mixed_formats(db):
    rows = dict(
        (r[0], r[1:])
        for r in db.rows(
            "SELECT uscc, county_code, industry_code, above_size, established::VARCHAR, "
            "city_code, division_status FROM enterprises"
        )
    )
    assert rows["91331081MA2AL00126"] == (
        "331081",
        "C3441",
        True,
        "2019-03-05",
        "331000",
        "current",
    )
    assert rows["91331081MA2AL00201"][1:4] == ("C1951", True, "2012-07-01")  # bare 1951
    assert rows["91331081MA2AL0039X"][2:4] == (True, "2015-06-01")  # "1" and 2015/6/1
    assert rows["91331081MA2AL0047Q"][3] == "2010-01-02"  # 20100102
    assert rows["91331081MA2AL0055K"][2:4] == (False, "2019-03-05")  # Excel serial 43529
    assert rows["91330371MA2AL01008"][0] == "330371"
    assert rows["91330371MA2AL01008"][5] == "dev-zone"
    assert rows["91331081MA2AL0119H"][0] is None  # unknown county code nulled, firm kept
    assert rows["91331081MA2AL00981"][3] is None  # "约2010年"


def test_two_row_headers_are_joined_and_read(db):
    env = db.rows("SELECT cod, ammonia, so2, nox FROM facts WHERE uscc = '91331081MA2AL00126'")
    assert env == [(1.25, 0.12, 0.8, 1.1)]
    header_rows = dict(db.rows("SELECT source, header_rows FROM files WHERE source IS NOT NULL"))
    assert header_rows == {"register": 1, "tax": 1, "stats": 2, "power": 1, "env": 2, "land": 1}


def test_gb18030_and_bom_csv_encodings_are_detected(db):
    enc = dict(
        db.rows("SELECT source, encoding FROM files WHERE format = 'csv' AND source IS NOT NULL")
    )
    assert enc == {"power": "gb18030", "env": "utf-8-sig", "land": "utf-8"}


def test_match_report_counts_matched_unmatched_and_duplicates(db):
    tax = db.rows(
        "SELECT rows_stored, firms, matched, unmatched, duplicate_rows, duplicate_keys, "
        "missing_enterprises, quarantined FROM match_report WHERE source = 'tax'"
    )
    assert tax == [(12, 10, 9, 1, 1, 2, 3, 2)]


def test_shared_parcel_and_leased_land_are_kept(db):
    rows = db.rows(
        "SELECT uscc, tenure, lessor_uscc, shared_parcel FROM land "
        "WHERE parcel_id = '浙(2019)温岭市不动产权第0012345号' ORDER BY tenure"
    )
    assert rows == [
        ("91331081MA2AL00981", "leased", "91331081MA2AL00126", True),
        ("91331081MA2AL00126", "own", None, True),
    ]
    leased = db.scalar("SELECT land_leased_mu FROM facts WHERE uscc = '91331081MA2AL00981'")
    assert leased == pytest.approx(3.0)

"""Cell parsers, and the promise that arbitrary cell text never makes ingest raise."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mujun.ingest import cells, ingest_directory
from mujun.ingest.units import canonical_unit, normalise_header, split_header_unit, unit_in_title
from mujun.store import open_store
from mujun.validate import validate_year


def _arr(values):
    return pa.array(values, type=pa.string())


def _division_code(v):
    return v if v in ("331081", "330102") else None


# Cells that take every path of the parsers: plain values (the fast paths), other spellings,
# markers, padding, full-width digits, empty cells and arbitrary text.
mixed_cells = st.one_of(
    st.none(),
    st.sampled_from(
        ["12", "-3.5", "1e3", "1,234.5", "(1,200.00)", " 7 ", "１２", "—", "-", "N/A", "", "  ",
         "2019-03-05", "2019-02-30", "2019-03-05 00:00:00", "2019年3月5日", "20190305", "43529",
         "是", "否", "规上", "Y", "自有", "租赁", "331081", "331081.0", "330102", "温岭市", "C3311",
         "3311", "暂无", "12..5"]
    ),
    st.text(max_size=6),
)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(st.lists(mixed_cells, max_size=15))
def test_a_column_parses_each_cell_as_that_cell_alone_would(values):
    parsers = [
        cells.parse_number,
        lambda a: cells.parse_number(a, integer=True),
        cells.parse_date,
        cells.parse_bool,
        lambda a: cells.parse_choice(a, {"自有": "own", "租赁": "leased"}),
        lambda a: cells.parse_code(a, _division_code, "unknown-division"),
    ]
    for parse in parsers:
        whole = parse(_arr(values))
        alone = [parse(_arr([v])) for v in values]
        assert whole.values.to_pylist() == [a.values.to_pylist()[0] for a in alone]
        assert whole.blank.tolist() == [bool(a.blank[0]) for a in alone]
        assert whole.bad.tolist() == [bool(a.bad[0]) for a in alone]


def test_numbers_accept_separators_full_width_digits_and_missing_markers():
    p = cells.parse_number(_arr(["1,234.5", " １２ ", "-3", "1e3", "—", None, "暂无", "12..5"]))
    assert p.values.to_pylist() == [1234.5, 12.0, -3.0, 1000.0, None, None, None, None]
    assert p.blank.tolist() == [False, False, False, False, True, True, False, False]
    assert p.bad.tolist() == [False] * 6 + [True, True]


def test_integers_reject_fractions():
    p = cells.parse_number(_arr(["12", "12.0", "12.5"]), integer=True)
    assert p.values.to_pylist() == [12.0, 12.0, None]
    assert p.bad.tolist() == [False, False, True]


def test_dates_in_every_form_departments_use():
    p = cells.parse_date(
        _arr(
            [
                "2019年3月5日",
                "2019-03-05",
                "2019/3/5",
                "20190305",
                "43529",
                "2019-03-05 00:00:00",
                "2019.3.5",
                "2019-02-30",
                "约2010年",
                "",
            ]
        )
    )
    d = dt.date(2019, 3, 5)
    assert p.values.to_pylist() == [d] * 7 + [None, None, None]
    assert p.bad.tolist() == [False] * 7 + [True, True, False]


def test_yes_no_flags():
    p = cells.parse_bool(_arr(["是", "否", "Y", "n", "1", "0", "规上", "也许"]))
    assert p.values.to_pylist() == [True, False, True, False, True, False, True, None]
    assert p.bad.tolist() == [False] * 7 + [True]


def test_units_in_headers_and_title_rows():
    assert split_header_unit("实缴税金（万元）") == ("实缴税金", "万元")
    assert split_header_unit("工业增加值(现价)(千元)") == ("工业增加值(现价)", "千元")
    assert split_header_unit("企业(单位)名称") == ("企业(单位)名称", None)
    assert canonical_unit("m²") == "平方米" and canonical_unit("吨标准煤") == "吨标煤"
    assert unit_in_title("金额单位：千元") == "千元"
    assert unit_in_title("2023年度税收") is None
    assert normalise_header(" 实缴税金 （元） ") == "实缴税金"


def test_excel_mangled_codes_are_recognised():
    m = cells.mangled_code_mask(
        _arr(["9.13301E+17", "913301000000000000", "9.13301e17", "91330000142944445H", None])
    )
    assert m.tolist() == [True, True, True, False, False]


HEADER = ["统一社会信用代码", "企业名称", "区县代码", "行业代码", "是否规上", "成立日期"]
cell_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "—", "合计", "9.13301E+17", "0001", "1,2,3", "=SUM(A1)", "\u3000"]),
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cell_text, min_size=6, max_size=8), min_size=1, max_size=12))
def test_ingest_never_raises_on_arbitrary_cell_text(tmp_path_factory, profiles, rows):
    d = tmp_path_factory.mktemp("fuzz")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)
    for r in rows:
        w.writerow([c.replace("\x00", "") for c in r])
    (d / "企业名录_2023.csv").write_text(buf.getvalue(), encoding="utf-8")
    with open_store(d / "s.duckdb") as s:
        report = ingest_directory(s, d, 2023, profiles)
        validate_year(s, 2023, profiles)
        for f in report.files:
            assert f.rows_read == f.rows_stored + f.rows_quarantined + f.rows_skipped
        read = s.scalar("SELECT coalesce(sum(rows_read), 0) FROM files")
        csv_rows = len(list(csv.reader(io.StringIO(buf.getvalue())))) - 1
        assert read in (0, csv_rows)  # 0 only when no header could be recognised


def test_identifiers_keep_leading_zeros(store, profiles, tmp_path):
    d = tmp_path / "p"
    d.mkdir()
    (d / "用电量_2023.csv").write_text(
        "户号,统一社会信用代码,用电量\n000123,91330000142944445H,100\n0000,91330000142944445H,5\n",
        encoding="utf-8",
    )
    ingest_directory(store, d, 2023, profiles)
    assert [r[0] for r in store.rows("SELECT meter_id FROM src_power ORDER BY row_no")] == [
        "000123",
        "0000",
    ]


def test_the_fast_csv_path_gives_the_same_grid_as_the_python_path(tmp_path, monkeypatch):
    from mujun.ingest import reader

    lines = ["2023年度用电量,,", "单位：千瓦时", "户号,统一社会信用代码,用电量"]
    lines += [f'{i:06d},91330000142944445H,"{i},000"' for i in range(150)]
    lines.insert(80, ",,")  # a blank row in the data, padded as Excel writes it
    lines.append("合计,,999")
    path = tmp_path / "用电.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))
    fast = reader.read_csv_grid(path)
    monkeypatch.setattr(reader, "HEAD_RECORDS", 10_000)
    slow = reader.read_csv_grid(path)
    assert fast.nrows == slow.nrows == 155
    assert [c.to_pylist() for c in fast.columns] == [c.to_pylist() for c in slow.columns]
    assert fast.row(0) == ["2023年度用电量", None, None]
    assert fast.row(153) == ["000149", "91330000142944445H", "149,000"]


def test_a_ragged_data_row_falls_back_to_the_python_path(tmp_path):
    from mujun.ingest import reader

    lines = ["户号,统一社会信用代码,用电量"] + [f"{i},91330000142944445H,{i}" for i in range(60)]
    lines.append("注：数据来源于营销系统")  # one field only
    path = tmp_path / "用电.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    grid = reader.read_csv_grid(path)
    assert grid.nrows == 62
    assert grid.row(61) == ["注：数据来源于营销系统", None, None]


def test_excel_unicode_text_export_is_read(tmp_path):
    from mujun.ingest import reader

    path = tmp_path / "税务.txt"
    path.write_bytes("统一社会信用代码\t实缴税金\r\n91330000142944445H\t12.5\r\n".encode("utf-16"))
    grid = reader.read_csv_grid(path)
    assert grid.encoding == "utf-16"
    assert grid.row(1) == ["91330000142944445H", "12.5"]

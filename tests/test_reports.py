"""Published outputs read back with calamine: result workbooks (internal and public) and 一企一单.

One small generated province is ingested, validated and evaluated once for the module; every test
reads the workbooks the reports module wrote and compares them with the store.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from mujun.demo import generate_province
from mujun.errors import InputError
from mujun.evaluation import evaluate
from mujun.ingest import ingest_directory
from mujun.reference import division_name
from mujun.reports import write_enterprise_sheet, write_enterprise_sheets, write_published_workbooks
from mujun.reports.cli import publish_command, sheet_command
from mujun.rules import load_rules
from mujun.store import open_store
from mujun.validate import validate_year

from .conftest import ROOT

YEAR = 2023
CATEGORY_SHEETS = {
    "above": "规上企业",
    "below": "规下企业（用地3亩及以上）",
    "below-small": "规下企业（用地3亩以下）",
    "tenant": "租用厂房无自有用地企业",
}
IDENTITY = [
    "序号",
    "统一社会信用代码",
    "企业名称",
    "所属乡镇",
    "行业代码",
    "行业名称",
    "用地面积（亩）",
]
ABOVE_HEADERS = [
    *IDENTITY,
    "亩均税收（万元/亩）",
    "亩均增加值（万元/亩）",
    "单位能耗增加值（万元/吨标煤）",
    "单位排放增加值（万元/吨）",
    "全员劳动生产率（万元/人）",
    "R&D经费支出占比",
    "综合得分",
    "排名",
    "分类",
    "分类名称",
    "备注",
]
BELOW_HEADERS = [
    *IDENTITY,
    "亩均税收（万元/亩）",
    "单位电耗税收（万元/万千瓦时）",
    "综合得分",
    "排名",
    "分类",
    "分类名称",
    "备注",
]
PUBLIC_HEADERS = [*IDENTITY, "分类", "分类名称"]


@pytest.fixture(scope="module")
def env(tmp_path_factory, profiles):
    """A 1,500-firm province evaluated once; the county with most firms; workbooks written."""
    base = tmp_path_factory.mktemp("reports")
    generate_province(base / "data", enterprises=1500, years=(YEAR,), seed=7, fmt="csv")
    store = open_store(base / "r.duckdb")
    ingest_directory(store, base / "data" / str(YEAR), YEAR, profiles)
    validate_year(store, YEAR, profiles)
    run = evaluate(store, YEAR, rules=load_rules(ROOT / "rules" / "zhejiang-default.yaml")).run_id
    county = store.scalar(
        "SELECT county_code FROM results WHERE run_id = ? AND county_code <> '' "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
        [run],
    )
    store.close()
    # Reports only read: a read-only store also lets the CLI test open the same file.
    store = open_store(base / "r.duckdb", read_only=True)
    internal = write_published_workbooks(store, run, county, base / "pub")
    public = write_published_workbooks(store, run, county, base / "pub", public=True)
    yield {"store": store, "run": run, "county": county, "base": base}, internal[0], public[0]
    store.close()


def _sheets(path: Path) -> dict[str, list[list]]:
    wb = CalamineWorkbook.from_path(str(path))
    return {n: wb.get_sheet_by_name(n).to_python() for n in wb.sheet_names}


def _row(rows: list[list], label: str) -> list:
    return next(r for r in rows if r and r[0] == label)


def _section(rows: list[list], title: str) -> list[list]:
    start = next(i for i, r in enumerate(rows) if r[0] == title)
    return rows[start:]


def test_the_workbook_is_named_for_the_county_year_and_run(env):
    e, internal, public = env
    county = division_name(e["county"])
    assert internal.name == f"{county}_{YEAR}年度亩均效益评价结果_{e['run']}.xlsx"
    assert public.name == f"{county}_{YEAR}年度亩均效益评价结果_{e['run']}_公示版.xlsx"


def test_each_workbook_has_the_notes_sheet_and_one_list_per_category_with_exact_headers(env):
    _, internal, public = env
    for path, variant in ((internal, "internal"), (public, "public")):
        sheets = _sheets(path)
        assert list(sheets) == ["说明", *CATEGORY_SHEETS.values()]
        for category, name in CATEGORY_SHEETS.items():
            rows = sheets[name]
            assert name in rows[0][0]  # the title row names the list
            if variant == "public":
                expected = PUBLIC_HEADERS
            elif category == "above":
                expected = ABOVE_HEADERS
            elif category == "tenant":
                expected = [
                    *ABOVE_HEADERS[:13],
                    "单位电耗税收（万元/万千瓦时）",
                    *ABOVE_HEADERS[13:],
                ]
            else:
                expected = BELOW_HEADERS
            assert rows[1] == expected, (variant, name)


def test_credit_codes_are_18_character_strings_in_every_list(env):
    _, internal, public = env
    for path in (internal, public):
        for name, rows in _sheets(path).items():
            if name == "说明":
                continue
            codes = [r[1] for r in rows[2:]]
            assert codes, name
            assert all(isinstance(c, str) and len(c) == 18 for c in codes), name


def test_the_public_variant_shows_no_tax_value_added_or_score(env):
    e, _, public = env
    taxes = {
        t
        for (t,) in e["store"].rows(
            "SELECT f.tax_paid FROM facts f JOIN results r ON r.uscc = f.uscc AND r.year = f.year "
            "WHERE r.run_id = ? AND r.county_code = ? AND f.tax_paid IS NOT NULL",
            [e["run"], e["county"]],
        )
    }
    assert taxes
    taxes |= {round(t, 2) for t in taxes}
    for name, rows in _sheets(public).items():
        if name != "说明":
            assert not [h for h in rows[1] if any(w in h for w in ("税", "增加值", "得分", "排名"))]
        numbers = {c for r in rows for c in r if isinstance(c, float)}
        assert not numbers & taxes, name


def test_each_list_holds_exactly_the_firms_of_its_category(env):
    e, internal, public = env
    expected = {
        cat: {
            u
            for (u,) in e["store"].rows(
                "SELECT uscc FROM results WHERE run_id = ? AND county_code = ? AND category = ?",
                [e["run"], e["county"], cat],
            )
        }
        for cat in CATEGORY_SHEETS
    }
    for path in (internal, public):
        sheets = _sheets(path)
        for cat, name in CATEGORY_SHEETS.items():
            codes = [r[1] for r in sheets[name][2:]]
            assert len(codes) == len(expected[cat])
            assert set(codes) == expected[cat]


def test_lists_are_sorted_by_class_then_rank_with_unclassed_firms_last(env):
    e, internal, _ = env
    result = {
        u: (k, r)
        for u, k, r in e["store"].rows(
            "SELECT uscc, class, rank FROM results WHERE run_id = ?", [e["run"]]
        )
    }
    order = {"A": 0, "B": 1, "C": 2, "D": 3, "": 4}
    for name, rows in _sheets(internal).items():
        if name == "说明":
            continue
        keys = [
            (order[result[r[1]][0]], result[r[1]][1] if result[r[1]][0] else 0) for r in rows[2:]
        ]
        assert keys == sorted(keys), name
        assert [r[0] for r in rows[2:]] == list(range(1, len(rows) - 1))


def test_the_notes_sheet_counts_by_class_equal_the_store(env):
    e, internal, public = env
    store_counts = dict(
        e["store"].rows(
            "SELECT class, count(*) FROM results WHERE run_id = ? AND county_code = ? "
            "AND class <> '' GROUP BY 1",
            [e["run"], e["county"]],
        )
    )
    total = e["store"].scalar(
        "SELECT count(*) FROM results WHERE run_id = ? AND county_code = ?",
        [e["run"], e["county"]],
    )
    for path in (internal, public):
        rows = _sheets(path)["说明"]
        assert _row(rows, "评价批次")[1].startswith(e["run"])
        assert _row(rows, "数据年度")[1] == f"{YEAR}年度"
        for klass in "ABCD":
            assert _row(rows, klass)[-1] == store_counts.get(klass, 0)
        assert _row(rows, "合计")[-1] == total


def test_writing_twice_gives_byte_identical_files(env, tmp_path):
    e, internal, public = env
    again = write_published_workbooks(e["store"], e["run"], e["county"], tmp_path)
    again += write_published_workbooks(e["store"], e["run"], e["county"], tmp_path, public=True)
    assert [p.read_bytes() for p in again] == [internal.read_bytes(), public.read_bytes()]
    uscc = e["store"].scalar(
        "SELECT min(uscc) FROM results WHERE run_id = ? AND class <> ''", [e["run"]]
    )
    a = write_enterprise_sheet(e["store"], e["run"], uscc, tmp_path / "a.xlsx")
    b = write_enterprise_sheet(e["store"], e["run"], uscc, tmp_path / "b.xlsx")
    assert a.read_bytes() == b.read_bytes()


def test_a_city_region_gives_one_workbook_per_county_of_the_city(env, tmp_path):
    e, _, _ = env
    city = e["county"][:4] + "00"
    counties = e["store"].rows(
        "SELECT DISTINCT county_code FROM results WHERE run_id = ? AND county_code LIKE ?",
        [e["run"], city[:4] + "%"],
    )
    paths = write_published_workbooks(e["store"], e["run"], city, tmp_path)
    assert len(paths) == len(counties)


@pytest.fixture(scope="module")
def firm_sheet(env):
    """The 一企一单 of an above-size C firm whose cohort also holds B firms."""
    e, _, _ = env
    store, run = e["store"], e["run"]
    uscc, cohort, total = store.rows(
        "SELECT r.uscc, r.cohort, r.total FROM results r WHERE r.run_id = ? AND r.class = 'C' "
        "AND r.category = 'above' AND r.tenant_of = '' AND EXISTS (SELECT 1 FROM results b "
        "WHERE b.run_id = r.run_id AND b.cohort = r.cohort AND b.class = 'B') "
        "AND r.uscc IN (SELECT uscc FROM facts WHERE tax_paid IS NOT NULL) ORDER BY r.uscc LIMIT 1",
        [run],
    )[0]
    path = write_enterprise_sheet(store, run, uscc, e["base"] / "sheet")
    rows = _sheets(path)["一企一单"]
    return e, uscc, cohort, total, path, rows


def test_the_one_firm_sheet_is_named_by_code_and_name_and_shows_the_code_as_text(firm_sheet):
    _, uscc, _, _, path, rows = firm_sheet
    assert path.name.startswith(f"{uscc}_") and path.suffix == ".xlsx"
    assert _row(rows, "统一社会信用代码")[1] == uscc


def test_the_one_firm_sheet_shows_the_class_and_the_total(firm_sheet):
    e, uscc, _, total, _, rows = firm_sheet
    klass, name = e["store"].rows(
        "SELECT class, class_name FROM results WHERE run_id = ? AND uscc = ?", [e["run"], uscc]
    )[0]
    outcome = _section(rows, "五、评价结果")
    assert _row(outcome, "评价分类")[1:3] == [klass, name]
    assert _row(outcome, "综合得分")[1] == pytest.approx(total)


def test_every_indicator_row_shows_value_benchmark_score_and_weight_from_result_items(firm_sheet):
    e, uscc, _, _, _, rows = firm_sheet
    items = e["store"].rows(
        "SELECT name, value, benchmark, score, weight FROM result_items "
        "WHERE run_id = ? AND uscc = ?",
        [e["run"], uscc],
    )
    assert len(items) == 6
    for name, value, benchmark, score, weight in items:
        row = _row(rows, name)
        assert row[1] == (pytest.approx(value) if value is not None else "")
        assert row[3] == pytest.approx(benchmark)
        assert row[4] == pytest.approx(score)
        assert row[5] == pytest.approx(weight)


def test_tax_paid_is_shown_with_its_unit_department_and_period(firm_sheet):
    e, uscc, _, _, _, rows = firm_sheet
    tax = e["store"].scalar("SELECT tax_paid FROM facts WHERE uscc = ?", [uscc])
    assert _row(rows, "实缴税金")[1:5] == [pytest.approx(tax), "万元", "税务", f"{YEAR}年度"]
    assert _row(rows, "用电量")[3] == "电力"


def test_the_gap_to_the_next_class_is_the_lowest_better_total_in_the_cohort_minus_the_firms(
    firm_sheet,
):
    e, _, cohort, total, _, rows = firm_sheet
    lowest_b = e["store"].scalar(
        "SELECT min(total) FROM results WHERE run_id = ? AND cohort = ? AND class = 'B'",
        [e["run"], cohort],
    )
    row = _row(rows, "距上一档差距（分）")
    assert row[1] == pytest.approx(lowest_b - total)
    assert "B类" in row[2]


def test_an_imputed_indicator_is_marked_on_the_sheet(env, tmp_path):
    e, _, _ = env
    found = e["store"].rows(
        "SELECT uscc, name FROM result_items WHERE run_id = ? AND imputed ORDER BY uscc LIMIT 1",
        [e["run"]],
    )
    if not found:
        pytest.skip("no imputed indicator in this province")
    uscc, name = found[0]
    rows = _sheets(write_enterprise_sheet(e["store"], e["run"], uscc, tmp_path))["一企一单"]
    assert "缺少数据" in _row(rows, name)[6]


def test_a_county_batch_writes_one_sheet_per_firm_and_an_index_listing_them(env, tmp_path):
    e, _, _ = env
    paths = write_enterprise_sheets(e["store"], e["run"], e["county"], tmp_path)
    firms = {
        u
        for (u,) in e["store"].rows(
            "SELECT uscc FROM results WHERE run_id = ? AND county_code = ?",
            [e["run"], e["county"]],
        )
    }
    index = paths[-1]
    assert "一企一单目录" in index.name
    assert {p.name[:18] for p in paths[:-1]} == firms
    assert all(p.exists() for p in paths)
    listed = _sheets(index)["目录"][2:]
    assert {r[1] for r in listed} == firms
    assert {r[-1] for r in listed} == {p.name for p in paths[:-1]}


def test_an_unknown_run_firm_or_region_raises_an_input_error_with_a_hint(env, tmp_path):
    e, _, _ = env
    store, run = e["store"], e["run"]
    calls = [
        lambda: write_published_workbooks(store, "E1999-0001", e["county"], tmp_path),
        lambda: write_enterprise_sheet(store, "E1999-0001", "91330000142944445H", tmp_path),
        lambda: write_enterprise_sheet(store, run, "91330000142944445H", tmp_path),
        lambda: write_published_workbooks(store, run, "320000", tmp_path),
        lambda: write_enterprise_sheets(store, run, "33108", tmp_path),
    ]
    for call in calls:
        with pytest.raises(InputError) as info:
            call()
        assert info.value.hint


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("publish")(publish_command)
    app.command("sheet")(sheet_command)
    return app


def test_the_publish_command_writes_and_prints_both_variants(env, tmp_path):
    e, _, _ = env
    db = str(e["store"].path)
    args = ["publish", e["run"], "--region", e["county"], "--out", str(tmp_path), "--db", db]
    res = CliRunner().invoke(_app(), args)
    assert res.exit_code == 0, res.output
    assert "公示版.xlsx" in res.output
    assert len(list(tmp_path.glob("*.xlsx"))) == 2


def test_the_sheet_command_needs_exactly_one_of_uscc_and_region(env, tmp_path):
    e, _, _ = env
    db = str(e["store"].path)
    res = CliRunner().invoke(_app(), ["sheet", e["run"], "--out", str(tmp_path), "--db", db])
    assert isinstance(res.exception, InputError)
    assert res.exception.hint

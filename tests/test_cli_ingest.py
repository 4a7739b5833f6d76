"""`mujun ingest` and `mujun validate` through the command line."""

from __future__ import annotations

import shutil

import python_calamine
from typer.testing import CliRunner

from mujun.cli import app

from .conftest import FIXTURES, ROOT

runner = CliRunner()


def test_ingest_then_validate_reports_counts_and_writes_an_excel_report(tmp_path):
    db = tmp_path / "m.duckdb"
    res = runner.invoke(
        app, ["ingest", str(FIXTURES / "dept2023"), "--year", "2023", "--db", str(db)]
    )
    assert res.exit_code == 0, res.output
    assert "register" in res.output and "ingested" in res.output
    out = tmp_path / "issues.xlsx"
    res = runner.invoke(app, ["validate", "--db", str(db), "--out", str(out), "--show", "5"])
    assert res.exit_code == 1  # the fixtures carry errors
    assert "missing-enterprise" in res.output and "bad-credit-code" in res.output
    assert "前5条错误" in res.output
    wb = python_calamine.CalamineWorkbook.from_path(str(out))
    assert wb.sheet_names == [
        "汇总 summary",
        "匹配报告 match",
        "问题清单 issues",
        "隔离行 quarantined",
    ]
    rows = wb.get_sheet_by_name("问题清单 issues").to_python()
    header = rows[0]
    col = header.index("统一社会信用代码 credit code")
    codes = [r[col] for r in rows[1:] if r[col] != ""]
    # Credit codes are text cells, never numbers Excel could mangle.
    assert codes and all(isinstance(c, str) and len(c) == 18 for c in codes)
    # 22 warnings and errors (see test_ingest_fixtures) and one info: the unused 序号 column.
    assert len(rows) - 1 == 23


def test_validate_passes_with_exit_zero_when_there_are_no_errors(tmp_path):
    d = tmp_path / "2023"
    d.mkdir()
    (d / "企业名录2023.csv").write_text(
        "统一社会信用代码,企业名称,区县代码,行业代码,是否规上\n"
        "91330000142944445H,浙江某某有限公司,331081,C3441,否\n",
        encoding="utf-8",
    )
    db = tmp_path / "m.duckdb"
    assert runner.invoke(app, ["ingest", str(d), "--year", "2023", "--db", str(db)]).exit_code == 0
    res = runner.invoke(app, ["validate", "--db", str(db), "--out", str(tmp_path / "i.xlsx")])
    # Tax, power and land files are missing: warnings, not errors.
    assert res.exit_code == 0, res.output
    assert "missing-file" in res.output


def test_misuse_gets_one_actionable_line_and_exit_2(tmp_path):
    res = runner.invoke(
        app,
        ["ingest", str(tmp_path / "nope"), "--year", "2023", "--db", str(tmp_path / "x.duckdb")],
    )
    assert res.exit_code == 2
    assert "is not a directory" in res.output
    res = runner.invoke(app, ["validate", "--db", str(tmp_path / "none.duckdb")])
    assert res.exit_code == 2 and "mujun ingest" in res.output


def test_a_bad_source_profile_names_the_file_and_key(tmp_path):
    profiles = tmp_path / "sources"
    shutil.copytree(ROOT / "rules" / "sources", profiles)
    tax = profiles / "tax.yaml"
    tax.write_text(
        tax.read_text(encoding="utf-8").replace(
            "allow_negative: true", "allow_negative: true\n    colour: red"
        ),
        encoding="utf-8",
    )
    res = runner.invoke(
        app,
        [
            "ingest",
            str(FIXTURES / "dept2023"),
            "--year",
            "2023",
            "--db",
            str(tmp_path / "x.duckdb"),
            "--profiles",
            str(profiles),
        ],
    )
    assert res.exit_code == 2
    assert "tax.yaml" in res.output and "fields.tax_paid.colour" in res.output


def test_every_command_has_help_text_and_a_readme_entry():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for cmd in (
        "uscc",
        "demo-data",
        "ingest",
        "validate",
        "composite",
        "evaluate",
        "results",
        "diff",
        "publish",
        "sheet",
    ):
        res = runner.invoke(app, [cmd, "--help"])
        assert res.exit_code == 0
        assert "/" in res.output  # Chinese first, then English
        assert f"mujun {cmd}" in readme

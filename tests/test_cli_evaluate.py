"""`mujun evaluate`, `mujun results` and `mujun diff` through the real command line."""

from __future__ import annotations

import shutil

import pyarrow.csv as pacsv

from .conftest import ROOT, run_mujun


def test_evaluate_prints_a_run_and_results_export_has_the_key_columns(small_province, tmp_path):
    _, db = small_province
    copy = tmp_path / "e.duckdb"
    shutil.copy(db, copy)
    res = run_mujun(
        "evaluate",
        "--year",
        "2023",
        "--rules",
        str(ROOT / "rules/zhejiang-default.yaml"),
        "--db",
        str(copy),
    )
    assert res.returncode == 0, res.stderr
    assert "E2023-0001" in res.stdout and "分类统计" in res.stdout and "最高 top" in res.stdout
    res = run_mujun(
        "evaluate",
        "--year",
        "2023",
        "--rules",
        str(ROOT / "rules/huangyan-2021.yaml"),
        "--region",
        "331003",
        "--db",
        str(copy),
    )
    assert res.returncode == 0, res.stderr
    assert "E2023-0002" in res.stdout and "黄岩区" in res.stdout
    out = tmp_path / "r.csv"
    res = run_mujun(
        "results", "E2023-0001", "--format", "csv", "--out", str(out), "--db", str(copy)
    )
    assert res.returncode == 0, res.stderr
    table = pacsv.read_csv(out)
    for col in ("uscc", "cohort", "total", "class", "rank", "tax_mu", "tax_mu_score", "reasons"):
        assert col in table.column_names
    assert table.num_rows == 2000
    xlsx = tmp_path / "r.xlsx"
    assert (
        run_mujun(
            "results", "E2023-0001", "--format", "xlsx", "--out", str(xlsx), "--db", str(copy)
        ).returncode
        == 0
    )
    import python_calamine

    rows = python_calamine.CalamineWorkbook.from_path(str(xlsx)).get_sheet_by_index(0).to_python()
    assert rows[0][:3] == ["统一社会信用代码", "企业名称", "区县代码"]
    assert all(isinstance(r[0], str) and len(r[0]) == 18 for r in rows[1:])
    res = run_mujun("diff", "E2023-0001", "E2023-0002", "--db", str(copy))
    assert res.returncode == 0 and "changed class" in res.stdout


def test_evaluate_misuse_is_one_line_and_exit_2(small_province, tmp_path):
    _, db = small_province
    copy = tmp_path / "e.duckdb"
    shutil.copy(db, copy)
    res = run_mujun("evaluate", "--year", "2023", "--db", str(copy))
    assert res.returncode == 2 and "exactly one of --rules and --rules-map" in res.stderr
    res = run_mujun(
        "evaluate",
        "--year",
        "2019",
        "--rules",
        str(ROOT / "rules/zhejiang-default.yaml"),
        "--db",
        str(copy),
    )
    assert res.returncode == 2 and "no register firms for 2019" in res.stderr
    res = run_mujun("results", "E2099-0001", "--db", str(copy))
    assert res.returncode == 2 and "not found" in res.stderr

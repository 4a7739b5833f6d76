"""Reading runs back: result exports (CSV, XLSX, Parquet) and the diff of two runs."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import xlsxwriter

from mujun.errors import InputError
from mujun.store import Store

# Columns of the results export, with their Chinese headers (Excel) — run id is left out so that
# the same inputs and rules give byte-identical files.
RESULT_COLUMNS: list[tuple[str, str]] = [
    ("uscc", "统一社会信用代码"),
    ("name", "企业名称"),
    ("county_code", "区县代码"),
    ("industry_code", "行业代码"),
    ("size", "规模"),
    ("category", "类别"),
    ("status", "评价状态"),
    ("cohort", "评价队列"),
    ("land_mu", "计亩面积(亩)"),
    ("composite_total", "指标得分"),
    ("bonus", "加分"),
    ("penalty", "扣分"),
    ("total", "综合得分"),
    ("class", "分类"),
    ("class_name", "分类名称"),
    ("rank", "队列排名"),
    ("cohort_size", "队列企业数"),
    ("percentile", "百分位"),
    ("flags", "标记"),
    ("rules_hash", "规则哈希"),
    ("reasons", "分类依据"),
]
TEXT = {"uscc", "county_code", "industry_code", "rules_hash"}


def run_exists(store: Store, run_id: str) -> None:
    """Raise a plain error when a run id is unknown."""
    if not store.scalar("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]):
        known = [r[0] for r in store.rows("SELECT run_id FROM runs ORDER BY run_id DESC LIMIT 5")]
        raise InputError(f"run {run_id} not found", f"recent runs: {', '.join(known) or 'none'}")


def results_table(store: Store, run_id: str) -> pa.Table:
    """One row per firm: results columns, then every indicator's value, benchmark and score."""
    run_exists(store, run_id)
    codes = [
        r[0]
        for r in store.rows(
            "SELECT DISTINCT indicator FROM result_items WHERE run_id = ? ORDER BY 1", [run_id]
        )
    ]
    pivots = ", ".join(
        f"max(value) FILTER (WHERE indicator = '{c}') AS \"{c}\", "
        f"max(benchmark) FILTER (WHERE indicator = '{c}') AS \"{c}_benchmark\", "
        f"max(score) FILTER (WHERE indicator = '{c}') AS \"{c}_score\""
        for c in codes
    )
    cols = ", ".join(f"r.{c}" if c != "class" else 'r."class"' for c, _ in RESULT_COLUMNS)
    items = (
        f"LEFT JOIN (SELECT uscc, {pivots} FROM result_items WHERE run_id = ? GROUP BY uscc) i "
        "USING (uscc)"
        if codes
        else ""
    )
    extra = (
        ", " + ", ".join(f'i."{c}", i."{c}_benchmark", i."{c}_score"' for c in codes)
        if codes
        else ""
    )
    params = [run_id, run_id] if codes else [run_id]
    return store.arrow(
        f"SELECT {cols}{extra} FROM results r {items} WHERE r.run_id = ? ORDER BY r.uscc",
        params[::-1] if codes else params,
    )


def export_results(store: Store, run_id: str, fmt: str, out: Path) -> int:
    """Write a run's results as CSV (UTF-8 with BOM for Excel), XLSX or Parquet."""
    table = results_table(store, run_id)
    if fmt == "csv":
        with out.open("wb") as fh:
            fh.write(b"\xef\xbb\xbf")
            pacsv.write_csv(table, fh)
    elif fmt == "parquet":
        pq.write_table(table, out, compression="zstd")
    elif fmt == "xlsx":
        _write_xlsx(table, out)
    else:
        raise InputError(f"unknown format {fmt!r}", "use csv, xlsx or parquet")
    return table.num_rows


def _write_xlsx(table: pa.Table, out: Path) -> None:
    headers = dict(RESULT_COLUMNS)
    wb = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    wb.set_properties({"created": __import__("datetime").datetime(2000, 1, 1)})
    ws = wb.add_worksheet("评价结果")
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    text = wb.add_format({"num_format": "@"})
    num = wb.add_format({"num_format": "0.00"})
    names = table.column_names
    ws.write_row(0, 0, [headers.get(c, c) for c in names], head)
    ws.freeze_panes(1, 2)
    cols = [table.column(c).to_pylist() for c in names]
    for i in range(table.num_rows):
        for j, c in enumerate(names):
            v = cols[j][i]
            if v is None:
                continue
            if c in TEXT:
                ws.write_string(i + 1, j, str(v), text)
            elif isinstance(v, float):
                ws.write_number(i + 1, j, v, num)
            else:
                ws.write(i + 1, j, v)
    wb.close()


def diff_runs(store: Store, run_a: str, run_b: str, limit: int | None = None) -> list[tuple]:
    """Firms whose class differs between two runs: code, name, class A → B, totals, reasons."""
    run_exists(store, run_a)
    run_exists(store, run_b)
    sql = """
        SELECT coalesce(a.uscc, b.uscc), coalesce(b.name, a.name),
               coalesce(a."class", '—'), coalesce(b."class", '—'), a.total, b.total,
               coalesce(b.reasons, a.reasons)
        FROM (SELECT * FROM results WHERE run_id = ?) a
        FULL JOIN (SELECT * FROM results WHERE run_id = ?) b USING (uscc)
        WHERE coalesce(a."class", '—') IS DISTINCT FROM coalesce(b."class", '—')
        ORDER BY 1
    """
    rows = store.rows(sql + (f" LIMIT {int(limit)}" if limit else ""), [run_a, run_b])
    return rows

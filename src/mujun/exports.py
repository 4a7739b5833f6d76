"""Excel exports of validation results, written with XlsxWriter.

Credit codes and other long identifiers are always written as text so Excel cannot turn them into
``9.13301E+17``.
"""

from __future__ import annotations

from pathlib import Path

import xlsxwriter
import xlsxwriter.exceptions

from mujun.errors import InputError
from mujun.store import Store

ISSUE_HEADERS = [
    ("source", "部门 source"),
    ("code", "问题代码 code"),
    ("severity", "级别 severity"),
    ("file", "文件 file"),
    ("sheet", "工作表 sheet"),
    ("row_no", "行号 row"),
    ("column_name", "列 column"),
    ("value", "原值 value"),
    ("uscc", "统一社会信用代码 credit code"),
    ("message", "说明 message"),
    ("suggestion", "建议代码 suggestion"),
]
MATCH_HEADERS = [
    "部门 source",
    "文件 file",
    "入库行 rows stored",
    "企业数 firms",
    "匹配 matched",
    "未匹配行 unmatched rows",
    "重复行 duplicate rows",
    "主键冲突 duplicate keys",
    "缺失企业 missing firms",
    "隔离行 quarantined",
]
TEXT_COLUMNS = {"uscc", "suggestion", "value", "column_name", "file", "sheet"}


def write_validation_workbook(store: Store, year: int, path: Path) -> int:
    """Write summary, match report, every issue and quarantined rows; return issues written."""
    if path.suffix.lower() != ".xlsx":
        raise InputError(f"{path} must end in .xlsx", "the issues report is an Excel workbook")
    if not path.parent.is_dir():
        raise InputError(f"folder {path.parent} does not exist", "create it or pass another --out")
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    text = wb.add_format({"num_format": "@"})

    summary = wb.add_worksheet("汇总 summary")
    summary.write_row(0, 0, ["部门 source", "问题代码 code", "级别 severity", "数量 count"], head)
    counts = store.rows(
        "SELECT coalesce(source, '-'), code, severity, count(*) FROM issues "
        "WHERE year = ? AND (stage = 'validate' OR file_id IN "
        "(SELECT file_id FROM files WHERE status IN ('current', 'rejected'))) "
        "GROUP BY ALL ORDER BY 1, 3, 2",
        [year],
    )
    for i, row in enumerate(counts, start=1):
        summary.write_row(i, 0, row)
    summary.freeze_panes(1, 0)
    summary.set_column(0, 1, 22)

    match = wb.add_worksheet("匹配报告 match")
    match.write_row(0, 0, MATCH_HEADERS, head)
    rows = store.rows(
        "SELECT source, file, rows_stored, firms, matched, unmatched, duplicate_rows, "
        "duplicate_keys, missing_enterprises, quarantined FROM match_report WHERE year = ? "
        "ORDER BY source",
        [year],
    )
    for i, row in enumerate(rows, start=1):
        match.write_row(i, 0, row)
    match.freeze_panes(1, 0)

    sheet = wb.add_worksheet("问题清单 issues")
    sheet.write_row(0, 0, [h for _, h in ISSUE_HEADERS], head)
    sheet.freeze_panes(1, 0)
    widths = [10, 22, 10, 34, 14, 8, 26, 20, 22, 70, 22]
    for j, w in enumerate(widths):
        sheet.set_column(j, j, w)
    cols = ", ".join(c for c, _ in ISSUE_HEADERS)
    cursor = store.stream(
        f"SELECT {cols} FROM issues WHERE year = ? AND (stage = 'validate' OR file_id IN "
        "(SELECT file_id FROM files WHERE status IN ('current', 'rejected'))) "
        "ORDER BY CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, "
        "source, file, row_no NULLS FIRST, column_name",
        [year],
    )
    n = 0
    while batch := cursor.fetchmany(10000):
        for row in batch:
            n += 1
            for j, (name, _) in enumerate(ISSUE_HEADERS):
                v = row[j]
                if v is None:
                    continue
                if name in TEXT_COLUMNS:
                    sheet.write_string(n, j, str(v), text)
                else:
                    sheet.write(n, j, v)

    quarantine = wb.add_worksheet("隔离行 quarantined")
    quarantine.write_row(
        0, 0, ["部门 source", "文件 file", "行号 row", "问题 codes", "原始内容 raw cells"], head
    )
    qrows = store.rows(
        "SELECT q.source, f.name, q.row_no, q.codes, q.raw FROM quarantine q "
        "JOIN files f USING (file_id) WHERE q.year = ? AND f.status = 'current' "
        "ORDER BY q.source, q.row_no",
        [year],
    )
    for i, (src, fname, row_no, codes, raw) in enumerate(qrows, start=1):
        quarantine.write_string(i, 0, src)
        quarantine.write_string(i, 1, fname)
        quarantine.write_number(i, 2, row_no)
        quarantine.write_string(i, 3, codes or "")
        quarantine.write_string(i, 4, raw, text)
    try:
        wb.close()
    except (OSError, xlsxwriter.exceptions.FileCreateError) as exc:
        raise InputError(f"cannot write {path}: {exc}", "pass another --out") from exc
    return n

"""Write an assembled sheet as CSV (as Excel saves it) or XLSX (XlsxWriter, constant memory)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import xlsxwriter

from mujun.demo.sheet import ExcelDate, Sheet

Progress = Callable[[str, int, int], None]
# A fixed document date keeps generated workbooks byte-identical between runs.
CREATED = datetime(2024, 1, 15, 9, 0, 0)
CHUNK = 10_000


def write_sheet(sheet: Sheet, path: Path, progress: Progress | None = None) -> None:
    """Write ``sheet`` to ``path`` in the layout's format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if sheet.layout.fmt == "csv":
        write_csv(sheet, path, progress)
    else:
        write_xlsx(sheet, path, progress)


def _label(sheet: Sheet) -> str:
    return f"{sheet.layout.year} {sheet.layout.source}"


def write_csv(sheet: Sheet, path: Path, progress: Progress | None = None) -> None:
    """CSV with every line padded to the full width and CRLF line ends, as Excel writes it."""
    layout = sheet.layout
    width = len(layout.columns)
    pad = [""] * (width - 1)
    blank = [""] * width
    total = len(sheet.rows)
    label = _label(sheet)
    with path.open("w", encoding=layout.encoding, newline="") as fh:
        out = csv.writer(fh, lineterminator="\r\n")
        for title in layout.title_rows:
            out.writerow([title, *pad])
        out.writerow(sheet.upper)
        if sheet.lower is not None:
            out.writerow(sheet.lower)
        for start in range(0, total, CHUNK):
            chunk = sheet.rows[start : start + CHUNK]
            out.writerows(
                [("" if c is None else c) for c in row] if row else blank for row in chunk
            )
            if progress:
                progress(label, min(start + CHUNK, total), total)
    if progress and total == 0:
        progress(label, 0, 0)


def write_xlsx(sheet: Sheet, path: Path, progress: Progress | None = None) -> None:
    """XLSX with title rows, merged header cells, real date cells where the layout asks."""
    layout = sheet.layout
    width = len(layout.columns)
    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    wb.set_properties({"created": CREATED, "author": "mujun demo", "title": path.stem})
    ws = wb.add_worksheet(layout.sheet or "Sheet1")
    title_fmt = wb.add_format({"bold": True})
    head_fmt = wb.add_format({"bold": True, "border": 1, "align": "center", "valign": "vcenter"})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.set_column(0, width - 1, 16)
    r = 0
    for title in layout.title_rows:
        if layout.title_merge and width > 1:
            ws.merge_range(r, 0, r, width - 1, title, title_fmt)
        else:
            ws.write_string(r, 0, title, title_fmt)
        r += 1
    r = _write_header(ws, sheet, r, head_fmt)
    write_s, write_n = ws.write_string, ws.write_number
    total = len(sheet.rows)
    label = _label(sheet)
    for i, row in enumerate(sheet.rows):
        if row:
            for j, v in enumerate(row):
                t = type(v)
                if t is str:
                    write_s(r, j, v)
                elif t is ExcelDate:
                    write_n(r, j, v, date_fmt)
                elif v is not None:
                    write_n(r, j, v)
        r += 1
        if progress and (i + 1) % CHUNK == 0:
            progress(label, i + 1, total)
    wb.close()
    if progress:
        progress(label, total, total)


def _write_header(ws, sheet: Sheet, r: int, fmt) -> int:
    if sheet.lower is None:
        for j, text in enumerate(sheet.upper):
            ws.write_string(r, j, text, fmt)
        return r + 1
    in_merge = {j for a, b, _ in sheet.merges for j in range(a + 1, b + 1)}
    starts = {a: (b, text) for a, b, text in sheet.merges}
    v = sheet.layout.vmerge
    for j, text in enumerate(sheet.upper):
        if j in starts:
            b, group = starts[j]
            ws.merge_range(r, j, r, b, group, fmt)
        elif j not in in_merge and j != v:
            ws.write_string(r, j, text, fmt)
    # In constant-memory mode a row is flushed once a later row is touched, so the one
    # vertical merge (which also writes the cell below) must be the last write of the row.
    if v is not None:
        ws.merge_range(r, v, r + 1, v, sheet.upper[v], fmt)
    for j, text in enumerate(sheet.lower or []):
        if text:
            ws.write_string(r + 1, j, text, fmt)
        elif j != v:
            ws.write_blank(r + 1, j, None, fmt)
    return r + 2

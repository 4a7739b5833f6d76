"""One-sheet Excel workbooks for list exports: a header row, long codes written as text."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import xlsxwriter


@dataclass(frozen=True)
class Column:
    """A column of an export: its header, the row key, a width, and whether it is text."""

    header: str
    key: str
    width: int = 12
    text: bool = False


def xlsx_bytes(
    sheet: str,
    columns: Sequence[Column],
    rows: Iterable[dict],
    *,
    frozen_columns: int = 0,
    wrap_headers: bool = False,
    float_format: str | None = None,
) -> bytes:
    """A workbook with one sheet of ``rows``; text columns (credit codes) stay text. The header
    row (and the first ``frozen_columns``) stay in view; floats take ``float_format``."""
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = wb.add_worksheet(sheet[:31])
    head_format = {"bold": True, "bg_color": "#E8EEF7", "border": 1}
    if wrap_headers:
        head_format["text_wrap"] = True
    head = wb.add_format(head_format)
    text = wb.add_format({"num_format": "@"})
    number = wb.add_format({"num_format": float_format}) if float_format else None
    for c, col in enumerate(columns):
        ws.set_column(c, c, col.width, text if col.text else None)
        ws.write_string(0, c, col.header, head)
    for r, row in enumerate(rows, start=1):
        for c, col in enumerate(columns):
            value = row.get(col.key)
            if value is None or value == "":
                continue
            if col.text or isinstance(value, str):
                # write_string: never let Excel turn 913301… into 9.13301E+17.
                ws.write_string(r, c, str(value), text if col.text else None)
            elif isinstance(value, bool):
                ws.write_boolean(r, c, value)
            elif isinstance(value, float):
                ws.write_number(r, c, value, number)
            elif isinstance(value, int):
                ws.write_number(r, c, value)
            else:
                ws.write_string(r, c, str(value))
    ws.freeze_panes(1, frozen_columns)
    wb.close()
    return buffer.getvalue()

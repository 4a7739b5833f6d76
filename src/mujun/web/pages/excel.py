"""Excel downloads of list pages: one sheet, a header row, long codes written as text."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import xlsxwriter
from fastapi.responses import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    """A column of an export: its header, the row key, a width, and whether it is text."""

    header: str
    key: str
    width: int = 12
    text: bool = False


def xlsx_bytes(sheet: str, columns: Sequence[Column], rows: Iterable[dict]) -> bytes:
    """A workbook with one sheet of ``rows``; text columns (credit codes) stay text."""
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = wb.add_worksheet(sheet[:31])
    head = wb.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    text = wb.add_format({"num_format": "@"})
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
            elif isinstance(value, int | float):
                ws.write_number(r, c, value)
            else:
                ws.write_string(r, c, str(value))
    ws.freeze_panes(1, 0)
    wb.close()
    return buffer.getvalue()


def xlsx_response(content: bytes, filename: str) -> Response:
    """A download of ``content`` named ``filename`` (UTF-8 names, as RFC 6266 allows)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )

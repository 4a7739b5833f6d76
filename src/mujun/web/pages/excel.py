"""Excel downloads of list pages: one sheet, a header row, long codes written as text."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import Response

from mujun.xlsx import Column, xlsx_bytes

__all__ = ["XLSX", "Column", "xlsx_bytes", "xlsx_response"]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(content: bytes, filename: str) -> Response:
    """A download of ``content`` named ``filename`` (UTF-8 names, as RFC 6266 allows)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )

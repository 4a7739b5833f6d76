"""Read department files (XLSX, XLS, CSV in UTF-8/UTF-8-BOM/GB18030) into grids of text cells.

A grid keeps every physical row so that row numbers are those the spreadsheet shows: row ``i`` of
the grid is spreadsheet row ``i + 1``. Cells are strings (numbers as their shortest decimal text,
dates as ``YYYY-MM-DD HH:MM:SS``) or None when empty.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import pyarrow as pa
import pyarrow.compute as pc

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
CSV_SUFFIXES = {".csv", ".txt"}
SUPPORTED_SUFFIXES = SPREADSHEET_SUFFIXES | CSV_SUFFIXES


@dataclass
class Grid:
    """One sheet as text columns; ``columns[j][i]`` is the cell at row i+1, column j+1."""

    columns: list[pa.Array]
    nrows: int
    sheet: str | None
    encoding: str | None

    def row(self, i: int) -> list[str | None]:
        """The cells of grid row ``i`` (0-based) as Python strings."""
        return [c[i].as_py() for c in self.columns]


class UnreadableFile(Exception):
    """The file cannot be opened or decoded; carries a user-facing reason."""


def file_sha256(path: Path) -> str:
    """Content hash used to recognise a re-delivered identical file."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes as UTF-8 (with or without BOM) or else GB18030; return (text, encoding)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        # GB18030 is a superset of GBK and GB2312, so one decoder reads all three.
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"not UTF-8 and not GB18030/GBK text (bad byte at offset {exc.start})"
        ) from exc


def read_csv_grid(path: Path) -> Grid:
    """Parse a CSV file into a grid, detecting the encoding and the delimiter."""
    data = path.read_bytes()
    text, encoding = decode_text(data)
    sample = text[:8192]
    delimiter = ","
    if sample.count("\t") > sample.count(",") and sample.count("\t") > 0:
        delimiter = "\t"
    elif sample.count(";") > sample.count(",") * 2:
        delimiter = ";"
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    width = max((len(r) for r in rows), default=0)
    for r in rows:
        if len(r) < width:
            r.extend([""] * (width - len(r)))
    # An empty CSV field is an empty cell, as in a spreadsheet.
    null = pa.scalar(None, pa.string())
    columns = []
    for col in zip(*rows, strict=True) if rows else []:
        arr = pa.array(col, type=pa.string())
        columns.append(pc.if_else(pc.equal(arr, ""), null, arr))
    return Grid(columns, len(rows), None, encoding)


def read_spreadsheet_grids(path: Path) -> list[Grid]:
    """Read every visible sheet of an XLSX/XLS workbook with the Rust calamine reader."""
    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # the reader raises its own error types for corrupt files
        raise UnreadableFile(f"cannot open workbook: {str(exc).splitlines()[0]}") from exc
    grids = []
    for idx, name in enumerate(reader.sheet_names):
        try:
            sheet = reader.load_sheet(idx, header_row=None, skip_rows=0, dtypes="string")
            if sheet.visible != "visible":
                continue
            batch = sheet.to_arrow()
        except Exception as exc:
            raise UnreadableFile(f"cannot read sheet {name!r}: {str(exc).splitlines()[0]}") from exc
        cols = [batch.column(j).cast(pa.string()) for j in range(batch.num_columns)]
        grids.append(Grid(cols, batch.num_rows, name, None))
    return grids


def read_grids(path: Path) -> list[Grid]:
    """Read a department file into one grid per sheet (a CSV has one, with sheet None)."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return [read_csv_grid(path)]
    if suffix in SPREADSHEET_SUFFIXES:
        return read_spreadsheet_grids(path)
    raise UnreadableFile(f"unsupported file type {suffix or '(none)'}; expected XLSX, XLS or CSV")

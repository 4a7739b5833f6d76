"""Read department files (XLSX, XLS, CSV in UTF-8/UTF-8-BOM/GB18030) into grids of text cells.

A grid keeps every physical row so that row numbers are those the spreadsheet shows: row ``i`` of
the grid is spreadsheet row ``i + 1``. Cells are strings (numbers as their shortest decimal text,
dates as ``YYYY-MM-DD HH:MM:SS``) or None when empty.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

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
    """The file cannot be opened or decoded; carries a user-facing reason and an issue code."""

    def __init__(self, message: str, code: str = "unreadable-file") -> None:
        super().__init__(message)
        self.code = code


def file_sha256(path: Path) -> str:
    """Content hash used to recognise a re-delivered identical file."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes as UTF-8 (with or without BOM) or else GB18030; return (text, encoding)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export
        return data.decode("utf-16", errors="replace"), "utf-16"
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


HEAD_RECORDS = 40  # parsed in Python: title rows and headers may be ragged


def _sniff_delimiter(sample: str) -> str:
    if sample.count("\t") > sample.count(","):
        return "\t"
    if sample.count(";") > sample.count(",") * 2:
        return ";"
    return ","


def _columns_from_rows(rows: list[list[str]], width: int) -> list[pa.Array]:
    for r in rows:
        if len(r) < width:
            r.extend([""] * (width - len(r)))
    return [pa.array(col, type=pa.string()) for col in zip(*rows, strict=True)] if rows else []


def _null_empty(arr: pa.Array) -> pa.Array:
    # An empty CSV field is an empty cell, as in a spreadsheet.
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def read_csv_grid(path: Path) -> Grid:
    """Parse a CSV file into a grid, detecting the encoding and the delimiter.

    The first records (title rows, headers) go through Python's csv module, which accepts ragged
    rows; the rest through Arrow's CSV reader. A ragged data row sends the whole file down the
    Python path, so the grid is the same either way. UTF-8 files go to Arrow as bytes (Arrow
    checks the encoding); any other file is decoded in Python first.
    """
    raw = path.read_bytes()
    if not raw or raw.isspace():
        raise UnreadableFile("the file is empty / 空文件", "empty-file")
    grid = _read_utf8_bytes(raw)
    if grid is not None:
        return grid
    text, encoding = decode_text(raw)
    return _read_text(text, encoding)


_UTF8_BOM = b"\xef\xbb\xbf"


def _read_utf8_bytes(raw: bytes) -> Grid | None:
    """The grid of a UTF-8 file without decoding its data rows in Python; None when the file is
    not strictly UTF-8 or needs the Python path (then :func:`_read_text` decides)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    encoding, start = ("utf-8-sig", 3) if raw.startswith(_UTF8_BOM) else ("utf-8", 0)
    # The delimiter is sniffed on the first 8,192 characters, as in the text path.
    prefix = codecs.getincrementaldecoder("utf-8")()
    try:
        sample = prefix.decode(raw[start : start + 4 * 8192])[:8192]
    except UnicodeDecodeError:
        return None
    delimiter = _sniff_delimiter(sample)
    pos = start
    for _ in range(HEAD_RECORDS):
        nxt = raw.find(b"\n", pos)
        if nxt < 0:
            return None
        pos = nxt + 1
    if pos >= len(raw):
        return None
    try:
        head_text = raw[start:pos].decode("utf-8")
    except UnicodeDecodeError:
        return None
    head = list(csv.reader(io.StringIO(head_text, newline=""), delimiter=delimiter))
    if len(head) != HEAD_RECORDS:  # a quoted line break inside the head
        return None
    columns = _read_tail_fast(pa.py_buffer(memoryview(raw)[pos:]), head, delimiter)
    if columns is None:
        return None
    return Grid(columns, len(columns[0]) if columns else 0, None, encoding)


def _read_text(text: str, encoding: str) -> Grid:
    delimiter = _sniff_delimiter(text[:8192])
    pos = 0
    for _ in range(HEAD_RECORDS):
        nxt = text.find("\n", pos)
        if nxt < 0:
            pos = -1
            break
        pos = nxt + 1
    columns = None
    if pos > 0 and pos < len(text):
        head = list(csv.reader(io.StringIO(text[:pos], newline=""), delimiter=delimiter))
        if len(head) == HEAD_RECORDS:  # no quoted line break inside the head
            columns = _read_tail_fast(pa.py_buffer(text[pos:].encode("utf-8")), head, delimiter)
    if columns is None:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        width = max((len(r) for r in rows), default=0)
        columns = [_null_empty(c) for c in _columns_from_rows(rows, width)]
    nrows = len(columns[0]) if columns else 0
    return Grid(columns, nrows, None, encoding)


def _read_tail_fast(
    tail: pa.Buffer, head: list[list[str]], delimiter: str
) -> list[pa.Array] | None:
    """Head rows (parsed in Python) followed by the tail parsed by Arrow, empty cells as nulls;
    None when a tail row is ragged or the tail is not valid UTF-8."""
    width = max(len(r) for r in head)
    names = [f"c{j}" for j in range(width)]
    ragged: list[int] = []

    def on_invalid(row) -> str:
        ragged.append(1)
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(tail),
            # One thread per file: files are already read two at a time.
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                # An empty CSV field, quoted or not, is an empty cell as in a spreadsheet.
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid:
        return None
    if ragged:
        return None
    head_cols = [_null_empty(c) for c in _columns_from_rows(head, width)]
    return [
        pa.chunked_array([h, *t.chunks], pa.string()).combine_chunks()
        for h, t in zip(head_cols, table.columns, strict=True)
    ]


def read_spreadsheet_grids(path: Path) -> list[Grid]:
    """Read every visible sheet of an XLSX/XLS workbook with the Rust calamine reader."""
    data = path.read_bytes()
    if not data:
        raise UnreadableFile("the file is empty (0 bytes) / 空文件", "empty-file")
    try:
        # From the bytes, so the format is taken from the content: an .xls renamed .xlsx reads.
        reader = fastexcel.read_excel(data)
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

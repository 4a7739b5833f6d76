"""Vectorised cell parsers: a column of text cells in, typed values and per-cell problems out.

No Python loop per row: pyarrow compute kernels do the work; Python only loops over the distinct
values of low-cardinality columns (yes/no flags, division and industry codes, choices).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Cells that mean "no value" in department files: blank, dashes and slashes.
MISSING_MARKERS = ["-", "--", "—", "——", "－", "/", "\\", "N/A", "NA", "#N/A", "NULL", "空"]

_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_THOUSANDS = r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$"
_DATE_YMD = r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?(?:\s+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_DATE_ISO = r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$"
_DATE_COMPACT = r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"
_DATE_SERIAL = r"^\d{3,5}(\.0+)?$"
_SCI_CODE = r"^\d(\.\d+)?E\+?\d{1,2}$"
_FLOAT_CODE = r"^\d{6,}\.\d*$"
_ZERO_TAIL_CODE = r"^\d{12,}0{5}$"
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")


@dataclass
class Parsed:
    """Typed values plus masks: ``blank`` (no value given) and ``bad`` (given but unreadable)."""

    values: pa.Array
    blank: np.ndarray
    bad: np.ndarray
    code: str = "type-error"
    # Optional per-row detail for bad cells (same length as values; None elsewhere).
    detail: list[str | None] | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)


def to_mask(arr: pa.Array) -> np.ndarray:
    """A boolean pyarrow array (nulls as False) as a numpy bool array."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def clean_text(raw: pa.Array, *, fold: bool = True) -> pa.Array:
    """Trim and null empty cells; with ``fold``, NFKC-normalise first (full-width digits and
    letters to ASCII), which codes, numbers and dates need and free text does not."""
    s = raw.cast(pa.string())
    if fold:
        s = pc.utf8_normalize(s, "NFKC")
    s = pc.utf8_trim_whitespace(s)
    return pc.if_else(pc.equal(s, ""), pa.scalar(None, pa.string()), s)


def _blank_mask(s: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Null out missing markers; return the cleaned array and the blank mask."""
    marker = pc.is_in(pc.utf8_upper(s), value_set=pa.array(MISSING_MARKERS))
    s = pc.if_else(marker, pa.scalar(None, pa.string()), s)
    return s, to_mask(pc.is_null(s))


def parse_text(raw: pa.Array) -> Parsed:
    """Free text: trimmed (not NFKC-folded: names keep their characters); never bad."""
    s = clean_text(raw, fold=False)
    blank = to_mask(pc.is_null(s))
    return Parsed(s, blank, np.zeros(len(s), dtype=bool))


def _plain_rows(s: pa.Array, pattern: str) -> tuple[pa.Array, np.ndarray]:
    """Rows matching ``pattern`` (the common, plain spelling) and the indices of the other
    non-empty rows, which alone go through the slower general parser."""
    plain = pc.fill_null(pc.match_substring_regex(s, pattern), False)
    rest = np.flatnonzero(~to_mask(plain) & ~to_mask(pc.is_null(s)))
    return plain, rest


def scatter(values: pa.Array, rows: np.ndarray, replacements: pa.Array) -> pa.Array:
    """``values`` with the cells at ``rows`` (ascending) replaced by ``replacements``."""
    mask = np.zeros(len(values), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(values, pa.array(mask), replacements.cast(values.type))


def parse_number(raw: pa.Array, *, integer: bool = False) -> Parsed:
    """Decimal numbers with optional thousands separators; text in the cell is a type error."""
    s = clean_text(raw)
    # A plain decimal is never a missing marker, an accounting negative or a thousands form, so
    # only the other cells (few in practice) take the general path.
    plain, rest = _plain_rows(s, _NUMBER)
    values = pc.cast(pc.if_else(plain, s, pa.scalar(None, pa.string())), pa.float64())
    blank = to_mask(pc.is_null(s))
    bad = np.zeros(len(s), dtype=bool)
    if rest.size:
        sub_values, sub_blank, sub_bad = _parse_number_general(pc.take(s, pa.array(rest)))
        values = scatter(values, rest, sub_values)
        blank[rest], bad[rest] = sub_blank, sub_bad
    if integer:
        vals = values.to_numpy(zero_copy_only=False)
        frac = np.zeros(len(vals), dtype=bool)
        finite = ~np.isnan(vals)
        frac[finite] = vals[finite] != np.floor(vals[finite])
        bad = bad | frac
        values = pa.array(np.where(bad, np.nan, vals), from_pandas=True).cast(pa.float64())
    return Parsed(values, blank, bad)


def _parse_number_general(s: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    s, blank = _blank_mask(s)
    # Accounting notation for negatives: (12,345.00) means −12,345.00.
    paren = pc.fill_null(pc.match_substring_regex(s, r"^\(\s*[\d,.]+\s*\)$"), False)
    s = pc.if_else(paren, pc.binary_join_element_wise("-", pc.utf8_trim(s, "() "), ""), s)
    thousands = pc.fill_null(pc.match_substring_regex(s, _THOUSANDS), False)
    s = pc.if_else(thousands, pc.replace_substring(s, ",", ""), s)
    ok = pc.fill_null(pc.match_substring_regex(s, _NUMBER), False)
    values = pc.cast(pc.if_else(ok, s, pa.scalar(None, pa.string())), pa.float64())
    return values, blank, ~blank & ~to_mask(ok)


def _ymd_to_dates(y: pa.Array, m: pa.Array, d: pa.Array) -> pa.Array:
    """Build dates from text year/month/day parts; impossible dates (2月30日) become null."""
    text = pc.binary_join_element_wise(y, pc.utf8_lpad(m, 2, "0"), pc.utf8_lpad(d, 2, "0"), "-")
    return _iso_to_dates(text, m, d)


def _iso_to_dates(text: pa.Array, m: pa.Array, d: pa.Array) -> pa.Array:
    ts = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls 2月30日 over into March; a date whose month or day moved is not a date.
    same = pc.and_(
        pc.equal(pc.month(ts), pc.cast(m, pa.int64())),
        pc.equal(pc.day(ts), pc.cast(d, pa.int64())),
    )
    return pc.if_else(pc.fill_null(same, False), pc.cast(ts, pa.date32()), None)


def parse_date(raw: pa.Array) -> Parsed:
    """Dates as 2019-03-05, 2019/3/5, 2019年3月5日, 20190305, Excel serials or date cells.

    A date column repeats its values (about 14,000 distinct founding dates among 113,000
    firms), so each distinct cell is parsed once."""
    return _per_distinct(raw, _parse_date_cells)


def _parse_date_cells(raw: pa.Array) -> Parsed:
    s = clean_text(raw)
    # ISO dates (and the date-time text of spreadsheet date cells) are read directly; the other
    # spellings, markers and serials take the general path.
    plain, rest = _plain_rows(s, _DATE_ISO)
    iso = pc.utf8_slice_codeunits(pc.if_else(plain, s, pa.scalar(None, pa.string())), 0, 10)
    out = _iso_to_dates(
        iso, pc.utf8_slice_codeunits(iso, 5, 7), pc.utf8_slice_codeunits(iso, 8, 10)
    )
    blank = to_mask(pc.is_null(s))
    if rest.size:
        sub_out, sub_blank = _parse_date_general(pc.take(s, pa.array(rest)))
        out = scatter(out, rest, sub_out)
        blank[rest] = sub_blank
    # Dates before 1900 or in the far future are typos, not facts.
    low, high = pa.scalar(date(1900, 1, 1)), pa.scalar(date(2100, 12, 31))
    in_range = pc.and_(pc.greater_equal(out, low), pc.less_equal(out, high))
    out = pc.if_else(pc.fill_null(in_range, False), out, pa.scalar(None, pa.date32()))
    bad = ~blank & to_mask(pc.is_null(out))
    return Parsed(out, blank, bad)


def _parse_date_general(s: pa.Array) -> tuple[pa.Array, np.ndarray]:
    s, blank = _blank_mask(s)
    n = len(s)
    out = pa.nulls(n, pa.date32())
    for pattern in (_DATE_YMD, _DATE_COMPACT):
        parts = pc.extract_regex(s, pattern)
        # struct_field (unlike .field) keeps the nulls of rows the pattern did not match.
        got = _ymd_to_dates(*(pc.struct_field(parts, k) for k in ("y", "m", "d")))
        out = pc.coalesce(out, got)
    serial_ok = pc.fill_null(pc.match_substring_regex(s, _DATE_SERIAL), False)
    serial = pc.cast(pc.if_else(serial_ok, s, pa.scalar(None, pa.string())), pa.float64())
    sv = serial.to_numpy(zero_copy_only=False)
    valid = ~np.isnan(sv) & (sv >= 1) & (sv <= 80000)
    days = np.where(valid, sv, 0).astype("int64")
    dates = (_EXCEL_EPOCH + days.astype("timedelta64[D]")).astype("datetime64[D]")
    serial_dates = pa.array(dates, type=pa.date32(), mask=~valid)
    return pc.coalesce(out, serial_dates), blank


def map_distinct(
    s: pa.Array, func: Callable[[str], object | None], out_type: pa.DataType
) -> pa.Array:
    """Apply ``func`` once per distinct value and spread the results back (None → null)."""
    if len(s) == 0:
        return pa.array([], type=out_type)
    enc = pc.dictionary_encode(s)
    dictionary = enc.dictionary.to_pylist()
    mapped = pa.array([func(v) for v in dictionary], type=out_type)
    return pc.take(mapped, enc.indices)


_TRUE = {"是", "Y", "YES", "1", "TRUE", "T", "规上", "是规上", "规模以上", "√", "1.0"}
_FALSE = {"否", "N", "NO", "0", "FALSE", "F", "规下", "非规上", "规模以下", "×", "0.0"}


def _bool_of(v: str) -> bool | None:
    u = v.upper()
    if u in _TRUE:
        return True
    if u in _FALSE:
        return False
    return None


def _per_distinct(raw: pa.Array, parse: Callable[[pa.Array], Parsed]) -> Parsed:
    """``parse`` (elementwise) run over the distinct cells only and spread back: a flag, choice
    or code column holds few distinct values, so text cleaning runs over a handful of cells
    (and a date column over far fewer cells than rows)."""
    enc = pc.dictionary_encode(raw.cast(pa.string()))
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    distinct = parse(enc.dictionary)
    empty = to_mask(pc.is_null(enc.indices))  # an empty cell: blank, never bad
    at = enc.indices.fill_null(0).to_numpy(zero_copy_only=False)
    if len(enc.dictionary) == 0:
        at = np.zeros(len(raw), dtype=np.int64)
        distinct = Parsed(pa.nulls(1, distinct.values.type), np.ones(1, bool), np.zeros(1, bool))
    values = pc.if_else(pa.array(empty), pa.scalar(None, distinct.values.type),
                        pc.take(distinct.values, pa.array(at)))  # fmt: skip
    blank = empty | distinct.blank[at]
    bad = ~empty & distinct.bad[at]
    return Parsed(values, blank, bad, code=distinct.code)


def parse_bool(raw: pa.Array) -> Parsed:
    """Yes/no flags: 是/否, Y/N, 1/0, TRUE/FALSE, 规上/规下."""

    def parse(cells: pa.Array) -> Parsed:
        s, blank = _blank_mask(clean_text(cells))
        values = map_distinct(s, _bool_of, pa.bool_())
        bad = ~blank & to_mask(pc.is_null(values))
        return Parsed(values, blank, bad, code="type-error")

    return _per_distinct(raw, parse)


def parse_choice(raw: pa.Array, choices: dict[str, str]) -> Parsed:
    """A value from a fixed list (e.g. 自有 → own); anything else is ``invalid-choice``."""
    norm = {k.strip(): v for k, v in choices.items()}

    def parse(cells: pa.Array) -> Parsed:
        s, blank = _blank_mask(clean_text(cells))
        values = map_distinct(s, lambda v: norm.get(v), pa.string())
        bad = ~blank & to_mask(pc.is_null(values))
        return Parsed(values, blank, bad, code="invalid-choice")

    return _per_distinct(raw, parse)


def parse_code(raw: pa.Array, normalise: Callable[[str], str | None], code: str) -> Parsed:
    """A reference code (division, industry) normalised by ``normalise``; unknown ones are bad."""

    def parse(cells: pa.Array) -> Parsed:
        s, blank = _blank_mask(clean_text(cells))
        values = map_distinct(s, normalise, pa.string())
        bad = ~blank & to_mask(pc.is_null(values))
        return Parsed(values, blank, bad, code=code)

    return _per_distinct(raw, parse)


def mangled_code_mask(s: pa.Array) -> np.ndarray:
    """Credit codes that Excel turned into numbers (``9.13301E+17``, ``913301000000000000``)."""
    hit = pc.or_(
        pc.match_substring_regex(s, _SCI_CODE, ignore_case=True),
        pc.match_substring_regex(s, _FLOAT_CODE),
    )
    hit = pc.or_(hit, pc.match_substring_regex(s, _ZERO_TAIL_CODE))
    return to_mask(hit)

"""Turn canonical records plus a layout and defects into the cells of one department file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mujun.demo.defects import KEEP, Defect, factor_for
from mujun.demo.layout import Column, Layout
from mujun.demo.records import Records

EXCEL_EPOCH = np.datetime64("1899-12-30", "D")


class ExcelDate(float):
    """An Excel date serial: written as a number with a date format."""


@dataclass
class Sheet:
    """Everything a writer needs: header rows, merges and data rows (blank rows are [])."""

    layout: Layout
    upper: list[str]  # the header row, or the upper row of a two-row header
    lower: list[str] | None
    merges: list[tuple[int, int, str]]  # (first column, last column, text) in the upper row
    rows: list[Any]  # tuples or lists of cells; [] for a blank row
    defects: list[Defect]
    firms: np.ndarray  # firm index per record (in sheet order; -1 - j for spare firms)
    row_of: np.ndarray  # spreadsheet row number per record

    @property
    def header_rows(self) -> int:
        """1 or 2."""
        return 1 if self.lower is None else 2

    @property
    def first_data_row(self) -> int:
        """Spreadsheet row number (1-based) of the first row below the header."""
        return len(self.layout.title_rows) + self.header_rows + 1


def _ymd(dates: np.ndarray) -> tuple[list[int], list[int], list[int]]:
    d = dates.astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return y.tolist(), m.tolist(), day.tolist()


def _dates(values: np.ndarray, style: str, mix: str | None, rng, clean: np.ndarray) -> list[Any]:
    n = len(values)
    nat = np.isnat(values)
    y, m, d = _ymd(np.where(nat, np.datetime64("2000-01-01"), values))
    serial = (values.astype("datetime64[D]") - EXCEL_EPOCH).astype(np.int64).tolist()
    styles = np.full(n, style, dtype=object)
    if mix is not None:
        styles[(rng.random(n) < 0.15) & ~clean] = mix
    out: list[Any] = []
    for i in range(n):
        s = styles[i]
        if nat[i]:
            out.append(None)
        elif s == "iso":
            out.append(f"{y[i]:04d}-{m[i]:02d}-{d[i]:02d}")
        elif s == "slash":
            out.append(f"{y[i]}/{m[i]}/{d[i]}")
        elif s == "cn":
            out.append(f"{y[i]}年{m[i]}月{d[i]}日")
        elif s == "compact":
            out.append(f"{y[i]:04d}{m[i]:02d}{d[i]:02d}")
        else:
            out.append(ExcelDate(serial[i]))
    return out


def format_number(value: float, decimals: int, fmt: str, thousands: bool = False) -> Any:
    """One number as written: a float/int cell (XLSX) or its text (CSV)."""
    if value != value:  # NaN: no value
        return None
    if fmt == "xlsx" and not thousands:
        return round(float(value)) if decimals == 0 else round(float(value), decimals)
    return f"{value:,.{decimals}f}" if thousands else f"{value:.{decimals}f}"


def _numbers(col: Column, values: np.ndarray, layout: Layout, rng, clean: np.ndarray) -> list[Any]:
    n = len(values)
    vals = np.round(values.astype(float) * factor_for(layout, col.field or ""), col.decimals)
    # A whole file with separators keeps them on defect rows too; a sprinkle avoids those rows.
    sep = (rng.random(n) < layout.thousands) & (~clean | (layout.thousands >= 1.0))
    pad = (rng.random(n) < layout.spaces) & ~clean
    d = col.decimals
    if layout.fmt == "xlsx":
        base: list[Any] = vals.astype(np.int64).tolist() if d == 0 else vals.tolist()
    else:
        base = [f"{v:.{d}f}" for v in vals.tolist()]
    nan = np.isnan(vals)
    for i in np.flatnonzero(nan).tolist():
        base[i] = None
    for i in np.flatnonzero(sep & ~nan).tolist():
        base[i] = f"{vals[i]:,.{d}f}"
    for i in np.flatnonzero(pad & ~nan).tolist():
        base[i] = f" {base[i]} " if isinstance(base[i], str) else f" {base[i]:.{d}f} "
    return base


def _texts(
    values: np.ndarray, layout: Layout, rng, clean: np.ndarray, pad_share: float
) -> list[Any]:
    out = [v if v != "" else None for v in values.tolist()]
    pad = (rng.random(len(out)) < pad_share) & ~clean
    for i in np.flatnonzero(pad).tolist():
        if out[i] is not None:
            out[i] = f" {out[i]}" if i % 2 else f"{out[i]} "
    return out


def format_columns(
    layout: Layout, recs: Records, rng: np.random.Generator, clean: np.ndarray
) -> list[list[Any]]:
    """Cells of every column, in record order (messiness only on rows not in ``clean``)."""
    cols: list[list[Any]] = []
    n = len(recs)
    for col in layout.columns:
        if col.kind == "seq":
            seq = range(1, n + 1)
            cols.append(list(seq) if layout.fmt == "xlsx" else [str(i) for i in seq])
            continue
        values = recs.data[col.field]
        if col.kind == "code":
            cols.append(_texts(values, layout, rng, clean, layout.spaces * 0.3))
        elif col.kind == "text":
            cols.append(_texts(values, layout, rng, clean, layout.spaces))
        elif col.kind in ("number", "int"):
            cols.append(_numbers(col, values, layout, rng, clean))
        elif col.kind == "date":
            cols.append(_dates(values, layout.date_style, layout.date_mix, rng, clean))
        elif col.kind == "flag":
            yes, no = layout.flag
            cols.append([yes if v else no for v in values.tolist()])
        elif col.kind == "industry":
            codes = values.tolist()
            cols.append(codes if layout.industry_letter else [c[1:] for c in codes])
        elif col.kind == "tenure":
            own, leased = layout.tenure_words
            cols.append([leased if v else own for v in values.tolist()])
        else:  # pragma: no cover
            raise ValueError(col.kind)
    return cols


def _order(layout: Layout, recs: Records, rng) -> np.ndarray:
    if layout.order == "uscc":
        return np.argsort(recs.data["uscc"].astype(str), kind="stable")
    if layout.order == "county":
        keys = np.array([c[2:8] for c in recs.data["uscc"].tolist()])
        return np.lexsort((recs.data["name"].astype(str), keys))
    return rng.permutation(len(recs))


def assemble(
    layout: Layout, recs: Records, defects: list[Defect], rng: np.random.Generator
) -> Sheet:
    """Order rows, format cells, apply defects, add copies, blank rows and the totals row."""
    order = _order(layout, recs, rng)
    recs = recs.take(order)
    where = np.empty(len(order), dtype=np.int64)
    where[order] = np.arange(len(order))
    for d in defects:
        if d.rec is not None:
            d.rec = int(where[d.rec])
    clean = np.zeros(len(recs), dtype=bool)
    clean[[d.rec for d in defects if d.rec is not None]] = True
    cols = format_columns(layout, recs, rng, clean)
    for d in defects:
        if d.rec is not None and d.text is not KEEP:
            cols[layout.column_of(d.field)][d.rec] = d.text
    rows: list[Any] = list(zip(*cols, strict=True)) if cols else []
    n = len(rows)

    # Copies go after their original; blank rows somewhere in the middle.
    keys = [float(i) for i in range(n)]
    items: list[Any] = list(rows)
    copies: dict[int, Defect] = {}
    for d in defects:
        if d.kind not in ("duplicate-row", "duplicate-key"):
            continue
        copy = list(rows[d.rec])
        if d.kind == "duplicate-key":
            j = layout.column_of(d.dup_field)
            col = layout.columns[j]
            value = recs.data[d.dup_field][d.rec] * d.dup_factor * factor_for(layout, d.dup_field)
            copy[j] = format_number(value, col.decimals, layout.fmt, layout.thousands >= 1.0)
        copies[len(items)] = d
        items.append(copy)
        keys.append(float(rng.uniform(d.rec + 0.25, n)))
    for _ in range(layout.blank_rows if n >= 4 else 0):
        items.append([])
        keys.append(float(rng.uniform(0.2 * n, 0.8 * n)) + 0.5)
    final = np.argsort(np.array(keys), kind="stable").tolist()
    out_rows = [items[i] for i in final]
    position = np.empty(len(final), dtype=np.int64)
    position[final] = np.arange(len(final))

    upper, lower, merges = _header(layout)
    first = len(layout.title_rows) + (1 if lower is None else 2) + 1
    sheet = Sheet(layout, upper, lower, merges, out_rows, defects, recs.firm, first + position[:n])
    for item, d in copies.items():
        d.rec = None
        d.row = first + int(position[item])
    for d in defects:
        if d.row is None and d.rec is not None:
            d.row = first + int(position[d.rec])
    if layout.totals:
        out_rows.append(_totals(layout, out_rows))
    _resolve(sheet)
    return sheet


def _header(layout: Layout) -> tuple[list[str], list[str] | None, list[tuple[int, int, str]]]:
    if not layout.two_row:
        return [c.text for c in layout.columns], None, []
    upper, lower, merges = [], [], []
    for j, c in enumerate(layout.columns):
        if c.group:
            start = j == 0 or layout.columns[j - 1].group != c.group
            upper.append(c.group if start else "")
            lower.append(c.text)
            if start:
                end = j
                while end + 1 < len(layout.columns) and layout.columns[end + 1].group == c.group:
                    end += 1
                merges.append((j, end, c.group))
        else:
            upper.append(c.text)
            lower.append("")
    return upper, lower, merges


def _as_number(cell: Any) -> float | None:
    t = type(cell)
    if t is int or t is float:
        return cell
    if t is str:
        try:
            return float(cell.replace(",", ""))
        except ValueError:
            return None
    return None


def _totals(layout: Layout, rows: list[Any]) -> list[Any]:
    """合计 in the first column, sums of the numeric columns, everything else blank."""
    total: list[Any] = [None] * len(layout.columns)
    for j, col in enumerate(layout.columns):
        if col.kind not in ("number", "int"):
            continue
        s = sum(x for x in (_as_number(r[j]) for r in rows if r) if x is not None)
        total[j] = format_number(s, col.decimals, layout.fmt)
    total[0] = "合计"
    return total


def _resolve(sheet: Sheet) -> None:
    """Fill each defect's column name and the cell value as written."""
    layout = sheet.layout
    first = sheet.first_data_row
    for d in sheet.defects:
        if d.row is None:
            if d.cause is not None:
                d.note = f"induced by {d.cause.kind} at row {d.cause.row}"
            continue
        j = layout.column_of(d.field or "uscc")
        d.column = layout.columns[j].name
        d.value = sheet.rows[d.row - first][j]

"""Find the header of a department sheet: below title rows, over one or two rows.

The header is the row (or pair of rows, for a two-row header with merged cells) whose cells match
the most canonical fields of a profile and carry its whole signature. Units come from the header
cell (``实缴税金（元）``), else from a title row (``单位：千元``), else the profile's default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from mujun.ingest.profiles import SourceProfile
from mujun.ingest.reader import Grid
from mujun.ingest.units import (
    canonical_unit,
    normalise_header,
    split_header_unit,
    strip_notes,
    unit_dimension,
    unit_in_title,
)

SCAN_ROWS = 30
_COLUMN_NUMBER = re.compile(r"^([甲乙丙丁戊己庚辛壬癸]|\d{1,2})$")


@dataclass
class Header:
    """Where the header is and what each column means."""

    top: int  # 0-based grid row of the first header row
    rows: int  # 1 or 2
    fields: dict[str, int]  # canonical field -> column index
    names: list[str]  # header text per column, as the file shows it (joined for two rows)
    units: dict[str, str] = field(default_factory=dict)  # numeric field -> unit as delivered
    unit_sources: dict[str, str] = field(default_factory=dict)  # field -> header/title/default
    bad_units: dict[str, str] = field(default_factory=dict)  # field -> unit text of the wrong kind
    duplicate_columns: list[tuple[str, int]] = field(default_factory=list)
    extra_units: dict[int, str] = field(default_factory=dict)  # duplicate column -> its unit
    title_texts: list[str] = field(default_factory=list)

    @property
    def data_start(self) -> int:
        """0-based grid row of the first data row."""
        return self.top + self.rows


def _text(cell: str | None) -> str:
    return "" if cell is None else str(cell).strip()


def _fill_merged(upper: list[str], lower: list[str]) -> list[str]:
    """Spread a merged upper cell over the lower-row headers it spans (blank to its right)."""
    out = list(upper)
    for j in range(1, len(out)):
        if not out[j] and lower[j] and lower[j - 1] and out[j - 1]:
            out[j] = out[j - 1]
    return out


@lru_cache(maxsize=1 << 16)
def _header_keys(text: str) -> tuple[str, str]:
    # Every profile looks at the same cells of the first rows, so each is normalised once.
    return normalise_header(text), normalise_header(strip_notes(text))


def _lookup(idx: dict[str, str], text: str) -> str | None:
    # Exact alias first; then without bracketed notes such as （18位） or （必填）.
    exact, without_notes = _header_keys(text)
    return idx.get(exact) or idx.get(without_notes)


def _match_cell(profile: SourceProfile, upper: str, lower: str) -> str | None:
    idx = profile.alias_index
    if lower:
        return _lookup(idx, lower) or _lookup(idx, upper + lower)
    return _lookup(idx, upper) if upper else None


def _column_names(upper: list[str], lower: list[str] | None) -> list[str]:
    if lower is None:
        return upper
    names = []
    for u, lo in zip(upper, lower, strict=True):
        names.append(f"{u}/{lo}" if u and lo else (u or lo))
    return names


def _match_rows(
    profile: SourceProfile, upper: list[str], lower: list[str] | None
) -> tuple[dict[str, int], list[tuple[str, int]]]:
    fields: dict[str, int] = {}
    dups: list[tuple[str, int]] = []
    up = _fill_merged(upper, lower) if lower is not None else upper
    for j, u in enumerate(up):
        f = _match_cell(profile, u, lower[j] if lower is not None else "")
        if f is None:
            continue
        if f in fields:
            dups.append((f, j))
        else:
            fields[f] = j
    return fields, dups


def find_header(grid: Grid, profile: SourceProfile) -> Header | None:
    """Locate the header for ``profile`` in the first rows of ``grid``; None if absent."""
    n = min(SCAN_ROWS, grid.nrows)
    rows = [[_text(c) for c in grid.row(i)] for i in range(n)]
    # Rank by fields matched, then one header row over two (a title row above the header must
    # not pass for the upper half of a two-row header), then the earliest row.
    best: tuple[int, int, int] | None = None
    best_match = None
    signature = set(profile.match.signature)
    for top in range(n):
        options = [(1, None)]
        if top + 1 < n:
            options.append((2, rows[top + 1]))
        for nrows, lower in options:
            fields, dups = _match_rows(profile, rows[top], lower)
            if not signature.issubset(fields):
                continue
            key = (len(fields), -nrows, -top)
            if best is None or key > best:
                best, best_match = key, (top, nrows, fields, dups, lower)
    if best_match is None:
        return None
    top, nrows, fields, dups, lower = best_match
    upper = rows[top]
    names = _column_names(_fill_merged(upper, lower) if lower else upper, lower)
    header = Header(top, nrows, fields, names, duplicate_columns=dups)
    header.title_texts = [" ".join(c for c in r if c) for r in rows[:top] if any(r)]
    # Rows right below the header that only carry units (千元 | 人 | 吨标准煤) or column numbers
    # (甲 乙 1 2 3 …) belong to the header, not to the data.
    unit_row: list[str] | None = None
    for _ in range(2):
        r = top + header.rows
        if r >= n:
            break
        cells = [c for c in rows[r] if c]
        if len(cells) >= 2 and all(canonical_unit(c) for c in cells):
            unit_row = rows[r]
            header.rows += 1
        elif len(cells) >= 3 and all(_COLUMN_NUMBER.match(c) for c in cells):
            header.rows += 1
        else:
            break
    _resolve_units(header, profile, upper, lower, unit_row)
    return header


def _resolve_units(
    header: Header,
    profile: SourceProfile,
    upper: list[str],
    lower: list[str] | None,
    unit_row: list[str] | None = None,
) -> None:
    filled = _fill_merged(upper, lower) if lower else upper
    title_units = [u for u in (unit_in_title(t) for t in header.title_texts) if u]
    columns = [(name, j, False) for name, j in header.fields.items()]
    columns += [(name, j, True) for name, j in header.duplicate_columns]
    for name, j, dup in columns:
        spec = profile.fields[name]
        if spec.unit is None:
            continue
        if dup:
            # A second column for a quantity (面积（亩） next to 面积（平方米）) fills the first's
            # empty cells, in its own unit.
            dim = unit_dimension(spec.unit)
            unit = None
            for part in ([lower[j]] if lower else []) + [filled[j]]:
                _, raw_unit = split_header_unit(part)
                if raw_unit:
                    unit = canonical_unit(raw_unit)
                    break
            if unit is not None and unit_dimension(unit) == dim:
                header.extra_units[j] = unit
            continue
        dim = unit_dimension(spec.unit)
        found = None
        for part in ([lower[j]] if lower else []) + [filled[j]]:
            _, raw_unit = split_header_unit(part)
            if raw_unit:
                found = canonical_unit(raw_unit)
                break
        if found is None and unit_row is not None and j < len(unit_row):
            found = canonical_unit(unit_row[j])
        if found is not None:
            if unit_dimension(found) != dim:
                header.bad_units[name] = found
                continue
            header.units[name], header.unit_sources[name] = found, "header"
            continue
        title = next((u for u in title_units if unit_dimension(u) == dim), None)
        if title is not None:
            header.units[name], header.unit_sources[name] = title, "title"
        else:
            header.units[name] = spec.default_unit or spec.unit
            header.unit_sources[name] = "default"

"""Defects injected into department files, each named by the issue code the ingest must report.

Per file and kind, ``max(2, round(defect_rate * rows))`` defects (none when the rate is 0), on
rows of firms not otherwise touched that year (no other defect, no legitimate edge case, not
on a shared parcel). Kinds per department:

- register: unknown-division, unknown-industry
- tax, stats: bad-credit-code, duplicate-row, duplicate-key, missing-enterprise,
  unknown-enterprise, type-error, missing-value, unit-mismatch
- power: bad-credit-code, duplicate-row, missing-enterprise, unknown-enterprise, type-error,
  missing-value, implausible-value
- env: duplicate-row, unknown-enterprise, type-error
- land: bad-credit-code, missing-enterprise, unknown-enterprise, type-error, missing-value,
  unit-mismatch, implausible-value
- water: unknown-enterprise, type-error, missing-value
- mangled-credit-code in one or two of tax, stats, power and land each year.

A corrupted credit code on a firm's only row leaves that firm absent from a department that
must report it, so an extra ``missing-enterprise`` is recorded with note ``induced by …``.
Rows whose firm is not in the register (bad or mangled code, unknown enterprise) carry values
near the file's median so that, grouped together by the ingest, they stay plausible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mujun.demo.layout import FACTOR_FROM_CANONICAL, Layout
from mujun.demo.population import POLLUTANTS, Population
from mujun.demo.records import Records
from mujun.reference import ALPHABET, division_status, is_known_industry, uscc_check_char

KINDS_BY_SOURCE = {
    "register": ("unknown-division", "unknown-industry"),
    "tax": ("bad-credit-code", "duplicate-row", "duplicate-key", "missing-enterprise",
            "unknown-enterprise", "type-error", "missing-value", "unit-mismatch"),
    "stats": ("bad-credit-code", "duplicate-row", "duplicate-key", "missing-enterprise",
              "unknown-enterprise", "type-error", "missing-value", "unit-mismatch"),
    "power": ("bad-credit-code", "duplicate-row", "missing-enterprise", "unknown-enterprise",
              "type-error", "missing-value", "implausible-value"),
    "env": ("duplicate-row", "unknown-enterprise", "type-error"),
    "land": ("bad-credit-code", "missing-enterprise", "unknown-enterprise", "type-error",
             "missing-value", "unit-mismatch", "implausible-value"),
    "water": ("unknown-enterprise", "type-error", "missing-value"),
    "events": (),
}  # fmt: skip
MANGLE_SOURCES = ("tax", "stats", "power", "land")
MUST_REPORT = ("tax", "stats", "power", "land")
NUMERIC = {
    "tax": ("tax_paid",),
    "stats": ("value_added", "revenue", "employees", "energy"),
    "power": ("electricity",),
    "env": POLLUTANTS,
    "land": ("area",),
    "water": ("water",),
}
TYPE_FIELDS = {**NUMERIC, "stats": ("value_added", "revenue", "employees", "energy", "rd"),
               "land": ("area", "supply_date")}  # fmt: skip
REQUIRED = {k: v for k, v in NUMERIC.items() if k != "env"}
UNIT_FIELDS = {"tax": ("tax_paid",), "stats": ("value_added", "revenue"), "land": ("area",)}
IMPLAUSIBLE_FIELDS = {"power": ("electricity",), "land": ("area",)}
DUP_KEY_FIELD = {"tax": "tax_paid", "stats": "value_added"}
TYPE_TEXTS = ("暂无", "见附件", "12..5", "1.2.3", "约300")
BAD_DIVISIONS = tuple(
    c for c in ("330199", "339999", "320582", "340104") if division_status(c) == "unknown"
)
BAD_INDUSTRIES = tuple(c for c in ("C1350", "C50", "C3699", "C2099") if not is_known_industry(c))
BAD_INDUSTRIES_DIGITS = tuple(
    c for c in ("1350", "9999", "3699", "2099") if not is_known_industry(c)
)
UNIT_NOTES = {
    "万元": (1e4, "元 written into a 万元 column (×10000)"),
    "千元": (1e3, "元 written into a 千元 column (×1000)"),
    "元": (1e-4, "万元 written into a 元 column (÷10000)"),
    "平方米": (0.0015, "亩 written into a 平方米 column (÷666.67)"),
    "亩": (1 / 0.0015, "平方米 written into a 亩 column (×666.67)"),
}
KEEP = object()  # marker: leave the formatted cell as it is


@dataclass
class Defect:
    """One injected defect; ``row``, ``column`` and ``value`` are resolved on assembly."""

    kind: str
    rec: int | None  # record position, or None for missing-enterprise
    field: str | None
    uscc: str
    note: str = ""
    text: Any = KEEP  # replacement cell: text, None (blank) or a number
    dup_field: str | None = None  # duplicate-key: the field whose value differs in the copy
    dup_factor: float = 1.0
    cause: Defect | None = None  # for an induced missing-enterprise
    row: int | None = None
    column: str | None = None
    value: Any = None


@dataclass
class YearState:
    """What the defect planner remembers across the files of one year."""

    pop: Population
    year: int
    touched: np.ndarray  # firms that already carry a defect or a legitimate edge case
    mangle: tuple[str, ...]  # sources that get mangled credit codes this year
    next_spare: int = 0
    used_parcels: set[str] = field(default_factory=set)


def new_year_state(pop: Population, year: int, rng: np.random.Generator) -> YearState:
    """Start a year: legitimate edge cases and shared-parcel firms are never defect targets."""
    k = pop.year_index(year)
    touched = pop.negative_tax[k] | pop.zero_emission[k] | (pop.lessor >= 0)
    touched[pop.lessor[pop.lessor >= 0]] = True
    m = int(rng.integers(1, 3))
    mangle = tuple(sorted(rng.choice(MANGLE_SOURCES, m, replace=False).tolist()))
    return YearState(pop, year, touched, mangle, used_parcels=set(pop.parcels.parcel_id.tolist()))


def count_for(rate: float, rows: int) -> int:
    """Defects of one kind in one file."""
    return 0 if rate <= 0 else max(2, round(rate * rows))


def _near_median(
    recs: Records, fields: tuple[str, ...], width: float, by_group: bool
) -> np.ndarray:
    """Rows whose values are positive and within ``width`` decades of the (group) median."""
    ok = np.ones(len(recs), dtype=bool)
    for name in fields:
        vals = recs.data[name].astype(float)
        pos = vals > 0
        logs = np.log10(np.where(pos, vals, 1.0))
        groups = recs.group if by_group else np.zeros(len(recs), dtype=np.int64)
        dev = np.full(len(recs), np.inf)
        for g in np.unique(groups[pos]).tolist():
            sel = pos & (groups == g)
            dev[sel] = np.abs(logs[sel] - np.median(logs[sel]))
        ok &= dev <= width
    return ok


def _pick(
    rng, recs: Records, mask: np.ndarray, n: int, prefer: np.ndarray | None = None
) -> np.ndarray:
    """Up to ``n`` record positions in ``mask``, one per firm, preferring ``prefer`` rows."""
    out: list[int] = []
    seen: set[int] = set()
    for m in ([mask & prefer] if prefer is not None else []) + [mask]:
        perm = rng.permutation(np.flatnonzero(m))
        _, first = np.unique(recs.firm[perm], return_index=True)
        for pos in perm[np.sort(first)].tolist():
            f = int(recs.firm[pos])
            if len(out) >= n:
                break
            if f not in seen:
                seen.add(f)
                out.append(pos)
    return np.array(out, dtype=np.int64)


def corrupt_code(rng: np.random.Generator, code: str) -> tuple[str, str]:
    """A wrong check character (position 18) or a wrong organisation-code check (position 17)."""
    if rng.random() < 0.5:
        choices = [c for c in ALPHABET if c != code[17]]
        return code[:17] + choices[int(rng.integers(0, len(choices)))], "check character changed"
    choices = [c for c in "0123456789X" if c != code[16]]
    first17 = code[:16] + choices[int(rng.integers(0, len(choices)))]
    return first17 + uscc_check_char(first17), "organisation-code check changed"


def mangle_code(code: str, fmt: str) -> Any:
    """What Excel makes of an all-digit code: ``9.13301E+17`` as text (CSV) or that number."""
    text = f"{int(code):.5E}"
    return text if fmt == "csv" else float(text)


def plan_defects(
    state: YearState, layout: Layout, recs: Records, rng: np.random.Generator, rate: float
) -> tuple[Records, list[Defect]]:
    """Choose and apply the defects of one file; returns the final records and the defects."""
    source = layout.source
    kinds = list(KINDS_BY_SOURCE[source])
    if source in state.mangle:
        kinds.insert(1, "mangled-credit-code")
    n = count_for(rate, len(recs))
    defects: list[Defect] = []
    if n == 0 or not kinds:
        return recs, defects
    numeric = NUMERIC.get(source, ())
    typical = _near_median(recs, numeric, 0.4, by_group=False)
    per_firm = np.bincount(recs.firm, minlength=len(state.pop.uscc))
    multi = per_firm[recs.firm] >= 2
    removed: list[int] = []
    extra: list[Records] = []
    base_len = len(recs)

    def eligible() -> np.ndarray:
        """Rows of firms without a defect or edge case so far this year."""
        return ~state.touched[recs.firm[:base_len]]

    def take(mask: np.ndarray, prefer: np.ndarray | None = None) -> list[int]:
        """Pick up to n rows (one per firm) and mark their firms as touched."""
        picked = _pick(rng, recs, mask, n, prefer)
        state.touched[recs.firm[picked]] = True
        return picked.tolist()

    for kind in kinds:
        ok = eligible()
        if kind in ("bad-credit-code", "mangled-credit-code"):
            mask = ok & typical
            if kind == "mangled-credit-code":
                mask &= np.array([c.isdigit() for c in recs.data["uscc"].tolist()])
            for pos in take(mask, multi if source in ("power", "land") else None):
                code = recs.data["uscc"][pos]
                if kind == "bad-credit-code":
                    text, note = corrupt_code(rng, code)
                else:
                    text, note = mangle_code(code, layout.fmt), "credit code turned into a number"
                d = Defect(kind, pos, "uscc", code, note, text=text)
                defects.append(d)
                if source in MUST_REPORT and per_firm[recs.firm[pos]] == 1:
                    defects.append(Defect("missing-enterprise", None, None, code, cause=d))
        elif kind == "duplicate-row":
            for pos in take(ok):
                defects.append(Defect(kind, pos, "uscc", recs.data["uscc"][pos], "exact copy"))
        elif kind == "duplicate-key":
            name = DUP_KEY_FIELD[source]
            for pos in take(ok & (recs.data[name] > 0)):
                factor = float(rng.choice([rng.uniform(0.5, 0.85), rng.uniform(1.15, 1.6)]))
                defects.append(
                    Defect(kind, pos, "uscc", recs.data["uscc"][pos],
                           f"copy with a different {name}", dup_field=name, dup_factor=factor)
                )  # fmt: skip
        elif kind == "missing-enterprise":
            for pos in take(ok):
                removed.append(int(recs.firm[pos]))
                defects.append(Defect(kind, None, None, recs.data["uscc"][pos], "left out"))
        elif kind == "unknown-enterprise":
            templates = _pick(rng, recs, ok & typical, n)
            for t in templates.tolist():
                row = _spare_row(state, recs, t, layout, rng)
                extra.append(row)
                pos = base_len + len(extra) - 1
                defects.append(
                    Defect(
                        kind, pos, "uscc", row.data["uscc"][0], "valid code, not in the register"
                    )
                )
        elif kind in ("type-error", "missing-value"):
            names = TYPE_FIELDS[source] if kind == "type-error" else REQUIRED[source]
            for pos in take(ok & _has_values(recs, names)):
                name = names[int(rng.integers(0, len(names)))]
                text = (
                    TYPE_TEXTS[int(rng.integers(0, len(TYPE_TEXTS)))]
                    if kind == "type-error"
                    else None
                )
                defects.append(Defect(kind, pos, name, recs.data["uscc"][pos], text=text))
        elif kind in ("unit-mismatch", "implausible-value"):
            names = UNIT_FIELDS[source] if kind == "unit-mismatch" else IMPLAUSIBLE_FIELDS[source]
            name = names[int(rng.integers(0, len(names)))]
            unit = layout.units[name]
            factor, note = UNIT_NOTES[unit] if kind == "unit-mismatch" else (100.0, "value ×100")
            for pos in take(ok & _near_median(recs, (name,), 0.25, by_group=True)):
                recs.data[name][pos] = recs.data[name][pos] * factor
                defects.append(Defect(kind, pos, name, recs.data["uscc"][pos], note))
        elif kind in ("unknown-division", "unknown-industry"):
            name = "county_code" if kind == "unknown-division" else "industry_code"
            pool = (
                BAD_DIVISIONS
                if kind == "unknown-division"
                else (BAD_INDUSTRIES if layout.industry_letter else BAD_INDUSTRIES_DIGITS)
            )
            for pos in take(ok):
                text = pool[int(rng.integers(0, len(pool)))]
                defects.append(Defect(kind, pos, name, recs.data["uscc"][pos], text=text))
    recs = recs.extend(extra)
    if removed:
        keep = ~np.isin(recs.firm, np.array(removed, dtype=np.int64)) | (
            np.arange(len(recs)) >= base_len
        )
        new_pos = np.cumsum(keep) - 1
        recs = recs.take(np.flatnonzero(keep))
        for d in defects:
            if d.rec is not None:
                d.rec = int(new_pos[d.rec])
    return recs, defects


def _has_values(recs: Records, names: tuple[str, ...]) -> np.ndarray:
    ok = np.ones(len(recs), dtype=bool)
    for name in names:
        v = recs.data[name]
        ok &= ~np.isnat(v) if v.dtype.kind == "M" else v > 0
    return ok


def _spare_row(
    state: YearState, recs: Records, template: int, layout: Layout, rng: np.random.Generator
) -> Records:
    """A row of a firm in no register, its values copied from a typical row of the file."""
    pop = state.pop
    j = state.next_spare % len(pop.spare_uscc)
    state.next_spare += 1
    row = recs.take(np.array([template]))
    row.firm = np.array([-1 - j], dtype=np.int64)
    row.group = np.array([-1], dtype=np.int64)
    row.data["uscc"] = np.array([pop.spare_uscc[j]], dtype=object)
    row.data["name"] = np.array([pop.spare_name[j]], dtype=object)
    if "meter_id" in row.data:
        row.data["meter_id"] = np.array([f"{int(rng.integers(0, 10**10)):010d}"], dtype=object)
    if "parcel_id" in row.data:
        old = str(row.data["parcel_id"][0])
        while True:
            new = old[:-8] + f"{int(rng.integers(0, 10**7)):07d}号"
            if new not in state.used_parcels:
                break
        state.used_parcels.add(new)
        row.data["parcel_id"] = np.array([new], dtype=object)
        row.data["tenure"] = np.array([False])
        row.data["lessor_uscc"] = np.array([""], dtype=object)
        row.data["lessor_name"] = np.array([""], dtype=object)
        row.data["floor_area"] = np.array([np.nan])
    return row


def factor_for(layout: Layout, name: str) -> float:
    """Multiplier from canonical values (land in m²) to the unit written in the file."""
    unit = layout.units.get(name)
    if unit is None:
        return 1.0
    if name in ("area", "floor_area"):
        return 0.0015 if unit == "亩" else 1.0
    return FACTOR_FROM_CANONICAL.get(unit, 1.0)

"""Per-firm inputs of an evaluation: register, facts, land rules, scope and exemptions.

Everything is a column over the firms of the year (numpy arrays aligned with ``uscc``); there is
no Python loop over firms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mujun.errors import InputError
from mujun.store import Store

MU_PER_M2 = 15.0 / 10000.0

STATUS_EVALUATED = "evaluated"
STATUS_PROVISIONAL = "provisional"
STATUS_NOT_EVALUATED = "not-evaluated"

# Facts a correction may override (numeric columns of ``Firms``), and the pseudo-field of an
# approved exemption application, which sets the ``exemption-approved`` event.
OVERRIDABLE_FACTS = (
    "tax_paid", "value_added", "revenue", "employees", "energy", "rd", "electricity", "water",
    "cod", "ammonia", "so2", "nox", "land_own_mu", "land_leased_mu",
)  # fmt: skip
EXEMPTION_FIELD = "exemption"
EXEMPTION_EVENT = "exemption-approved"

# uscc -> {field: value}: corrected facts one evaluation uses instead of the stored ones.
Overrides = Mapping[str, Mapping[str, float | None]]


@dataclass
class Firms:
    """The year's register firms with their facts, as aligned columns."""

    year: int
    cols: dict[str, np.ndarray]
    events: dict[str, np.ndarray] = field(default_factory=dict)  # event -> bool per firm

    @property
    def n(self) -> int:
        """Number of firms."""
        return int(self.cols["uscc"].shape[0])

    def __getitem__(self, key: str) -> np.ndarray:
        return self.cols[key]


def _f(table: pa.Table, name: str) -> np.ndarray:
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    return table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)


def _s(table: pa.Table, name: str) -> np.ndarray:
    if name not in table.column_names:
        return np.full(table.num_rows, "", dtype=object)
    col = pc.fill_null(table.column(name).cast(pa.string()), "")
    return col.to_numpy(zero_copy_only=False).astype(object)


def region_filter(region: str | None) -> tuple[str, list]:
    """SQL condition on enterprises ``e`` for a division code (province, city or county)."""
    if region is None or region == "330000":
        return "TRUE", []
    if len(region) != 6 or not region.isdigit():
        raise InputError(f"region {region!r} is not a 6-digit division code")
    if region.endswith("00"):
        return "e.city_code = ?", [region]
    return "e.county_code = ?", [region]


def load_firms(
    store: Store, year: int, region: str | None = None, overrides: Overrides | None = None
) -> Firms:
    """Register firms of ``year`` in ``region`` with every fact, sorted by credit code; with
    ``overrides``, the given facts of those firms replace the stored ones (in memory only)."""
    if not store.table_exists("facts"):
        raise InputError(f"no validated data in {store.path}", "run `mujun ingest` first")
    cond, params = region_filter(region)
    table = store.arrow(
        f"""
        SELECT e.uscc, e.name, e.county_code, e.city_code, e.industry_code,
               e.industry_division, e.traditional_industry, e.above_size,
               year(e.established) AS est_year, f.*
               EXCLUDE (year, uscc)
        FROM enterprises e JOIN facts f ON f.year = e.year AND f.uscc = e.uscc
        WHERE e.year = ? AND {cond}
        ORDER BY e.uscc
        """,
        [year, *params],
    )
    if table.num_rows == 0:
        raise InputError(
            f"no register firms for {year}" + (f" in {region}" if region else ""),
            "check --year/--region, or ingest that year's files",
        )
    firms = firms_from_table(table, year)
    _load_events(store, firms)
    _load_land(store, firms)
    if overrides:
        apply_overrides(firms, overrides)
    return firms


def apply_overrides(firms: Firms, overrides: Overrides) -> list[str]:
    """Replace facts of the named firms in place; return the credit codes not among the firms.

    A value of None clears the fact (missing data); the exemption field sets (truthy) or clears
    the approved-exemption event.
    """
    codes = sorted(overrides)
    idx = _index_of(firms, codes)
    absent = [c for c, i in zip(codes, idx, strict=True) if i < 0]
    for code, i in zip(codes, idx, strict=True):
        if i < 0:
            continue
        for name, value in overrides[code].items():
            if name == EXEMPTION_FIELD:
                mask = firms.events.setdefault(EXEMPTION_EVENT, np.zeros(firms.n, dtype=bool))
                mask[i] = bool(value)
            elif name in OVERRIDABLE_FACTS:
                firms.cols[name][i] = np.nan if value is None else float(value)
            else:
                raise InputError(
                    f"cannot override {name!r}",
                    "overridable: " + ", ".join((*OVERRIDABLE_FACTS, EXEMPTION_FIELD)),
                )
    return absent


def firms_from_table(table: pa.Table, year: int) -> Firms:
    """Firms from an Arrow table of register fields and facts (the store, or Parquet at scale).

    Rows must be sorted by credit code. Land details and events start empty.
    """
    cols: dict[str, np.ndarray] = {}
    for name in (
        "uscc",
        "name",
        "county_code",
        "city_code",
        "industry_code",
        "industry_division",
        "traditional_industry",
    ):
        cols[name] = _s(table, name)
    above = table.column("above_size")
    cols["above_size_known"] = ~cells_mask(pc.is_null(above))
    cols["above"] = cells_mask(above)
    cols["est_year"] = _f(table, "est_year")
    for name in (
        "tax_paid",
        "value_added",
        "revenue",
        "employees",
        "energy",
        "rd",
        "electricity",
        "water",
        "cod",
        "ammonia",
        "so2",
        "nox",
        "land_own_mu",
        "land_leased_mu",
        "n_parcels",
    ):
        cols[name] = _f(table, name)
    cols["in_env"] = (
        _f(table, "in_env") > 0
        if "in_env" in table.column_names
        else np.zeros(table.num_rows, bool)
    )
    n = table.num_rows
    cols["leased_floor_m2"] = np.zeros(n)
    cols["land_supply_year"] = np.full(n, np.nan)
    cols["lessor_idx"] = np.full(n, -1, dtype=np.int64)
    cols["lessor_shared"] = np.zeros(n, dtype=bool)
    return Firms(year, cols)


def cells_mask(arr) -> np.ndarray:
    """A boolean Arrow column (nulls as False) as numpy."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _index_of(firms: Firms, codes: list[str]) -> np.ndarray:
    """Positions of credit codes among the firms (-1 when absent)."""
    if "uscc_u" not in firms.cols:
        firms.cols["uscc_u"] = firms["uscc"].astype(str)
    uscc = firms["uscc_u"]
    pos = np.searchsorted(uscc, np.asarray(codes, dtype=str))
    pos = np.clip(pos, 0, max(uscc.size - 1, 0))
    found = uscc[pos] == np.asarray(codes, dtype=str) if uscc.size else np.zeros(len(codes), bool)
    return np.where(found, pos, -1)


def _load_events(store: Store, firms: Firms) -> None:
    if not store.table_exists("events"):
        return
    rows = store.rows("SELECT DISTINCT uscc, event FROM events WHERE year = ?", [firms.year])
    by_event: dict[str, list[str]] = {}
    for uscc, event in rows:
        by_event.setdefault(event, []).append(uscc)
    for event, codes in by_event.items():
        idx = _index_of(firms, codes)
        mask = np.zeros(firms.n, dtype=bool)
        mask[idx[idx >= 0]] = True
        firms.events[event] = mask


def _load_land(store: Store, firms: Firms) -> None:
    """Leased floor space, newest land supply year, and lessor links (tenants)."""
    if not store.table_exists("land"):
        return
    t = store.arrow(
        "SELECT uscc, tenure, lessor_uscc, floor_area, year(supply_date) AS sy, shared_parcel "
        "FROM land WHERE year = ? ORDER BY uscc, parcel_id",
        [firms.year],
    )
    if t.num_rows == 0:
        return
    idx = _index_of(firms, t.column("uscc").to_pylist())
    ok = idx >= 0
    tenure = np.array(t.column("tenure").to_pylist(), dtype=object)
    floor = np.nan_to_num(_f(t, "floor_area"))
    leased = ok & (tenure == "leased")
    np.add.at(firms.cols["leased_floor_m2"], idx[leased], floor[leased])
    sy = _f(t, "sy")
    has = ok & ~np.isnan(sy)
    supply = firms.cols["land_supply_year"]
    np.fmax.at(supply, idx[has], sy[has])
    lessors = t.column("lessor_uscc").to_pylist()
    with_lessor = [i for i, v in enumerate(lessors) if v] if leased.any() else []
    if with_lessor:
        rows = np.array(with_lessor)
        rows = rows[leased[rows]]
        lessor_idx = _index_of(firms, [lessors[i] for i in rows])
        good = lessor_idx >= 0
        firms.cols["lessor_idx"][idx[rows[good]]] = lessor_idx[good]
        shared = np.array(t.column("shared_parcel").to_pylist(), dtype=bool)
        firms.cols["lessor_shared"][idx[rows[good]]] = shared[rows[good]]

"""The synthetic province: firms, one hidden efficiency each, and true values in canonical units.

Every firm has one hidden efficiency ``e`` (standard normal, AR(1) across years with
rho = 0.9 per year) that, together with an industry-division effect and a county effect, drives
all its per-mu and per-unit indicators (natural logs)::

    E = e + d_division + c_county
    log r_k = m_k + a_k * E + s_k * u_k        (u_k: indicator noise, AR(1) with rho 0.8)

for r in tax/mu, VA/mu, VA/employee and VA/energy. Loadings ``a_k`` are set from the spread of E
among above-size firms so that, across above-size firms, the correlations of the logs are

    corr(tax/mu, VA/mu) ≈ 0.7,  corr(VA/mu, VA/employee) ≈ 0.6,  corr(VA/energy, VA/mu) ≈ 0.4

(loadings 0.78, 0.90, 0.67 and 0.44 on a common factor). Values are then scaled, year by
year, to the province's published totals-over-totals for above-size firms (see
:mod:`mujun.demo.calibration`), after every legitimate value has been clipped to ±1.1 decades
of its peer-group median so that the ingest's plausibility check never flags it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from mujun.demo import regions
from mujun.demo.assets import (
    M2_MU,
    Meters,
    Parcels,
    base_land,
    build_meters,
    build_parcels,
    unique_ints,
    zfill,
)
from mujun.demo.economics import (
    EMISSION_EFFECT,
    POLLUTANTS,
    RHO_NOISE,
    add_legit_edges,
    ar1,
    clip_and_calibrate,
    effect,
    round_values,
    simulate_values,
)
from mujun.reference import make_uscc

VALUE_FIELDS = (
    "land_mu", "used_mu", "tax", "value_added", "revenue", "employees", "energy",
    "cod", "ammonia", "so2", "nox", "rd", "electricity", "water",
)  # fmt: skip
RHO_EFFICIENCY = 0.9
ABOVE_SHARE = 0.45


@dataclass
class Population:
    """Firms (the universe over all years) and their true yearly values in canonical units."""

    years: tuple[int, ...]
    seed: int
    enterprises: int
    uscc: np.ndarray
    name: np.ndarray
    county: np.ndarray  # index into regions.load_counties()
    town: np.ndarray
    industry: np.ndarray  # class code such as C3670
    established: np.ndarray  # datetime64[D]
    utility: np.ndarray
    first: np.ndarray  # index of the first year in the register
    last: np.ndarray  # index of the last year in the register
    in_env: np.ndarray  # reports to the environment bureau
    has_water: np.ndarray  # has a water-supply account
    lessor: np.ndarray  # landlord firm of a tenant on a shared parcel, else -1
    present: np.ndarray  # (years, firms)
    above: np.ndarray  # (years, firms) above designated size (规上)
    efficiency: np.ndarray  # (years, firms) hidden efficiency e
    values: dict[str, np.ndarray]  # VALUE_FIELDS -> (years, firms)
    negative_tax: np.ndarray  # (years, firms) net tax after refunds below zero
    zero_emission: np.ndarray  # (years, firms) env row with all four pollutants zero
    parcels: Parcels
    meters: Meters
    meter_kwh: np.ndarray  # (years, meters)
    spare_uscc: np.ndarray  # valid codes of firms in no register (unknown-enterprise rows)
    spare_name: np.ndarray
    events: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def county_code(self) -> np.ndarray:
        """Six-digit county codes of the firms."""
        codes = np.array([c.code for c in regions.load_counties()], dtype=object)
        return codes[self.county]

    def year_index(self, year: int) -> int:
        """Position of ``year`` in ``years``."""
        return self.years.index(year)

    def truth_table(self) -> pa.Table:
        """One row per firm and year in the register: identity, class, hidden efficiency, values."""
        parts = []
        codes = self.county_code
        p = self.parcels
        leased = np.bincount(p.firm[p.leased], minlength=len(self.uscc)) > 0
        for k, year in enumerate(self.years):
            idx = np.flatnonzero(self.present[k])
            cols: dict[str, pa.Array] = {
                "year": pa.array(np.full(len(idx), year, dtype=np.int32)),
                "uscc": pa.array(self.uscc[idx].tolist(), pa.string()),
                "name": pa.array(self.name[idx].tolist(), pa.string()),
                "county": pa.array(codes[idx].tolist(), pa.string()),
                "industry": pa.array(self.industry[idx].tolist(), pa.string()),
                "above_size": pa.array(self.above[k, idx]),
                "efficiency": pa.array(self.efficiency[k, idx]),
                "established": pa.array(self.established[idx]).cast(pa.date32()),
                "utility": pa.array(self.utility[idx]),
                "new_firm": pa.array(self.established[idx] >= np.datetime64(f"{year - 1}-01-01")),
                "leased": pa.array(leased[idx]),
                "lessor_uscc": pa.array(
                    [self.uscc[j] if j >= 0 else None for j in self.lessor[idx].tolist()],
                    pa.string(),
                ),
                "in_env": pa.array(self.in_env[idx]),
                "has_water": pa.array(self.has_water[idx]),
            }
            for name in VALUE_FIELDS:
                vals = self.values[name][k, idx]
                if name in POLLUTANTS:
                    vals = np.where(self.in_env[idx], vals, np.nan)
                if name == "water":
                    vals = np.where(self.has_water[idx], vals, np.nan)
                cols[name] = pa.array(vals, from_pandas=True)
            for event, flags in self._event_flags(year, idx).items():
                cols[event] = pa.array(flags)
            parts.append(pa.table(cols))
        return pa.concat_tables(parts)

    def _event_flags(self, year: int, idx: np.ndarray) -> dict[str, np.ndarray]:
        ev = self.events.get(year)
        out = {}
        for key in ("high-tech", "rd-centre", "safety-accident", "env-penalty", "env-accident",
                    "energy-task-unmet", "exemption-approved"):  # fmt: skip
            flag = np.zeros(len(self.uscc), dtype=bool)
            if ev is not None:
                flag[ev["firm"][ev["key"] == key]] = True
            out[key.replace("-", "_")] = flag[idx]
        return out


def _register_years(rng: np.random.Generator, n: int, years: tuple[int, ...]):
    """First/last year index per firm: ~1.5 % enter and as many leave each later year."""
    n_y = len(years)
    n_entry = round(0.015 * n) if n_y > 1 else 0
    total = n + (n_y - 1) * n_entry
    first = np.zeros(total, dtype=np.int64)
    last = np.full(total, n_y - 1, dtype=np.int64)
    for k in range(1, n_y):
        first[n + (k - 1) * n_entry : n + k * n_entry] = k
        alive = np.flatnonzero((first <= k - 1) & (last == n_y - 1))
        last[rng.choice(alive, n_entry, replace=False)] = k - 1
    present = np.stack([(first <= k) & (last >= k) for k in range(n_y)])
    return first, last, present


def _established(rng, first: np.ndarray, years: tuple[int, ...]) -> np.ndarray:
    """Founding dates 1985-2020; new firms in the data year or the year before."""
    n = len(first)
    top = max(min(2020, years[0] - 2), 1986)
    span = np.arange(1985, top + 1)
    w = (span - 1980.0) ** 0.8  # more firms were founded in recent decades
    est_year = rng.choice(span, n, p=w / w.sum())
    day = rng.integers(0, 365, n).astype("timedelta64[D]")
    out = (est_year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + day
    fy = np.array(years)[first]
    start = (fy - 1 - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    # Firms of the first register founded in its year or the one before (24 months), and
    # entrants founded in the last 18 months before their first register.
    new0 = (first == 0) & (rng.random(n) < 0.025)
    out[new0] = start[new0] + rng.integers(0, 730, int(new0.sum())).astype("timedelta64[D]")
    later = first > 0
    out[later] = start[later] + rng.integers(181, 730, int(later.sum())).astype("timedelta64[D]")
    return out


def _uscc_codes(rng: np.random.Generator, division6: np.ndarray) -> np.ndarray:
    """Valid, distinct credit codes: mostly all-digit organisation codes, some with letters."""
    n = len(division6)
    letters = np.array([c for c in "ABCDEFGHJKLMNPQRTUWXY"], dtype="<U1")
    for _ in range(20):
        body = zfill(unique_ints(rng, 10**8, n), 8).astype("<U8")
        has_letter = rng.random(n) < 0.12
        chars = body.view("<U1").reshape(n, 8).copy()
        pos = rng.integers(1, 8, n)
        rows = np.flatnonzero(has_letter)
        chars[rows, pos[rows]] = letters[rng.integers(0, len(letters), len(rows))]
        org8 = np.array(["".join(r) for r in chars.tolist()], dtype=object)
        if len(np.unique(org8)) == n:
            break
    return np.array(
        [make_uscc("91", d, o) for d, o in zip(division6.tolist(), org8.tolist(), strict=True)],
        dtype=object,
    )


def build_population(enterprises: int, years: tuple[int, ...], seed: int) -> Population:
    """Build the province model (no files): ``enterprises`` firms in every year's register."""
    years = tuple(sorted(set(int(y) for y in years)))
    rng = np.random.default_rng([seed, 7001])
    n_y = len(years)
    first, last, present = _register_years(rng, enterprises, years)
    n = len(first)
    table = regions.load_counties()
    weights = np.array([c.weight for c in table])
    county = rng.choice(len(table), n, p=weights / weights.sum())
    city = np.array([c.city for c in table], dtype=object)[county]
    industry = np.empty(n, dtype=object)
    for code in sorted(set(city.tolist())):
        sel = np.flatnonzero(city == code)
        classes, p = regions.industry_table(code)
        industry[sel] = np.array(classes, dtype=object)[rng.choice(len(classes), len(sel), p=p)]
    utility = rng.random(n) < 0.005
    industry[utility] = np.array(regions.UTILITY_CLASSES, dtype=object)[
        rng.integers(0, len(regions.UTILITY_CLASSES), int(utility.sum()))
    ]
    division = np.array([c[:3] for c in industry.tolist()], dtype=object)
    established = _established(rng, first, years)

    # Hidden efficiency, size and size class.
    e = ar1(rng, years, n, RHO_EFFICIENCY)
    uniq_div, div_idx = np.unique(division, return_inverse=True)
    d_div = rng.normal(0.0, 0.3, len(uniq_div))[div_idx]
    c_cty = (
        np.array([regions.CITY_EFFECT.get(c.city, 0.0) for c in table])
        + rng.normal(0.0, 0.1, len(table))
    )[county]
    eff = e + d_div + c_cty
    z = rng.standard_normal(n)
    q = z + 0.45 * eff + 0.25 * ar1(rng, years, n, RHO_NOISE)
    above = np.zeros((n_y, n), dtype=bool)
    for k in range(n_y):
        cut = np.quantile(q[k, present[k]], 1 - ABOVE_SHARE)
        above[k] = present[k] & (q[k] >= cut)
    above_first = above[first, np.arange(n)]

    # Land.
    first_day = (np.array(years)[first] - 1970 + 1).astype("datetime64[Y]").astype(
        "datetime64[D]"
    ) - np.timedelta64(1, "D")
    mu = base_land(rng, above_first, z + 0.5 * rng.standard_normal(n))
    stable = (first == 0) & (last == n_y - 1)
    parcels, lessor = build_parcels(
        rng,
        mu=mu,
        above=above_first,
        county=county,
        stable=stable,
        utility=utility,
        established=established,
        first_day=first_day,
        years=years,
        status=above,
        present=present,
    )
    values = {name: np.zeros((n_y, n)) for name in VALUE_FIELDS}
    area_mu = parcels.area_m2 * M2_MU
    tenant_row = parcels.lessor >= 0
    for k, year in enumerate(years):
        active = present[k][parcels.firm] & (parcels.supply <= np.datetime64(f"{year}-12-31"))
        land = np.bincount(parcels.firm[active], weights=area_mu[active], minlength=n)
        out = active & tenant_row
        let_out = np.bincount(parcels.lessor[out], weights=area_mu[out], minlength=n)
        values["land_mu"][k] = land
        values["used_mu"][k] = land - let_out
    missing_land = present & (values["land_mu"] <= 0)
    if missing_land.any():  # pragma: no cover - guarded by construction
        raise RuntimeError(f"{int(missing_land.sum())} firm-years without land")

    meters = build_meters(rng, n)
    in_env = rng.random(n) < np.where(above_first, 0.85, 0.08) * np.where(
        effect(division, EMISSION_EFFECT) < 0, 1.15, 0.9
    )
    has_water = rng.random(n) < np.where(above_first, 0.9, 0.58)
    model = simulate_values(rng, years, present, above, eff, division, values["used_mu"])
    values.update(model)
    kwh = clip_and_calibrate(years, present, above, in_env, has_water, meters, values)
    negative, zero = add_legit_edges(rng, present, in_env, utility, values)
    round_values(values)

    # Enough spare firms that no file repeats one, even at the highest defect rate.
    spare_n = max(40, round(0.07 * enterprises))
    spare_county = rng.choice(len(table), spare_n, p=weights / weights.sum())
    codes6 = np.array([c.code for c in table], dtype=object)
    cities6 = np.array([c.city for c in table], dtype=object)
    all_county = np.concatenate([county, spare_county])
    reg_div = np.where(rng.random(n + spare_n) < 0.1, cities6[all_county], codes6[all_county])
    codes = _uscc_codes(rng, reg_div)
    shorts = np.array([c.short for c in table], dtype=object)
    spare_ind = industry[rng.integers(0, n, spare_n)]
    names = regions.make_names(rng, shorts[all_county], np.concatenate([industry, spare_ind]))
    pop = Population(
        years=years,
        seed=seed,
        enterprises=enterprises,
        uscc=codes[:n],
        name=names[:n],
        county=county,
        town=regions.make_towns(rng, county, len(table)),
        industry=industry,
        established=established,
        utility=utility,
        first=first,
        last=last,
        in_env=in_env,
        has_water=has_water,
        lessor=lessor,
        present=present,
        above=above,
        efficiency=e,
        values=values,
        negative_tax=negative,
        zero_emission=zero,
        parcels=parcels,
        meters=meters,
        meter_kwh=kwh,
        spare_uscc=codes[n:],
        spare_name=names[n:],
    )
    from mujun.demo.events import build_events  # local import: events needs Population

    pop.events = build_events(np.random.default_rng([seed, 7002]), pop, eff)
    return pop

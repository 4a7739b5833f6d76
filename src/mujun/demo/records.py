"""Canonical rows of each department file for one year, before any presentation choice."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mujun.demo.population import POLLUTANTS, Population


@dataclass
class Records:
    """Rows of one department file in canonical units (land areas in m²).

    ``firm`` is the firm's index, or ``-1 - j`` for the j-th spare firm (in no register).
    ``group`` is the peer group the ingest uses for plausibility: 1 above-size, 0 below-size,
    +2 for leased land rows, -1 for firms not in the register.
    """

    firm: np.ndarray
    data: dict[str, np.ndarray]
    group: np.ndarray

    def __len__(self) -> int:
        return len(self.firm)

    def take(self, idx: np.ndarray) -> Records:
        """The rows at ``idx`` (a permutation or a selection)."""
        return Records(self.firm[idx], {k: v[idx] for k, v in self.data.items()}, self.group[idx])

    def extend(self, others: list[Records]) -> Records:
        """These rows followed by the rows of ``others``."""
        if not others:
            return self
        parts = [self, *others]
        return Records(
            np.concatenate([p.firm for p in parts]),
            {k: np.concatenate([p.data[k] for p in parts]) for k in self.data},
            np.concatenate([p.group for p in parts]),
        )


def _firm_rows(pop: Population, k: int, firms: np.ndarray, **data: np.ndarray) -> Records:
    base = {"uscc": pop.uscc[firms], "name": pop.name[firms]}
    base.update(data)
    return Records(firms.astype(np.int64), base, pop.above[k, firms].astype(np.int64))


def build_records(pop: Population, source: str, year: int) -> Records:
    """Canonical rows of ``source`` for ``year`` (firms in that year's register only)."""
    k = pop.year_index(year)
    pres = pop.present[k]
    v = {name: arr[k] for name, arr in pop.values.items()}
    if source == "register":
        f = np.flatnonzero(pres)
        town = pop.town[f].copy()
        town[pop.established[f].astype(np.int64) % 97 == 0] = ""  # a few firms lack a town
        return _firm_rows(
            pop,
            k,
            f,
            county_code=pop.county_code[f],
            town=town,
            industry_code=pop.industry[f],
            above_size=pop.above[k, f],
            established=pop.established[f],
        )
    if source == "tax":
        f = np.flatnonzero(pres)
        return _firm_rows(pop, k, f, tax_paid=v["tax"][f])
    if source == "stats":
        f = np.flatnonzero(pres & pop.above[k])
        return _firm_rows(
            pop,
            k,
            f,
            value_added=v["value_added"][f],
            revenue=v["revenue"][f],
            employees=v["employees"][f],
            energy=v["energy"][f],
            rd=v["rd"][f],
        )
    if source == "power":
        m = np.flatnonzero(pres[pop.meters.firm])
        f = pop.meters.firm[m]
        return _firm_rows(
            pop, k, f, meter_id=pop.meters.meter_id[m], electricity=pop.meter_kwh[k, m]
        )
    if source == "env":
        f = np.flatnonzero(pres & pop.in_env)
        return _firm_rows(pop, k, f, **{p: v[p][f] for p in POLLUTANTS})
    if source == "water":
        f = np.flatnonzero(pres & pop.has_water)
        return _firm_rows(pop, k, f, water=v["water"][f])
    if source == "land":
        p = pop.parcels
        rows = np.flatnonzero(pres[p.firm] & (p.supply <= np.datetime64(f"{year}-12-31")))
        f = p.firm[rows]
        lessor = p.lessor[rows]
        has_lessor = lessor >= 0
        lessor_uscc = np.where(has_lessor, pop.uscc[np.maximum(lessor, 0)], "")
        lessor_name = np.where(has_lessor, pop.name[np.maximum(lessor, 0)], p.lessor_name[rows])
        recs = _firm_rows(
            pop,
            k,
            f,
            parcel_id=p.parcel_id[rows],
            area=p.area_m2[rows],
            supply_date=p.supply[rows],
            tenure=p.leased[rows],
            lessor_uscc=lessor_uscc.astype(object),
            lessor_name=lessor_name.astype(object),
            floor_area=p.floor_m2[rows],
        )
        recs.group = recs.group + 2 * p.leased[rows]
        return recs
    if source == "events":
        ev = pop.events[year]
        f = ev["firm"]
        return _firm_rows(
            pop,
            k,
            f,
            event=ev["event"],
            event_year=np.full(len(f), year, dtype=np.int64),
            doc_no=ev["doc_no"],
            detail=ev["detail"],
        )
    raise ValueError(f"unknown source {source!r}")

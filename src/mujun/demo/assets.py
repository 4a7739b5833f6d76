"""Land parcels and electricity meters of the synthetic firms.

Land: one row per firm per parcel. Most firms own their land (10 % of owners on 2-3 parcels);
about 20 % of below-size firms and 4 % of above-size firms lease it, either from a village
collective (出租方 only, no code) or as tenants on a parcel shared with the owning firm (same
不动产权证号, tenure 租赁, the owner as lessor; ~2 % of owners have 1-3 tenants). About 1 % of
owners got an extra parcel in the last three years.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mujun.demo import regions

MU_M2 = 10000.0 / 15.0  # square metres per mu
M2_MU = 0.0015  # mu per square metre (exact)
# Legitimate values stay this many decades around their peer-group median; the ingest flags
# 1.6 decades and more, so this leaves room for medians that shift with the defect rows.
CLIP = 1.1


@dataclass
class Parcels:
    """Land rows (one per firm per parcel) in canonical units."""

    firm: np.ndarray  # int64 index into the firms
    parcel_id: np.ndarray  # object: 不动产权证号 or old 土地字号
    area_m2: np.ndarray  # float, 0.01 m² precision
    supply: np.ndarray  # datetime64[D] 供地日期
    leased: np.ndarray  # bool
    lessor: np.ndarray  # int64 firm index of the lessor, or -1
    lessor_name: np.ndarray  # object: village collective name, or "" (firm lessors by index)
    floor_m2: np.ndarray  # float 租赁建筑面积, nan when not given
    shared: np.ndarray  # bool: row of a parcel shared by an owner and its tenants

    @property
    def area_mu(self) -> np.ndarray:
        """Areas in mu."""
        return self.area_m2 * M2_MU


@dataclass
class Meters:
    """Electricity meters: one row per meter; ``share`` of the firm's electricity."""

    firm: np.ndarray
    meter_id: np.ndarray  # object, 10 digits with leading zeros kept
    share: np.ndarray


def unique_ints(rng: np.random.Generator, high: int, n: int) -> np.ndarray:
    """``n`` distinct integers in [0, high), drawn deterministically."""
    out = rng.integers(0, high, n)
    for _ in range(200):
        _, first = np.unique(out, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            return out
        out[dup] = rng.integers(0, high, int(dup.sum()))
    raise RuntimeError("could not draw distinct integers")  # pragma: no cover


def zfill(values: np.ndarray, width: int) -> np.ndarray:
    """Integers as zero-padded strings (object array); safe on empty input."""
    if len(values) == 0:
        return np.zeros(0, dtype=object)
    return np.char.zfill(np.asarray(values).astype(str), width).astype(object)


def clip_to_peers(
    values: np.ndarray,
    groups: np.ndarray,
    mask: np.ndarray,
    width: float = CLIP,
    ref: np.ndarray | None = None,
) -> np.ndarray:
    """Clip positive values in ``mask`` to ``width`` decades around their group's log median.

    The median is taken over the positive values in ``ref`` (default ``mask``) of the group.
    """
    out = values.copy()
    pos = mask & (values > 0)
    base = (mask if ref is None else ref) & (values > 0)
    for g in np.unique(groups[pos]).tolist():
        sel = pos & (groups == g)
        ref_sel = base & (groups == g)
        med = float(np.median(np.log10(values[ref_sel if ref_sel.any() else sel])))
        out[sel] = 10 ** np.clip(np.log10(values[sel]), med - width, med + width)
    return out


def assign_by_rank(score: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """Give the largest sample to the largest score, and so on (exact target marginals)."""
    out = np.empty(len(score))
    out[np.argsort(score, kind="stable")] = np.sort(samples)
    return out


def _split_shares(rng: np.random.Generator, k: np.ndarray, floor: float) -> np.ndarray:
    """Shares for ``k[i]`` pieces each (flattened), every share at least ``floor``."""
    total = int(k.sum())
    owner = np.repeat(np.arange(len(k)), k)
    g = rng.gamma(3.0, size=total)
    d = g / np.bincount(owner, weights=g, minlength=len(k))[owner]
    return floor + (1.0 - floor * k[owner]) * d


def _days(rng: np.random.Generator, n: int, high: int) -> np.ndarray:
    return rng.integers(0, max(high, 1), n).astype("timedelta64[D]")


def base_land(rng: np.random.Generator, above: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Land in mu per firm: above-size around 30 mu; below-size 80 % at 3 mu or more."""
    mu = np.empty(len(above))
    n_a = int(above.sum())
    s_a = np.log10(30.0) + np.clip(rng.normal(0.0, 0.28, n_a), -0.95, 0.95)
    mu[above] = assign_by_rank(score[above], 10**s_a)
    n_b = len(above) - n_a
    small = rng.random(n_b) < 0.2
    s_b = np.where(
        small,
        rng.uniform(np.log10(0.4), np.log10(2.95), n_b),
        np.log10(3.0) + np.minimum(np.abs(rng.normal(0.0, 0.42, n_b)), 1.0),
    )
    mu[~above] = assign_by_rank(score[~above], 10**s_b)
    return mu


def build_parcels(
    rng: np.random.Generator,
    *,
    mu: np.ndarray,
    above: np.ndarray,
    county: np.ndarray,
    stable: np.ndarray,
    utility: np.ndarray,
    established: np.ndarray,
    first_day: np.ndarray,
    years: tuple[int, ...],
    status: np.ndarray,
    present: np.ndarray,
) -> tuple[Parcels, np.ndarray]:
    """Parcel rows for every firm and the landlord of each tenant on a shared parcel (or -1).

    ``above`` is the size class in the firm's first year (for its land and tenure);
    ``status`` and ``present`` are (years, firms) and set the yearly peer groups.
    """
    last_year = years[-1]
    n = len(mu)
    mu = mu.copy()
    leased = rng.random(n) < np.where(above, 0.04, 0.20)
    leased &= ~utility
    lessor = np.full(n, -1, dtype=np.int64)
    owners_ok = stable & ~leased & ~utility
    tenants_ok = stable & leased
    shared_owner = np.zeros(n, dtype=bool)
    n_counties = int(county.max()) + 1 if n else 0
    for c in range(n_counties):
        in_c = county == c
        o = rng.permutation(np.flatnonzero(owners_ok & in_c))
        t = rng.permutation(np.flatnonzero(tenants_ok & in_c))
        n_o = min(len(o), round(0.02 * int((in_c & ~leased).sum())))
        ks = rng.choice([1, 2, 3], size=n_o, p=[0.5, 0.3, 0.2])
        keep = np.cumsum(ks) <= len(t)
        o, ks = o[:n_o][keep], ks[keep]
        t = t[: int(ks.sum())]
        shared_owner[o] = True
        lessor[t] = np.repeat(o, ks)
    tenant = lessor >= 0
    # A tenant rents part of its landlord's plot, so its share is a fraction of the owner's land.
    mu[tenant] = np.minimum(mu[tenant], 0.25 * mu[lessor[tenant]])
    village = leased & ~tenant

    # Owners not sharing: 1-3 parcels; 1 % get an extra parcel in the last three years.
    plain = ~leased & ~shared_owner
    r = rng.random(n)
    k = np.where(plain & ~utility & (r < 0.06), 2, np.where(plain & ~utility & (r < 0.10), 3, 1))
    own_idx = np.flatnonzero(plain)
    k_own = k[own_idx]
    own_firm = np.repeat(own_idx, k_own)
    own_area = mu[own_firm] * _split_shares(rng, k_own, 0.15)
    nth = np.arange(len(own_firm)) - np.repeat(np.cumsum(k_own) - k_own, k_own)
    span = (first_day[own_firm] - established[own_firm]).astype(np.int64)
    own_supply = established[own_firm] + (
        rng.random(len(own_firm)) * np.minimum(span, np.where(nth == 0, 365, 4000))
    ).astype("timedelta64[D]")
    # 供地日期 is the parcel's original supply date: most firms bought an existing plot, so
    # their first parcel is often older than the firm.
    second_hand = (nth == 0) & (rng.random(len(own_firm)) < 0.75)
    age = (established[own_firm] - np.datetime64("1995-01-01")).astype(np.int64)
    older = established[own_firm] - (rng.random(len(own_firm)) * np.maximum(age, 0)).astype(
        "timedelta64[D]"
    )
    own_supply = np.where(second_hand, older, own_supply)

    new_land = np.flatnonzero(plain & stable & ~utility & (rng.random(n) < 0.01))
    new_start = np.maximum(
        np.datetime64(f"{last_year - 2}-01-01"), established[new_land] + np.timedelta64(1, "D")
    )
    new_span = np.maximum((np.datetime64(f"{last_year}-12-31") - new_start).astype(np.int64), 0)
    new_supply = new_start + (rng.random(len(new_land)) * new_span).astype("timedelta64[D]")
    new_area = mu[new_land] * rng.uniform(0.2, 0.6, len(new_land))

    so = np.flatnonzero(shared_owner)
    so_supply = established[so] - (
        rng.random(len(so))
        * np.maximum((established[so] - np.datetime64("1995-01-01")).astype(np.int64), 0)
    ).astype("timedelta64[D]")
    tn = np.flatnonzero(tenant)
    vi = np.flatnonzero(village)
    vi_supply = np.datetime64("1995-01-01") + _days(rng, len(vi), 8400)
    vi_supply = np.minimum(vi_supply, first_day[vi])

    firm = np.concatenate([own_firm, new_land, so, tn, vi])
    area = np.concatenate([own_area, new_area, mu[so], mu[tn], mu[vi]])
    kind = np.concatenate(
        [
            np.zeros(len(own_firm), np.int8),
            np.zeros(len(new_land), np.int8),
            np.full(len(so), 1, np.int8),
            np.full(len(tn), 2, np.int8),
            np.full(len(vi), 3, np.int8),
        ]
    )
    is_leased = kind >= 2
    tenant_rows = kind == 2
    # Tenants share the owner's parcel, so they share its supply date too.
    so_pos = np.full(n, -1, dtype=np.int64)
    so_pos[so] = np.arange(len(so))
    tn_supply = so_supply[so_pos[lessor[tn]]]
    supply = np.concatenate([own_supply, new_supply, so_supply, tn_supply, vi_supply])
    active = [
        present[k][firm] & (supply <= np.datetime64(f"{y}-12-31")) for k, y in enumerate(years)
    ]
    groups = [status[k][firm].astype(np.int8) * 2 + is_leased for k in range(len(years))]

    # Clip every row to its peer group (size class x tenure) in every year it appears; a firm
    # that changes size class must fit both groups. Shared owners' gross rows are rebuilt from
    # the owner's own land plus the clipped tenant shares.
    everything = np.ones(len(area), dtype=bool)
    for _ in range(2):
        for act, g in zip(active, groups, strict=True):
            area = clip_to_peers(area, g, act & (kind != 1), CLIP - 0.05)
        let_out = np.bincount(lessor[firm[tenant_rows]], weights=area[tenant_rows], minlength=n)
        area[kind == 1] = mu[so] + let_out[so]
        for act, g in zip(active, groups, strict=True):
            area = clip_to_peers(area, g, act & (kind == 1), CLIP, ref=act & everything)
    area_m2 = np.round(area * MU_M2, 2)

    # Parcel ids: owners and village collectives hold one each; tenants reuse the owner's.
    holder_rows = kind != 2
    nums = unique_ints(rng, 10**7, int(holder_rows.sum()))
    pid = np.empty(len(firm), dtype=object)
    pid[holder_rows] = _parcel_ids(rng, county[firm[holder_rows]], supply[holder_rows], nums)
    so_row = np.full(n, -1, dtype=np.int64)
    so_row[firm[kind == 1]] = np.flatnonzero(kind == 1)
    pid[tenant_rows] = pid[so_row[lessor[firm[tenant_rows]]]]

    lessor_name = np.full(len(firm), "", dtype=object)
    lessor_name[kind == 3] = regions.make_villages(rng, int((kind == 3).sum()))
    floor = np.full(len(firm), np.nan)
    fl = is_leased & ((kind == 2) | (rng.random(len(firm)) < 0.6))
    floor[fl] = area_m2[fl] * rng.uniform(0.5, 1.8, int(fl.sum()))
    for _ in range(2):
        for act, g in zip(active, groups, strict=True):
            floor = clip_to_peers(np.nan_to_num(floor, nan=-1.0), g, act & fl, CLIP)
            floor[~fl] = np.nan
    floor = np.round(floor, 2)
    row_lessor = np.where(tenant_rows, lessor[firm], -1)
    parcels = Parcels(
        firm=firm,
        parcel_id=pid,
        area_m2=area_m2,
        supply=supply.astype("datetime64[D]"),
        leased=is_leased,
        lessor=row_lessor,
        lessor_name=lessor_name,
        floor_m2=floor,
        shared=(kind == 1) | tenant_rows,
    )
    # Order rows by firm so that each firm's parcels are adjacent, as in a land ledger.
    order = np.argsort(firm, kind="stable")
    for name in parcels.__dataclass_fields__:
        setattr(parcels, name, getattr(parcels, name)[order])
    return parcels, lessor


def _parcel_ids(
    rng: np.random.Generator, county: np.ndarray, supply: np.ndarray, nums: np.ndarray
) -> np.ndarray:
    """浙(2019)温岭市不动产权第0012345号, or the old 温国用(2008)第0012345号 for old parcels."""
    table = regions.load_counties()
    labels = np.array([c.label for c in table], dtype=object)[county]
    initial = np.array([c.short[0] for c in table], dtype=object)[county]
    year = supply.astype("datetime64[Y]").astype(np.int64) + 1970
    old = year < 2016
    keep_old = old & (rng.random(len(year)) < 0.5)
    cert = np.where(old & ~keep_old, rng.integers(2016, 2021, len(year)), year)
    num = zfill(nums, 7)
    cert_s = cert.astype(str).astype(object)
    new_style = "浙(" + cert_s + ")" + labels + "不动产权第" + num + "号"
    old_style = initial + "国用(" + cert_s + ")第" + num + "号"
    return np.where(keep_old, old_style, new_style)


def build_meters(rng: np.random.Generator, n: int) -> Meters:
    """One meter per firm, or 2-4 for about 15 % of firms; ids are unique 10-digit strings."""
    k = np.where(rng.random(n) < 0.15, rng.integers(2, 5, n), 1)
    firm = np.repeat(np.arange(n), k)
    share = _split_shares(rng, k, 0.12)
    ids = zfill(unique_ints(rng, 10**10, len(firm)), 10)
    return Meters(firm=firm, meter_id=ids, share=share)

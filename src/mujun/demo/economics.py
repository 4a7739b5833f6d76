"""Yearly values of every firm from its land and hidden efficiency, clipped and calibrated.

See :mod:`mujun.demo.population` for the model; this module holds its parameters and the steps:
simulate raw values, clip them to their peer groups, scale each year to the targets of
:mod:`mujun.demo.calibration`, add the legitimate edge cases and round as departments deliver.
"""

from __future__ import annotations

import numpy as np

from mujun.demo.assets import Meters, clip_to_peers
from mujun.demo.calibration import TARGETS, YEARLY_GROWTH

POLLUTANTS = ("cod", "ammonia", "so2", "nox")
RHO_EFFICIENCY = 0.9
RHO_NOISE = 0.8
ABOVE_SHARE = 0.45
# (loading on the common factor, standard deviation of the natural log) per indicator.
LOADINGS = {"va": (0.90, 0.80), "tax": (0.78, 0.95), "prod": (0.667, 0.50), "energy": (0.444, 0.85)}

# Division effects (natural log) on VA per energy, VA per emissions, kWh per tce, water per VA.
ENERGY_EFFECT = {"C26": -0.6, "C30": -0.8, "C31": -0.9, "C32": -0.4, "C22": -0.6, "C17": -0.3,
                 "C28": -0.5, "C25": -0.7, "D44": -1.0, "C13": -0.2, "C39": 0.4, "C40": 0.4,
                 "C38": 0.2, "C18": 0.3, "C24": 0.1}  # fmt: skip
EMISSION_EFFECT = {"C17": -1.2, "C22": -1.3, "C26": -1.2, "C28": -0.8, "C30": -1.0, "C13": -0.8,
                   "C19": -0.5, "C27": -0.6, "C31": -0.9, "C32": -0.5, "C25": -1.0, "D44": -1.5,
                   "D46": -0.5, "C38": 0.8, "C39": 1.0, "C40": 1.0, "C34": 0.5, "C35": 0.5,
                   "C36": 0.3, "C18": 0.5, "C24": 0.3}  # fmt: skip
POWER_EFFECT = {"C38": 0.3, "C39": 0.4, "C34": 0.2, "C33": 0.2, "C29": 0.2, "C18": 0.2,
                "C26": -0.4, "C30": -0.5, "C22": -0.4, "C25": -0.8, "D44": -1.0}  # fmt: skip
WATER_EFFECT = {"C17": 1.5, "C22": 1.3, "C26": 0.8, "C13": 0.8, "C15": 1.0, "C28": 0.8,
                "C27": 0.7, "D46": 1.0, "D44": 1.0}  # fmt: skip
WET = ("C13", "C14", "C15", "C17", "C19", "C22", "C26", "C27", "C28", "D46")
BURNING = ("C25", "C30", "C31", "C32", "D44")
# Share of COD, NH3-N, SO2, NOx in a firm's emissions by kind of industry.
SPLIT_WET, SPLIT_BURNING, SPLIT_OTHER = (0.55, 0.08, 0.17, 0.20), (0.10, 0.02, 0.38, 0.50), (
    0.35, 0.05, 0.25, 0.35)  # fmt: skip


def ar1(rng: np.random.Generator, years: tuple[int, ...], n: int, rho: float) -> np.ndarray:
    """Stationary standard-normal AR(1) paths over ``years`` (gaps use rho ** gap)."""
    out = np.empty((len(years), n))
    out[0] = rng.standard_normal(n)
    for k in range(1, len(years)):
        r = rho ** (years[k] - years[k - 1])
        out[k] = r * out[k - 1] + np.sqrt(1 - r * r) * rng.standard_normal(n)
    return out


def effect(divisions: np.ndarray, table: dict[str, float]) -> np.ndarray:
    """Per-firm value of a per-division effect table (0 for divisions not listed)."""
    uniq, inv = np.unique(divisions, return_inverse=True)
    return np.array([table.get(d, 0.0) for d in uniq.tolist()])[inv]


def simulate_values(
    rng: np.random.Generator,
    years: tuple[int, ...],
    present: np.ndarray,
    above: np.ndarray,
    eff: np.ndarray,
    division: np.ndarray,
    used_mu: np.ndarray,
) -> dict[str, np.ndarray]:
    """Raw (unscaled) yearly values from land, efficiency and indicator noise."""
    n_y, n = eff.shape
    last = n_y - 1
    sd_e = float(np.std(eff[last, above[last]])) if above[last].any() else 1.0
    h_en = effect(division, ENERGY_EFFECT)
    coef = {}
    for key, (lam, sigma) in LOADINGS.items():
        a = lam * sigma / sd_e
        s = sigma * np.sqrt(1 - lam * lam)
        if key == "energy":  # the division effect on energy is part of the idiosyncratic part
            s = np.sqrt(max(s * s - float(np.var(h_en)), 0.04))
        coef[key] = (a, s)

    def ratio(key: str, base: float, extra: np.ndarray | float = 0.0) -> np.ndarray:
        """exp(m + a E + extra + s u): one indicator ratio per firm and year."""
        a, s = coef[key]
        return np.exp(np.log(base) + a * eff + extra + s * ar1(rng, years, n, RHO_NOISE))

    va = ratio("va", 100.0) * used_mu
    tax = ratio("tax", 20.0) * used_mu
    employees = va / ratio("prod", 20.0)
    energy = va / ratio("energy", 2.0, h_en)
    vrate = np.clip(np.exp(np.log(0.22) + 0.18 * ar1(rng, years, n, RHO_NOISE)), 0.08, 0.6)
    revenue = va / vrate
    rd_draw = rng.random(n)
    has_rd = rd_draw < np.where(above, 0.85, 0.4)
    rdi = np.exp(np.log(0.02) + 0.25 * eff + 0.45 * ar1(rng, years, n, RHO_NOISE))
    rd = np.where(has_rd, revenue * np.minimum(rdi, 0.15), 0.0)
    vem = np.exp(
        np.log(2000.0)
        + 0.3 * eff
        + effect(division, EMISSION_EFFECT)
        + 0.6 * ar1(rng, years, n, RHO_NOISE)
    )
    total_em = va / vem
    uniq, inv = np.unique(division, return_inverse=True)
    base = np.array(
        [
            SPLIT_WET if d in WET else SPLIT_BURNING if d in BURNING else SPLIT_OTHER
            for d in uniq.tolist()
        ]
    )[inv]
    split = base * np.exp(0.3 * rng.standard_normal((n, 4)))
    split /= split.sum(axis=1, keepdims=True)
    out = {
        "value_added": va,
        "tax": tax,
        "employees": employees,
        "energy": energy,
        "revenue": revenue,
        "rd": rd,
        "electricity": energy
        * np.exp(
            np.log(2600.0) + effect(division, POWER_EFFECT) + 0.25 * ar1(rng, years, n, RHO_NOISE)
        ),
        "water": va
        * np.exp(np.log(4.0) + effect(division, WATER_EFFECT) + 0.5 * ar1(rng, years, n, 0.8)),
    }
    for j, p in enumerate(POLLUTANTS):
        out[p] = total_em * split[:, j]
    for v in out.values():
        v[~present] = 0.0
    return out


def clip_and_calibrate(
    years: tuple[int, ...],
    present: np.ndarray,
    above: np.ndarray,
    in_env: np.ndarray,
    has_water: np.ndarray,
    meters: Meters,
    values: dict[str, np.ndarray],
) -> np.ndarray:
    """Clip legitimate values to their peer groups, then scale each year to the targets."""
    n_y = len(years)
    kwh = np.zeros((n_y, len(meters.firm)))
    n = present.shape[1]
    for k in range(n_y):
        g = above[k].astype(np.int8)
        pres = present[k]
        for name in ("tax", "value_added", "employees", "energy"):
            values[name][k] = clip_to_peers(values[name][k], g, pres)
        values["revenue"][k] = clip_to_peers(values["revenue"][k], g, pres)
        values["value_added"][k] = np.minimum(values["value_added"][k], 0.9 * values["revenue"][k])
        capped_rd = np.minimum(values["rd"][k], 0.2 * values["revenue"][k])
        values["rd"][k] = clip_to_peers(capped_rd, g, pres)
        env = pres & in_env
        for p in POLLUTANTS:
            values[p][k] = clip_to_peers(values[p][k], g, env)
        values["water"][k] = clip_to_peers(values["water"][k], g, pres & has_water)
        rows = values["electricity"][k][meters.firm] * meters.share
        kwh[k] = clip_to_peers(rows, g[meters.firm], pres[meters.firm])
        values["electricity"][k] = np.bincount(meters.firm, weights=kwh[k], minlength=n)

        a = pres & above[k]
        b = pres & ~above[k]
        land_a = values["land_mu"][k][a].sum()
        trend = 1.0 + YEARLY_GROWTH * (k - (n_y - 1) / 2)
        va = values["value_added"][k]
        s_va = TARGETS["va_per_mu"].target * trend / (va[a].sum() / land_a)
        for name in ("value_added", "revenue", "rd", "water"):
            values[name][k] *= s_va
        # Meter readings are whole kWh and the firm's electricity is their sum.
        kwh[k] = np.where(kwh[k] > 0, np.maximum(np.round(kwh[k] * s_va), 1.0), 0.0)
        values["electricity"][k] = np.bincount(meters.firm, weights=kwh[k], minlength=n)
        va = values["value_added"][k]
        values["employees"][k] *= (va[a].sum() / values["employees"][k][a].sum()) / (
            TARGETS["labour_productivity"].target * trend
        )
        values["energy"][k] *= (va[a].sum() / values["energy"][k][a].sum()) / TARGETS[
            "va_per_energy"
        ].target
        ae = a & in_env
        em = sum(values[p][k][ae].sum() for p in POLLUTANTS)
        s_em = (va[ae].sum() / em) / TARGETS["va_per_emissions"].target if em > 0 else 1.0
        for p in POLLUTANTS:
            values[p][k] *= s_em
        rev = values["revenue"][k]
        values["rd"][k] *= TARGETS["rd_intensity"].target / (
            values["rd"][k][a].sum() / rev[a].sum()
        )
        tax = values["tax"][k]
        s_a = TARGETS["tax_per_mu"].target * trend / (tax[a].sum() / land_a)
        b3 = b & (values["land_mu"][k] >= 3)
        s_b = TARGETS["below_tax_per_mu"].target / (tax[b3].sum() / values["land_mu"][k][b3].sum())
        values["tax"][k] = np.where(above[k], tax * s_a, tax * s_b)
    return kwh


def add_legit_edges(
    rng: np.random.Generator,
    present: np.ndarray,
    in_env: np.ndarray,
    utility: np.ndarray,
    values: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Negative net tax for ~0.3 % of firms and zero emissions for ~5 % of env rows."""
    negative = present & ~utility & (rng.random(present.shape) < 0.003)
    values["tax"][negative] *= -rng.uniform(0.02, 0.3, int(negative.sum()))
    zero = present & in_env[None, :] & (rng.random(present.shape) < 0.05)
    for p in POLLUTANTS:
        values[p][zero] = 0.0
    return negative, zero


def round_values(values: dict[str, np.ndarray]) -> None:
    """Round to the precision departments deliver (money to 1 元 or 0.1 万元)."""
    values["tax"][:] = np.round(values["tax"], 4)
    for name in ("value_added", "revenue", "rd"):
        values[name][:] = np.round(values[name], 1)
    energy = values["energy"]
    energy[:] = np.where(energy > 0, np.maximum(np.round(energy, 2), 0.01), 0.0)
    for p in POLLUTANTS:
        values[p][:] = np.where(values[p] > 0, np.maximum(np.round(values[p], 4), 1e-4), 0.0)
    for name in ("employees", "water"):
        values[name][:] = np.where(values[name] > 0, np.maximum(np.round(values[name]), 1.0), 0.0)

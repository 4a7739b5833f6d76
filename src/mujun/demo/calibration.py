"""Calibration targets of the demo province and the figures a generated province achieves.

Province-wide totals over totals for above-size (规上) firms, from domain.md §4-5: tax per mu
28.1 and value added per mu 135.7 万元/亩 (province 2021), labour productivity 23.5 万元/人
(2020 baseline), each within ±10 %; VA per energy 1.1-2.7 万元/吨标煤, VA per emissions
600-5000 万元/吨 and R&D over revenue 0.024-0.031 (between the Lishui and Huangyan figures).
Below-size firms with ≥3 mu pay around 10-17 万元/亩. Correlations of the log indicators
across above-size firms: tax/mu with VA/mu 0.7, VA/mu with VA/employee 0.6, VA/energy with
VA/mu 0.4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mujun.demo.population import Population

# Per-mu figures and productivity grow this much per year around the middle year's target.
YEARLY_GROWTH = 0.015


@dataclass(frozen=True)
class Target:
    """A calibration figure: what it means, its aim and the accepted range."""

    label: str  # short Chinese name; the key (e.g. tax_per_mu) is the English one
    unit: str
    target: float
    low: float
    high: float


TARGETS: dict[str, Target] = {
    "tax_per_mu": Target("亩均税收", "万元/亩", 28.1, 25.29, 30.91),
    "va_per_mu": Target("亩均增加值", "万元/亩", 135.7, 122.13, 149.27),
    "labour_productivity": Target("全员劳动生产率", "万元/人", 23.5, 21.15, 25.85),
    "va_per_energy": Target("单位能耗增加值", "万元/吨标煤", 1.9, 1.1, 2.7),
    "va_per_emissions": Target("单位排放增加值", "万元/吨", 2000.0, 600.0, 5000.0),
    "rd_intensity": Target("R&D经费占比", "", 0.028, 0.024, 0.031),
    "below_tax_per_mu": Target("规下≥3亩 亩均税收", "万元/亩", 13.5, 10.0, 17.0),
    "median_land_above": Target("规上用地中位数", "亩", 30.0, 20.0, 60.0),
    "median_employees_above": Target("规上人数中位数", "人", 150.0, 100.0, 300.0),
    "above_share": Target("规上占比", "", 0.45, 0.40, 0.50),
    "below_ge3_share": Target("规下≥3亩占比", "", 0.80, 0.72, 0.88),
    "corr_tax_va": Target("相关 税收/增加值", "", 0.70, 0.60, 0.80),
    "corr_va_productivity": Target("相关 增加值/劳产率", "", 0.60, 0.50, 0.70),
    "corr_energy_va": Target("相关 能效/增加值", "", 0.40, 0.30, 0.50),
}


def _ratio(num: np.ndarray, den: np.ndarray) -> float:
    d = float(den.sum())
    return float(num.sum()) / d if d else float("nan")


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def figures_for_year(pop: Population, year: int) -> dict[str, float]:
    """The calibration figures of one year, computed from the true values."""
    k = pop.year_index(year)
    v = {name: arr[k] for name, arr in pop.values.items()}
    pres = pop.present[k]
    a = pres & pop.above[k]
    b = pres & ~pop.above[k]
    land = v["land_mu"]
    ae = a & pop.in_env
    emissions = v["cod"] + v["ammonia"] + v["so2"] + v["nox"]
    b3 = b & (land >= 3)
    ok = a & (v["tax"] > 0) & (v["employees"] > 0) & (v["energy"] > 0)
    log_tax = np.log(v["tax"][ok] / land[ok])
    log_va = np.log(v["value_added"][ok] / land[ok])
    log_prod = np.log(v["value_added"][ok] / v["employees"][ok])
    log_energy = np.log(v["value_added"][ok] / v["energy"][ok])
    return {
        "tax_per_mu": _ratio(v["tax"][a], land[a]),
        "va_per_mu": _ratio(v["value_added"][a], land[a]),
        "labour_productivity": _ratio(v["value_added"][a], v["employees"][a]),
        "va_per_energy": _ratio(v["value_added"][a], v["energy"][a]),
        "va_per_emissions": _ratio(v["value_added"][ae], emissions[ae]),
        "rd_intensity": _ratio(v["rd"][a], v["revenue"][a]),
        "below_tax_per_mu": _ratio(v["tax"][b3], land[b3]),
        "median_land_above": float(np.median(land[a])) if a.any() else float("nan"),
        "median_employees_above": float(np.median(v["employees"][a])) if a.any() else float("nan"),
        "above_share": float(a.sum() / max(int(pres.sum()), 1)),
        "below_ge3_share": float(b3.sum() / max(int(b.sum()), 1)),
        "corr_tax_va": _corr(log_tax, log_va),
        "corr_va_productivity": _corr(log_va, log_prod),
        "corr_energy_va": _corr(log_energy, log_va),
    }


def compute_calibration(pop: Population) -> dict[str, Any]:
    """Figures of the latest year against their targets, plus every year's figures."""
    by_year = {str(y): figures_for_year(pop, y) for y in pop.years}
    latest = pop.years[-1]
    figures = {}
    for key, t in TARGETS.items():
        value = by_year[str(latest)][key]
        figures[key] = {
            "label": t.label,
            "unit": t.unit,
            "value": round(value, 6),
            "target": t.target,
            "low": t.low,
            "high": t.high,
            "pass": bool(t.low <= value <= t.high),
        }
    rounded = {y: {k: round(x, 6) for k, x in f.items()} for y, f in by_year.items()}
    return {"year": latest, "figures": figures, "by_year": rounded}

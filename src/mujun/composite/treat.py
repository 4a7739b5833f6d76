"""Outlier treatment, following COINr's ``Treat()`` defaults exactly.

Per column, on its non-missing values: test type-2 skewness G1 and excess kurtosis G2; a column
fails only when |G1| ≥ skew AND G2 ≥ kurt. A failing column is winsorised one tied block at
a time (top block if G1 ≥ 0, else bottom) while it fails and fewer than ``winmax`` points have
moved; if it still fails, the winsorised values are discarded and the ORIGINAL column is
log-transformed with ``log(x − min + 0.01·(max − min))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["OutlierTreatment", "skew_kurt", "treat_column"]


@dataclass(frozen=True)
class OutlierTreatment:
    """What treatment did to one indicator."""

    status: Literal["passed", "winsorised", "log-transformed"]
    points: int  # points winsorised in the kept column (0 when passed or log-transformed)
    points_tried: int  # points winsorised before falling back to the log (= points otherwise)
    skew: float  # G1 before treatment
    kurt: float  # G2 before treatment
    skew_after: float
    kurt_after: float


def skew_kurt(values: np.ndarray) -> tuple[float, float]:
    """Type-2 (bias-adjusted) skewness G1 and excess kurtosis G2 of non-missing values."""
    v = values[~np.isnan(values)]
    n = v.shape[0]
    if n < 4:
        return float("nan"), float("nan")
    d = v - v.sum() / n
    d2 = d * d
    s2 = d2.sum()
    if s2 == 0:
        return float("nan"), float("nan")
    s3 = (d2 * d).sum()
    s4 = (d2 * d2).sum()
    # Spreads near the float limits under- or overflow to 0/0 or inf/inf: NaN, i.e. "passes".
    with np.errstate(all="ignore"):
        g1 = np.sqrt(n) * s3 / s2**1.5 * np.sqrt(n * (n - 1)) / (n - 2)
        r = n * s4 / (s2 * s2)
        g2 = ((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))
    return float(g1), float(g2)


def _fails(g1: float, g2: float, skew: float, kurt: float) -> bool:
    # NaN statistics (fewer than 4 values, constant column) compare False: the column passes.
    return bool(abs(g1) >= skew and g2 >= kurt)


def treat_column(
    x: np.ndarray, *, skew: float = 2.0, kurt: float = 3.5, winmax: int = 5
) -> tuple[np.ndarray, OutlierTreatment]:
    """Treat one column (NaN = missing, kept missing); returns the new column and a record."""
    ok = ~np.isnan(x)
    original = x[ok]
    g1, g2 = skew_kurt(original)
    if not _fails(g1, g2, skew, kurt):
        return x.copy(), OutlierTreatment("passed", 0, 0, g1, g2, g1, g2)

    v = original.copy()
    cur1, cur2 = g1, g2
    top = bottom = 0  # size of the block moved in the latest step at each end
    moved = 0
    while _fails(cur1, cur2, skew, kurt) and moved < winmax:
        if cur1 >= 0:
            block = v == v.max()
            if block.all():
                break
            v[block] = v[~block].max()
            top = int(block.sum())
        else:
            block = v == v.min()
            if block.all():
                break
            v[block] = v[~block].min()
            bottom = int(block.sum())
        # A tied block moves together and includes every point moved earlier at that end, so
        # top + bottom counts each winsorised point once and can exceed winmax.
        moved = top + bottom
        cur1, cur2 = skew_kurt(v)

    out = x.copy()
    if not _fails(cur1, cur2, skew, kurt):
        out[ok] = v
        return out, OutlierTreatment("winsorised", moved, moved, g1, g2, cur1, cur2)

    lo, hi = original.min(), original.max()
    logged = np.log(original - lo + 0.01 * (hi - lo))
    out[ok] = logged
    a1, a2 = skew_kurt(logged)
    return out, OutlierTreatment("log-transformed", 0, moved, g1, g2, a1, a2)

"""Classification: percentile bands per cohort, then caps, floors and absolute thresholds.

Conventions (docs/rules.md):

- Scores are rounded to the rule set's precision before anything is compared, so ranks do not
  depend on float noise.
- Band sizes per cohort follow the **largest-remainder** rule: class i gets floor(share_i × n)
  firms, and the firms left over go one each to the classes with the largest fractional parts
  (on equal fractions, the better class first).
- Firms are ordered by rounded score, best first. Ties are handled one of two ways:
  - ``share`` (default): a firm takes the class of its **competition rank** (the position of the
    first firm with the same score in its cohort), so equal scores always share a class and a tie
    across a boundary goes to the better class; band sizes follow the rule exactly whenever no tie
    straddles a boundary;
  - ``break``: equal scores are ordered by the rule set's tie-break keys (e.g. 亩均税收, higher
    first) and then by credit code; every firm gets its own rank and band sizes follow the rule
    exactly.
- Caps and floors are applied after the bands: a cap is the best class a firm may have (an
  accident caps at C), a floor the worst (a new firm cannot fall below C); a cap wins over a floor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Banding:
    """Classes of each firm (index into the class list, 0 = best) and cohort statistics."""

    klass: np.ndarray  # int per firm, -1 for firms not classified
    rank: np.ndarray  # competition rank within the cohort (1 = best), 0 if not classified
    position: np.ndarray  # 1-based order within the cohort after tie-breaking
    cohort_size: np.ndarray  # size of the firm's cohort
    percentile: np.ndarray  # rank-based percentile in the cohort: 1 best … 0 worst


def band_sizes(n: int | np.ndarray, shares: list[float] | np.ndarray) -> np.ndarray:
    """Class sizes for cohorts of ``n`` firms by the largest-remainder rule (rows: cohorts)."""
    n_arr = np.atleast_1d(np.asarray(n, dtype=np.int64))
    s = np.asarray(shares, dtype=np.float64)
    s = s / s.sum()
    quota = n_arr[:, None] * s[None, :]
    base = np.floor(quota + 1e-9).astype(np.int64)
    left = n_arr - base.sum(axis=1)
    frac = quota - base
    # Order classes by fractional part, larger first; on equal fractions the better class first.
    order = np.lexsort(
        (np.arange(s.size)[None, :].repeat(n_arr.size, 0), -np.round(frac, 9)), axis=1
    )
    extra = np.zeros_like(base)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(s.size)[None, :].repeat(n_arr.size, 0), axis=1)
    extra[ranks < left[:, None]] = 1
    sizes = base + extra
    return sizes if np.ndim(n) else sizes[0]


def assign_bands(
    cohort: np.ndarray,
    score: np.ndarray,
    shares: list[float],
    *,
    tiebreak: np.ndarray | None = None,
    eligible: np.ndarray | None = None,
    keys: list[np.ndarray] | None = None,
    ties: str = "share",
) -> Banding:
    """Class every eligible firm by percentile bands of its (already rounded) score in its cohort.

    ``keys`` (higher is better, NaN last) order firms with equal scores before ``tiebreak``; with
    ``ties="break"`` they also decide the class, else equal scores share one.
    """
    n = score.size
    elig = np.ones(n, dtype=bool) if eligible is None else eligible.astype(bool)
    elig &= ~np.isnan(score)
    klass = np.full(n, -1, dtype=np.int64)
    rank = np.zeros(n, dtype=np.int64)
    position = np.zeros(n, dtype=np.int64)
    size = np.zeros(n, dtype=np.int64)
    pct = np.full(n, np.nan)
    idx = np.flatnonzero(elig)
    if idx.size == 0:
        return Banding(klass, rank, position, size, pct)
    c = np.asarray(cohort)[idx]
    sc = score[idx]
    tb = np.arange(idx.size) if tiebreak is None else np.asarray(tiebreak)[idx]
    extra = [-np.nan_to_num(np.asarray(k, dtype=np.float64)[idx], nan=-np.inf) for k in keys or []]
    order = np.lexsort((tb, *reversed(extra), -sc, c))
    c_sorted, s_sorted = c[order], sc[order]
    cohorts, start, counts = np.unique(c_sorted, return_index=True, return_counts=True)
    cohort_of = np.repeat(np.arange(cohorts.size), counts)
    pos = np.arange(idx.size) - start[cohort_of]  # 0-based within cohort
    # Competition rank: position of the first firm with the same score in the cohort.
    new_block = np.ones(idx.size, dtype=bool)
    new_block[1:] = (s_sorted[1:] != s_sorted[:-1]) | (cohort_of[1:] != cohort_of[:-1])
    block_start = np.maximum.accumulate(np.where(new_block, np.arange(idx.size), 0))
    comp = block_start - start[cohort_of] if ties == "share" else pos
    sizes = band_sizes(counts, shares)
    bounds = np.cumsum(sizes, axis=1)  # exclusive upper position of each class
    k = (comp[:, None] >= bounds[cohort_of][:, :-1]).sum(axis=1)
    out = idx[order]
    klass[out] = k
    rank[out] = comp + 1
    position[out] = pos + 1
    size[out] = counts[cohort_of]
    pct[out] = np.where(
        counts[cohort_of] > 1, 1.0 - comp / np.maximum(counts[cohort_of] - 1, 1), 1.0
    )
    return Banding(klass, rank, position, size, pct)


def apply_limits(
    klass: np.ndarray, cap: np.ndarray | None = None, floor: np.ndarray | None = None
) -> np.ndarray:
    """Apply per-firm caps (best class allowed) and floors (worst allowed); -1 means none.

    Class indices grow worse (0 = A). A cap wins over a floor.
    """
    out = klass.copy()
    classed = out >= 0
    if floor is not None:
        f = floor >= 0
        out = np.where(classed & f, np.minimum(out, floor), out)
    if cap is not None:
        c = cap >= 0
        out = np.where(classed & c, np.maximum(out, cap), out)
    return out

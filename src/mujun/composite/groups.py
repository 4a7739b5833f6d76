"""Vectorised group-by over units: integer group codes plus bincount / sort-based statistics.

Every statistic ignores NaN and gives NaN for a group with no value. Sums run in row order; the
engine sorts rows by unit id first, so group statistics do not depend on the input row order
(design principle 7).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["Grouping", "make_grouping"]


@dataclass(frozen=True, eq=False)
class Grouping:
    """Units mapped to groups: ``codes[i]`` is the group of unit i, ``labels[g]`` its name."""

    codes: np.ndarray  # intp, one per unit
    labels: np.ndarray  # str, one per group

    @property
    def n_groups(self) -> int:
        """Number of groups (some may be empty after screening)."""
        return int(self.labels.shape[0])

    def take(self, rows: np.ndarray) -> Grouping:
        """The same groups restricted to a subset of units (labels kept, some may go empty)."""
        return Grouping(self.codes[rows], self.labels)

    @cached_property
    def sizes(self) -> np.ndarray:
        """Units per group."""
        return np.bincount(self.codes, minlength=self.n_groups)

    def count(self, x: np.ndarray) -> np.ndarray:
        """Non-missing values per group."""
        ok = ~np.isnan(x)
        return np.bincount(self.codes[ok], minlength=self.n_groups).astype(np.float64)

    def sum(self, x: np.ndarray) -> np.ndarray:
        """Sum of non-missing values per group (0 for none)."""
        ok = ~np.isnan(x)
        return np.bincount(self.codes[ok], weights=x[ok], minlength=self.n_groups)

    def mean(self, x: np.ndarray) -> np.ndarray:
        """Arithmetic mean of non-missing values per group."""
        n = self.count(x)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, self.sum(x) / n, np.nan)

    def std(self, x: np.ndarray) -> np.ndarray:
        """Sample standard deviation (n − 1) per group; NaN below two values."""
        n = self.count(x)
        mean = self.mean(x)
        d = x - mean[self.codes]
        ok = ~np.isnan(d)
        ss = np.bincount(self.codes[ok], weights=d[ok] * d[ok], minlength=self.n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 1, np.sqrt(ss / (n - 1)), np.nan)

    def _sorted(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Non-missing values sorted by (group, value), with each group's start and count."""
        ok = ~np.isnan(x)
        codes, vals = self.codes[ok], x[ok]
        order = np.lexsort((vals, codes))
        counts = np.bincount(codes, minlength=self.n_groups)
        starts = np.cumsum(counts) - counts
        return vals[order], starts, counts

    def median(self, x: np.ndarray) -> np.ndarray:
        """Median of non-missing values per group (mean of the two middle values if even)."""
        vals, starts, counts = self._sorted(x)
        out = np.full(self.n_groups, np.nan)
        has = counts > 0
        lo = starts[has] + (counts[has] - 1) // 2
        hi = starts[has] + counts[has] // 2
        out[has] = (vals[lo] + vals[hi]) / 2.0
        return out

    def min_max(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Minimum and maximum of non-missing values per group."""
        lo = np.full(self.n_groups, np.nan)
        hi = np.full(self.n_groups, np.nan)
        ok = ~np.isnan(x)
        if not ok.any():
            return lo, hi
        codes, vals = self.codes[ok], x[ok]
        # Sorting by group only (stable) is cheaper than by (group, value); reduceat does the rest.
        order = np.argsort(codes, kind="stable")
        counts = np.bincount(codes, minlength=self.n_groups)
        has = counts > 0
        starts = (np.cumsum(counts) - counts)[has]
        sv = vals[order]
        lo[has] = np.minimum.reduceat(sv, starts)
        hi[has] = np.maximum.reduceat(sv, starts)
        return lo, hi

    def rank_min(self, x: np.ndarray, *, descending: bool) -> np.ndarray:
        """Rank within group, ties sharing the lowest rank (R ``ties = "min"``); NaN → 0."""
        n = x.shape[0]
        ranks = np.zeros(n, dtype=np.int64)
        ok = ~np.isnan(x)
        if not ok.any():
            return ranks
        idx = np.flatnonzero(ok)
        codes, vals = self.codes[idx], x[idx]
        key = -vals if descending else vals
        order = np.lexsort((key, codes))
        sc, sk = codes[order], key[order]
        pos = np.arange(order.shape[0])
        new_group = np.empty(order.shape[0], dtype=bool)
        new_group[0] = True
        new_group[1:] = sc[1:] != sc[:-1]
        new_block = new_group.copy()
        new_block[1:] |= sk[1:] != sk[:-1]
        group_start = np.maximum.accumulate(np.where(new_group, pos, 0))
        block_start = np.maximum.accumulate(np.where(new_block, pos, 0))
        ranks[idx[order]] = block_start - group_start + 1
        return ranks


def make_grouping(keys: Sequence[np.ndarray], n: int) -> Grouping:
    """Group units by one or more key columns (combined); no keys puts every unit in one group."""
    if not keys:
        return Grouping(np.zeros(n, dtype=np.intp), np.array(["(all)"]))
    codes = np.zeros(n, dtype=np.int64)
    names: list[str] = [""]
    for depth, key in enumerate(keys):
        labels, inverse = np.unique(np.asarray(key).astype(str), return_inverse=True)
        width = labels.shape[0]
        # Compact after each key so the combined code never overflows; loops run over groups.
        uniq, codes = np.unique(codes * width + inverse.reshape(-1), return_inverse=True)
        sep = "|" if depth else ""
        names = [f"{names[u // width]}{sep}{labels[u % width]}" for u in uniq.tolist()]
        codes = codes.reshape(-1)
    return Grouping(codes.astype(np.intp), np.array(names, dtype=str))

"""Item scores, level-by-level aggregation through the framework tree, and ranking.

Children combine into their parent with weights w (the spec's, or overrides):

- ``arithmetic``: Σ w·x / Σ w
- ``geometric``: exp(Σ w·ln x / Σ w); a zero child makes the parent 0 (the limit of the product),
  a negative child makes it missing (the logarithm is undefined)
- ``harmonic``: Σ w / Σ (w / x); zero → 0, negative → missing, as for geometric
- ``sum``: Σ w·x, scaled by Σ w(all children) / Σ w(present children) under ``missing: drop``

``missing: drop`` sums over present children only (weights renormalised); ``zero`` counts a
missing child as 0. A parent with every child missing, or whose present children all weigh 0,
is missing. An item score made with ``scale_by_weight`` already carries its weight, so it enters
its parent with factor 1 (its weight still counts in Σ w): the weight is never applied twice.
Item scores and aggregates are rounded to ``precision`` decimals level by level, so a parent is
computed from the rounded values shown for its children.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mujun.composite.groups import Grouping
from mujun.composite.spec import CompositeSpec

__all__ = ["Tree", "aggregate_tree", "build_tree", "item_scores", "rank_scores", "round_scores"]


@dataclass(frozen=True)
class Tree:
    """The framework tree, with aggregates in bottom-up evaluation order."""

    indicators: tuple[str, ...]
    aggregates: tuple[str, ...]  # every child before its parent; root last
    children: dict[str, tuple[str, ...]]
    level: dict[str, int]  # indicators 1; an aggregate is 1 + its highest child
    method: dict[str, str]
    missing: dict[str, str]
    root: str


def build_tree(spec: CompositeSpec) -> Tree:
    """The evaluation order and levels of a validated spec's tree."""
    children: dict[str, list[str]] = {a.code: [] for a in spec.aggregates}
    for ind in spec.indicators:
        children[ind.parent].append(ind.code)
    for agg in spec.aggregates:
        if agg.parent is not None:
            children[agg.parent].append(agg.code)
    level = {i.code: 1 for i in spec.indicators}
    pending = [a.code for a in spec.aggregates]
    order: list[str] = []
    # Repeatedly place aggregates whose children are all placed (the tree is acyclic: checked).
    while pending:
        ready = [c for c in pending if all(k in level for k in children[c])]
        for code in ready:
            level[code] = 1 + max(level[k] for k in children[code])
            order.append(code)
        pending = [c for c in pending if c not in level]
    order.sort(key=lambda c: level[c])  # stable: spec order within a level
    root = next(a.code for a in spec.aggregates if a.parent is None)
    return Tree(
        indicators=tuple(spec.indicator_codes),
        aggregates=tuple(order),
        children={k: tuple(v) for k, v in children.items()},
        level=level,
        method={a.code: a.method for a in spec.aggregates},
        missing={a.code: a.missing for a in spec.aggregates},
        root=root,
    )


def round_scores(x: np.ndarray, precision: int) -> np.ndarray:
    """Round to ``precision`` decimals (numpy, half to even); −0.0 becomes 0.0."""
    return np.round(x, precision) + 0.0


def item_scores(
    normalised: np.ndarray,
    weights: np.ndarray,
    scaled: np.ndarray,
    points: np.ndarray,
    precision: int,
) -> np.ndarray:
    """normalised × weight × points for weight-scaled items, else normalised; rounded."""
    factor = np.where(scaled, weights * points, 1.0)
    return round_scores(normalised * factor, precision)


def _combine(
    x: np.ndarray, w: np.ndarray, carries_weight: np.ndarray, method: str, missing: str
) -> np.ndarray:
    """One parent from its n × c children scores."""
    present = ~np.isnan(x)
    none_present = ~present.any(axis=1)
    if missing == "zero":
        x = np.where(present, x, 0.0)
        present = np.ones_like(present)
    wp = np.where(present, w, 0.0)
    w_present = wp.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if method in ("arithmetic", "sum"):
            mult = np.where(carries_weight, 1.0, w)
            num = np.where(present, x * mult, 0.0).sum(axis=1)
            out = num / w_present
            if method == "sum":
                out = out * w.sum()
        else:
            # Weight-carrying items are divided back to their unweighted value first.
            u = np.where(carries_weight & (w > 0), x / np.where(w > 0, w, 1.0), x)
            active = present & (w > 0)
            negative = (active & (u < 0)).any(axis=1)
            zero = (active & (u == 0)).any(axis=1)
            pos = active & (u > 0)
            if method == "geometric":
                logs = np.where(pos, np.log(np.where(pos, u, 1.0)), 0.0)
                out = np.exp((logs * w).sum(axis=1) / w_present)
            else:  # harmonic
                inv = np.where(pos, w / np.where(pos, u, 1.0), 0.0)
                out = w_present / inv.sum(axis=1)
            out = np.where(zero, 0.0, out)
            out = np.where(negative, np.nan, out)
    out = np.where((w_present > 0) & ~none_present, out, np.nan)
    return out


def aggregate_tree(
    tree: Tree,
    items: np.ndarray,
    weights: dict[str, float],
    scaled: np.ndarray,
    precision: int,
) -> dict[str, np.ndarray]:
    """Score every aggregate bottom-up from the item-score matrix; loops over aggregates only."""
    scores: dict[str, np.ndarray] = {c: items[:, j] for j, c in enumerate(tree.indicators)}
    carries = {c: bool(scaled[j]) for j, c in enumerate(tree.indicators)}
    out: dict[str, np.ndarray] = {}
    for code in tree.aggregates:
        kids = tree.children[code]
        x = np.column_stack([scores[k] for k in kids])
        w = np.array([weights[k] for k in kids], dtype=np.float64)
        cw = np.array([carries.get(k, False) for k in kids])
        value = round_scores(_combine(x, w, cw, tree.method[code], tree.missing[code]), precision)
        scores[code] = value
        out[code] = value
    return out


def rank_scores(total: np.ndarray, cohort: Grouping) -> np.ndarray:
    """Descending ranks within cohort, ties sharing the lowest rank; missing totals get 0."""
    return cohort.rank_min(total, descending=True)

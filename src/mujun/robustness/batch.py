"""Many weight sets at once: batched totals and classes over a run's firms.

The robustness analyses evaluate thousands of weight sets. Re-running the whole scoring for each
would loop in Python over full re-scorings; instead everything that does not depend on the
weights is taken once from the real scoring state (normalised matrix, cohorts, bonus and
penalty points, caps, floors and thresholds, tie-break keys, tenants) and the weight-dependent
part is computed for a batch of B weight sets as n × B matrices:

- item scores and the aggregate follow :mod:`mujun.composite.aggregate` operation by operation
  (same rounding), for the one-level trees every preset uses (``sum`` or ``arithmetic``); other
  trees go through the engine's own ``reaggregate`` one weight set at a time;
- classes follow :mod:`mujun.classify`: firms are ordered per cohort by rounded total, then the
  static tie-break order (``break``) or sharing equal totals (``share``), banded by the
  largest-remainder sizes, then caps and floors, then tenants taking their landlord's class.

With the run's own weights the result equals the run (a test pins it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mujun.classify import apply_limits, band_sizes
from mujun.composite.aggregate import round_scores
from mujun.composite.engine import CompositeResult
from mujun.evaluation.inputs import STATUS_EVALUATED
from mujun.evaluation.scoring import Scored
from mujun.rules import RuleSet


def base_weights(res: CompositeResult) -> np.ndarray:
    """The weights of a composite's indicators, in indicator order."""
    return np.array([res.weights[c] for c in res.indicators], dtype=np.float64)


def renormalise(base: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Weights base × factor rescaled to the base total (rows: weight sets).

    With every factor 1 the weights are returned bit for bit: the scale Σw ÷ Σ(w·f) is then
    exactly 1.
    """
    w = base[None, :] * np.atleast_2d(factors)
    s = w.sum(axis=1, keepdims=True)
    return w * np.where(s > 0, base.sum() / np.where(s > 0, s, 1.0), 0.0)


def _one_level(res: CompositeResult) -> bool:
    tree = res.tree
    return (
        res.aggregated
        and tree.aggregates == (tree.root,)
        and tree.method[tree.root] in ("sum", "arithmetic")
    )


def composite_totals(res: CompositeResult, weights: np.ndarray) -> np.ndarray:
    """Composite totals (n × B) of a size class's units for B weight sets (B × k)."""
    W = np.atleast_2d(weights)
    if not _one_level(res):
        cols = [
            res.reaggregate(dict(zip(res.indicators, w.tolist(), strict=True))).total for w in W
        ]
        return np.column_stack(cols) if cols else np.zeros((res.units.size, 0))
    prec = res.spec.precision
    Wt = W.T  # k × B
    N = res.normalised
    present = ~np.isnan(N)  # the same for every weight set: weights are finite
    none_present = ~present.any(axis=1)
    factor = np.where(res.scaled[:, None], Wt * res.points[:, None], 1.0)
    # Missing cells are 0 here and masked below; rounding as aggregate.item_scores does.
    x = np.where(present, N, 0.0)[:, :, None] * factor[None, :, :]  # n × k × B
    np.round(x, prec, out=x)
    if not res.scaled.all():
        x *= np.where(res.scaled[:, None], 1.0, Wt)[None, :, :]
    num = x.sum(axis=1)  # n × B
    method, missing = res.tree.method[res.tree.root], res.tree.missing[res.tree.root]
    if missing == "zero":
        w_present = np.broadcast_to(Wt.sum(axis=0)[None, :], num.shape)
    else:
        w_present = np.where(present[:, :, None], Wt[None, :, :], 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / w_present
        if method == "sum":
            out = out * Wt.sum(axis=0)[None, :]
    out = np.where((w_present > 0) & ~none_present[:, None], out, np.nan)
    return round_scores(out, prec)


@dataclass
class SizeBlock:
    """Static banding inputs of one size class: eligible rows, cohorts, tie-break order."""

    size: str
    rows: np.ndarray  # positions (in the group) of eligible firms
    cohort_code: np.ndarray  # per eligible firm
    counts: np.ndarray  # firms per cohort
    start: np.ndarray  # first sorted position of each cohort
    bounds: np.ndarray  # cohorts × classes: exclusive upper position of each class
    tb_pos: np.ndarray  # static tie-break order (0 = first) among eligible firms
    ties: str


@dataclass
class Classifier:
    """Everything weight-independent that turns totals into classes for one scored group."""

    rules: RuleSet
    scored: Scored
    bonus: np.ndarray
    penalty: np.ndarray
    blocks: list[SizeBlock]
    cap: np.ndarray
    floor: np.ndarray
    take_rows: np.ndarray  # tenants taking their landlord's class
    take_from: np.ndarray  # their landlord's position

    @property
    def n(self) -> int:
        """Firms in the group."""
        return int(self.scored.idx.size)


def _tie_order(scored: Scored, rules: RuleSet, sz: str, rows: np.ndarray, uscc) -> np.ndarray:
    """Static order of equal totals: tie-break keys (higher first, missing last), credit code."""
    keys = []
    it = scored.items.get(sz)
    sr = rules.size_rules(sz)
    n = scored.idx.size
    for code in sr.tie_break if sr is not None else []:
        if it is not None and code in list(it["codes"]):
            vals = np.full(n, np.nan)
            vals[it["rows"]] = it["value"][:, list(it["codes"]).index(code)]
            keys.append(-np.nan_to_num(vals[rows], nan=-np.inf))
    order = np.lexsort((uscc[rows], *reversed(keys)))
    pos = np.empty(rows.size, dtype=np.int64)
    pos[order] = np.arange(rows.size)
    return pos


def make_classifier(firms_uscc: np.ndarray, rules: RuleSet, scored: Scored) -> Classifier:
    """The static part of classification for a scored group (see the module docstring)."""
    c = scored.cols
    uscc = firms_uscc[scored.idx].astype(str)
    blocks = []
    for sz in ("above", "below"):
        sr = rules.size_rules(sz)
        elig = (c["size"] == sz) & (c["status"] == STATUS_EVALUATED) & ~np.isnan(c["total"])
        if sr is None or not elig.any():
            continue
        rows = np.flatnonzero(elig)
        _labels, code, counts = np.unique(
            c["cohort"][rows].astype(str), return_inverse=True, return_counts=True
        )
        start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        bounds = np.cumsum(band_sizes(counts, sr.bands), axis=1)
        blocks.append(
            SizeBlock(
                sz,
                rows,
                code,
                counts,
                start,
                bounds,
                _tie_order(scored, rules, sz, rows, uscc),
                sr.ties,
            )
        )
    lessor_pos = c["lessor_pos"]
    take = np.zeros(scored.idx.size, dtype=bool)
    if "merged" in c:
        take |= c["merged"]
    if rules.land.below_size_tenant_takes_landlord_class:
        take |= (c["size"] == "below") & (c["category"] == "tenant") & (lessor_pos >= 0)
    take &= lessor_pos >= 0
    rows = np.flatnonzero(take)
    return Classifier(
        rules, scored, c["bonus"], c["penalty"], blocks, c["cap"], c["floor"], rows,
        lessor_pos[rows],
    )  # fmt: skip


def group_totals(clf: Classifier, weights: dict[str, np.ndarray]) -> np.ndarray:
    """Final totals (n × B) for B weight sets per size class ({size: B × k}); sizes without
    weights keep the run's totals."""
    comps = clf.scored.composites
    B = max(np.atleast_2d(w).shape[0] for w in weights.values()) if weights else 1
    comp_total = np.repeat(clf.scored.cols["composite_total"][:, None], B, axis=1)
    for sz, res in comps.items():
        w = weights.get(sz)
        if w is not None:
            comp_total[clf.scored.items[sz]["rows"]] = composite_totals(res, w)
        # else: the scored totals of that size class stand (same weights, same scoring state)
    # As scoring._adjust: composite + bonus − penalty, rounded to the rule set's precision.
    return np.round(comp_total + clf.bonus[:, None] - clf.penalty[:, None], clf.rules.precision)


@dataclass
class BatchClasses:
    """Classes and cohort ranks (n × B) of a batch; -1 / 0 for firms not classified."""

    klass: np.ndarray
    rank: np.ndarray
    band: np.ndarray


def classify_batch(clf: Classifier, total: np.ndarray, sizes: tuple[str, ...] = ()) -> BatchClasses:
    """Band, limit and pass on classes for n × B totals (only ``sizes`` when given)."""
    n, B = total.shape
    band = np.full((n, B), -1, dtype=np.int64)
    rank = np.zeros((n, B), dtype=np.int64)
    scale = 10.0**clf.rules.precision
    for blk in clf.blocks:
        if sizes and blk.size not in sizes:
            continue
        m = blk.rows.size
        t = total[blk.rows].T  # B × m: one row per weight set, sorted row by row
        # A weight set can leave a firm without a total (every present item at weight 0 under
        # `missing: drop`); it is then ranked last and left unclassed (an approximation: the
        # real scoring would also shrink its cohort by one).
        lost = np.isnan(t)
        s = np.rint(np.where(lost, np.nanmin(t, initial=0.0) - 1.0, t) * scale).astype(np.int64)
        lo, hi = int(s.min()), int(s.max())
        span = hi - lo + 1
        n_coh = blk.counts.size
        cohort_of = np.repeat(np.arange(n_coh), blk.counts)  # static: cohort-major order
        if n_coh * span * m < 2**62:
            key = (blk.cohort_code[None, :] * span + (hi - s)) * m + blk.tb_pos[None, :]
            order = np.argsort(key, axis=1)
        else:  # pragma: no cover - astronomically wide score ranges
            order = np.vstack([np.lexsort((blk.tb_pos, -s[b], blk.cohort_code)) for b in range(B)])
        start = blk.start[cohort_of]
        if blk.ties == "share":
            s_sorted = np.take_along_axis(s, order, axis=1)
            new = np.ones((B, m), dtype=bool)
            new[:, 1:] = (s_sorted[:, 1:] != s_sorted[:, :-1]) | (cohort_of[1:] != cohort_of[:-1])[
                None, :
            ]
            idx = np.where(new, np.arange(m)[None, :], 0)
            comp = np.maximum.accumulate(idx, axis=1) - start[None, :]
        else:
            comp = np.broadcast_to((np.arange(m) - start)[None, :], (B, m))
        k_sorted = np.zeros((B, m), dtype=np.int64)
        for j in range(blk.bounds.shape[1] - 1):
            k_sorted += comp >= blk.bounds[cohort_of, j][None, :]
        k_out = np.empty((B, m), dtype=np.int64)
        r_out = np.empty((B, m), dtype=np.int64)
        np.put_along_axis(k_out, order, k_sorted, axis=1)
        np.put_along_axis(r_out, order, comp + 1, axis=1)
        k_out[lost], r_out[lost] = -1, 0
        band[blk.rows] = k_out.T
        rank[blk.rows] = r_out.T
    klass = apply_limits(band, clf.cap[:, None], clf.floor[:, None])
    if clf.take_rows.size:
        landlord = klass[clf.take_from]
        klass[clf.take_rows] = np.where(landlord >= 0, landlord, klass[clf.take_rows])
    return BatchClasses(klass, rank, band)

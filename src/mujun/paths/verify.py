"""Check a path by re-scoring: change one firm's lever and run the real adjust-and-classify.

This is the run's own pipeline from the item scores on (``scoring._adjust`` and
``scoring._classify``, as ``rescore`` uses them), over the firm's whole group, with the firm's
item scores recomputed from its changed inputs against the run's benchmarks. Every other firm
keeps its scores, so the cohort is re-banded with everything else fixed.
"""

from __future__ import annotations

import numpy as np

from mujun.composite.aggregate import aggregate_tree, item_scores
from mujun.composite.normalise import _goalposts, _ratio
from mujun.composite.spec import GoalpostsNormalise, RatioToBenchmarkNormalise
from mujun.errors import InputError
from mujun.evaluation.scoring import Scored, _adjust, _classify
from mujun.paths.solve import LEVER_BY_CODE, HeldScorer
from mujun.robustness.runscore import RunScoring


def rescore_with_change(rs: RunScoring, uscc: str, lever: str, value: float) -> int:
    """The class index the firm gets when ``lever`` is set to ``value`` (all else held)."""
    found = rs.group_of(uscc)
    if found is None:
        raise InputError(f"firm {uscc} is not in run {rs.run_id}")
    g, pos = found
    if lever not in LEVER_BY_CODE:
        raise InputError(f"unknown lever {lever!r}", f"choose from {', '.join(LEVER_BY_CODE)}")
    sc = g.scored
    size = str(sc.cols["size"][pos])
    scorer = HeldScorer(rs, g, size)
    rows = np.array([pos])
    inputs = {k: v[rows].astype(np.float64) for k, v in scorer.inputs.items()}
    inputs[LEVER_BY_CODE[lever].column] = np.array([float(value)])
    vals = scorer.values(rows, inputs)
    u = scorer.comp_row[pos]
    # The firm's normalised values against the held benchmarks, as HeldScorer computes them.
    res = scorer.res
    normalised = res.normalised.copy()
    for j, ind in enumerate(res.spec.indicators):
        step = scorer.steps.get(j)
        x = vals[:, j]
        if isinstance(step, RatioToBenchmarkNormalise):
            r = _ratio(x, ind, step, res.benchmarks[ind.code].per_unit[[u]])
        elif isinstance(step, GoalpostsNormalise):
            r = _goalposts(x, ind, step)
        else:
            r = x.copy()
        normalised[u, j] = np.where(np.isnan(x), res.normalised[u, j], r)[0]
    items = item_scores(normalised, scorer.w, res.scaled, res.points, res.spec.precision)
    aggs = aggregate_tree(res.tree, items, res.weights, res.scaled, res.spec.precision)
    cols = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in sc.cols.items()}
    it = dict(sc.items[size])
    value_m = it["value"].copy()
    value_m[u] = vals[0]
    it["value"], it["score"] = value_m, items
    all_items = {**sc.items, size: it}
    cols["composite_total"] = cols["composite_total"].copy()
    cols["composite_total"][it["rows"]] = aggs[res.tree.root]
    cols["bonus"] = np.zeros(sc.idx.size)
    cols["penalty"] = np.zeros(sc.idx.size)
    out = Scored(sc.idx, cols, all_items, sc.composites)
    _adjust(rs.firms, g.rules, sc.idx, out.cols, out.items)
    _classify(rs.firms, g.rules, sc.idx, out.cols, out.items)
    return int(out.cols["klass"][pos])

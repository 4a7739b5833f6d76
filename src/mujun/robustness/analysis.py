"""Robustness of a run's classes: Monte Carlo, Sobol indices of the weights, leave-one-out.

- **Monte Carlo**: each draw multiplies every weight by an independent factor U(1 − s, 1 + s)
  (s = spread), re-normalises the weights to their published total, and picks a benchmark
  strategy and a normalisation method among those given (``run`` = as the run). Per firm: the
  probability of each class (and of being left unclassified), the 5 / 50 / 95 % quantiles of its
  cohort rank, and "fragile" when the probability of its published class is below a threshold.
- **Sobol**: first-order and total indices of the weight factors for each firm's total and its
  cohort rank, per size class, averaged over the firms whose output varies. Samples come from
  SALib's Saltelli scheme (N·(k + 2) model evaluations, no second order); the estimators are
  SALib's (Saltelli 2010 first order, Jansen total) accumulated over batches, on outputs centred
  on their mean as SALib does, so the numbers equal ``SALib.analyze.sobol`` firm by firm.
- **Leave one out**: the mean absolute shift of cohort ranks, and the number of firms changing
  class, when one indicator's weight is 0 (the others re-normalised).

All of it runs on :mod:`mujun.robustness.batch`: weight sets are evaluated in batches of
n × B matrices, never as a Python loop over full re-scorings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from SALib.sample import sobol as sobol_sample

from mujun.errors import InputError
from mujun.evaluation.scoring import score_rules
from mujun.robustness.batch import (
    Classifier,
    base_weights,
    classify_batch,
    group_totals,
    make_classifier,
    renormalise,
)
from mujun.robustness.runscore import RunScoring, ScoredGroup
from mujun.robustness.variants import RUN, check_choices, make_variant, variant_label
from mujun.rules import rules_hash


@dataclass(frozen=True)
class RobustnessSettings:
    """What the analysis varies and how much work it does."""

    draws: int = 1000
    spread: float = 0.2
    benchmarks: tuple[str, ...] = (RUN,)
    methods: tuple[str, ...] = (RUN,)
    threshold: float = 0.8
    seed: int = 20231
    sobol_n: int = 128  # Saltelli base samples (a power of 2): N·(k + 2) evaluations per size
    batch: int = 16

    def check(self) -> None:
        """Refuse settings that cannot run, naming the option."""
        if self.draws < 1:
            raise InputError(f"--draws must be at least 1, got {self.draws}")
        if not 0 <= self.spread < 1:
            raise InputError(f"--spread must be in [0, 1), got {self.spread}")
        if not 0 < self.threshold <= 1:
            raise InputError(f"--threshold must be in (0, 1], got {self.threshold}")
        if self.sobol_n < 0 or (self.sobol_n & (self.sobol_n - 1)):
            raise InputError(f"--sobol-n must be 0 or a power of 2, got {self.sobol_n}")
        check_choices(list(self.benchmarks), list(self.methods))


@dataclass
class GroupFirms:
    """Per-firm Monte Carlo outcome for one scored group (aligned with its positions)."""

    group: ScoredGroup
    classes: list[str]
    probs: np.ndarray  # n × (classes + 1): the last column is "not classified"
    rank_q: np.ndarray  # n × 3: 5 %, 50 %, 95 % quantiles of the cohort rank (NaN if never)
    published: np.ndarray  # class index in the run (-1 none)
    p_published: np.ndarray
    fragile: np.ndarray


@dataclass
class SensitivityRow:
    """Averaged Sobol indices of one weight for one output of one size class."""

    rules_hash: str
    size: str
    output: str  # "total" or "rank"
    indicator: str
    name: str
    s1: float
    st: float
    firms: int  # firms whose output varied (the average is over them)
    evaluations: int


@dataclass
class LeaveOutRow:
    """Effect of leaving one indicator out (weight 0, others re-normalised)."""

    rules_hash: str
    size: str
    indicator: str
    name: str
    mean_rank_shift: float
    class_changes: int
    firms: int


@dataclass
class RobustnessResult:
    """Everything one analysis produced, with its timings."""

    run_id: str
    settings: RobustnessSettings
    firms: list[GroupFirms]
    sensitivity: list[SensitivityRow] = field(default_factory=list)
    leave_out: list[LeaveOutRow] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    evaluations: dict[str, int] = field(default_factory=dict)


def analyse(rs: RunScoring, settings: RobustnessSettings) -> RobustnessResult:
    """Run the Monte Carlo, the Sobol analysis and the leave-one-out over a re-scored run."""
    settings.check()
    out = RobustnessResult(rs.run_id, settings, [])
    rng = np.random.default_rng(settings.seed)
    t0 = time.perf_counter()
    mc_evals = 0
    for g in rs.groups:
        firms, labels, n_evals = _monte_carlo(rs, g, settings, rng)
        out.firms.append(firms)
        out.variants = sorted(set(out.variants) | set(labels))
        mc_evals += n_evals
    out.timings["monte_carlo_s"] = time.perf_counter() - t0
    out.evaluations["monte_carlo"] = mc_evals
    t1 = time.perf_counter()
    sobol_evals = 0
    for g in rs.groups:
        rows, n_evals = _sobol(rs, g, settings)
        out.sensitivity += rows
        sobol_evals += n_evals
    out.timings["sobol_s"] = time.perf_counter() - t1
    out.evaluations["sobol"] = sobol_evals
    t2 = time.perf_counter()
    for g in rs.groups:
        out.leave_out += _leave_out(rs, g)
    out.timings["leave_out_s"] = time.perf_counter() - t2
    return out


def _variants(rs: RunScoring, g: ScoredGroup, settings: RobustnessSettings):
    """(label, classifier) per distinct variant, and each (benchmark, method) pair's index."""
    found: dict[str, int] = {}
    items: list[tuple[str, Classifier]] = []
    pair_to: list[int] = []
    base_clf = make_classifier(rs.firms["uscc"], g.rules, g.scored)
    for b in settings.benchmarks:
        for m in settings.methods:
            rules = make_variant(g.rules, b, m)
            h = g.rules_hash if rules is None else rules_hash(rules)
            if h not in found:
                if rules is None:
                    clf = base_clf
                else:
                    scored = score_rules(rs.firms, rules, g.scored.idx, rs.year, g.previous)
                    clf = make_classifier(rs.firms["uscc"], rules, scored)
                found[h] = len(items)
                items.append((variant_label(b, m) if rules is not None else RUN, clf))
            pair_to.append(found[h])
    return items, np.array(pair_to)


def _monte_carlo(rs: RunScoring, g: ScoredGroup, settings: RobustnessSettings, rng):
    items, pair_to = _variants(rs, g, settings)
    D, B, s = settings.draws, settings.batch, settings.spread
    n = g.scored.idx.size
    K = len(g.rules.classes)
    variant_of = pair_to[rng.integers(0, pair_to.size, D)] if pair_to.size > 1 else np.zeros(D, int)
    sizes = list(g.scored.composites)
    factors = {
        sz: rng.uniform(1 - s, 1 + s, (D, len(g.scored.composites[sz].indicators))) for sz in sizes
    }
    counts = np.zeros((n, K + 1), dtype=np.int64)
    max_cohort = int(g.scored.cols["cohort_size"].max(initial=0))
    rdtype = np.uint16 if max_cohort < 2**16 - 1 else np.uint32
    ranks = np.zeros((n, D), dtype=rdtype)
    for v, (_, clf) in enumerate(items):
        draws = np.flatnonzero(variant_of == v)
        for start in range(0, draws.size, B):
            d = draws[start : start + B]
            weights = {
                sz: renormalise(base_weights(clf.scored.composites[sz]), factors[sz][d])
                for sz in clf.scored.composites
            }
            bc = classify_batch(clf, group_totals(clf, weights))
            for k in range(K):
                counts[:, k] += (bc.klass == k).sum(axis=1)
            counts[:, K] += (bc.klass < 0).sum(axis=1)
            ranks[:, d] = bc.rank
    probs = counts / float(D)
    published = g.scored.cols["klass"]
    p_pub = np.where(published >= 0, probs[np.arange(n), np.maximum(published, 0)], np.nan)
    fragile = (published >= 0) & (p_pub < settings.threshold)
    return (
        GroupFirms(
            g,
            [c.code for c in g.rules.classes],
            probs,
            _rank_quantiles(ranks),
            published,
            p_pub,
            fragile,
        ),
        [label for label, _ in items],
        D,
    )


def _rank_quantiles(ranks: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """5/50/95 % quantiles of each firm's ranks over the draws that ranked it (0 = unranked)."""
    n = ranks.shape[0]
    out = np.full((n, 3), np.nan)
    qs = [0.05, 0.5, 0.95]
    for a in range(0, n, chunk):
        r = ranks[a : a + chunk]
        ranked = r > 0
        full = ranked.all(axis=1)
        if full.any():
            out[a : a + chunk][full] = np.quantile(r[full], qs, axis=1, method="inverted_cdf").T
        part = ranked.any(axis=1) & ~full
        if part.any():
            rp = np.where(ranked[part], r[part].astype(np.float64), np.nan)
            out[a : a + chunk][part] = np.nanquantile(rp, qs, axis=1, method="inverted_cdf").T
    return out


def _names(res) -> dict[str, str]:
    return {i.code: i.name or i.code for i in res.spec.indicators}


def _sobol(rs: RunScoring, g: ScoredGroup, settings: RobustnessSettings):
    """Averaged Sobol indices of the weights, per size class (run's benchmark and method)."""
    if settings.sobol_n == 0 or settings.spread == 0:
        return [], 0
    clf = make_classifier(rs.firms["uscc"], g.rules, g.scored)
    rows: list[SensitivityRow] = []
    total_evals = 0
    for sz, res in g.scored.composites.items():
        blk = next((b for b in clf.blocks if b.size == sz), None)
        k = len(res.indicators)
        if blk is None or k < 2:
            continue
        problem = {
            "num_vars": k,
            "names": list(res.indicators),
            "bounds": [[1 - settings.spread, 1 + settings.spread]] * k,
        }
        X = sobol_sample.sample(
            problem, settings.sobol_n, calc_second_order=False, seed=settings.seed
        )
        W = renormalise(base_weights(res), X)
        acc = {out: _SobolAccumulator(k, blk.rows.size) for out in ("total", "rank")}
        per = k + 2  # rows per base sample: A, AB_1 … AB_k, B
        step = max(1, settings.batch * 2 // per) * per
        for a in range(0, W.shape[0], step):
            tot = group_totals(clf, {sz: W[a : a + step]})
            bc = classify_batch(clf, tot, sizes=(sz,))
            acc["total"].add(tot[blk.rows].T)
            acc["rank"].add(bc.rank[blk.rows].T.astype(np.float64))
        total_evals += W.shape[0]
        names = _names(res)
        for out, ac in acc.items():
            s1, st, varied = ac.indices()
            for j, code in enumerate(res.indicators):
                rows.append(
                    SensitivityRow(
                        g.rules_hash,
                        sz,
                        out,
                        code,
                        names[code],
                        float(s1[varied, j].mean()) if varied.any() else float("nan"),
                        float(st[varied, j].mean()) if varied.any() else float("nan"),
                        int(varied.sum()),
                        int(W.shape[0]),
                    )
                )
    return rows, total_evals


class _SobolAccumulator:
    """Sums behind SALib's Sobol estimators, per unit, over batches of Saltelli rows.

    With Y centred on its overall mean μ (as SALib does) the first-order estimator is
    mean((B − μ)(AB_j − A)) / var([A; B]) and the total one 0.5·mean((A − AB_j)²) / var([A; B]).
    """

    def __init__(self, k: int, m: int) -> None:
        self.k = k
        self.n = 0  # base samples
        self.rows = 0
        self.sum_all = np.zeros(m)
        self.sum_ab = np.zeros(m)  # Σ over A and B rows
        self.sq_ab = np.zeros(m)
        self.b_diff = np.zeros((k, m))  # Σ B·(AB_j − A)
        self.diff = np.zeros((k, m))  # Σ (AB_j − A)
        self.sq_diff = np.zeros((k, m))  # Σ (A − AB_j)²

    def add(self, Y: np.ndarray) -> None:
        """Add whole base samples: Y has (k + 2)·r rows (A, AB_1 … AB_k, B per sample)."""
        per = self.k + 2
        Y = Y.reshape(-1, per, Y.shape[1])
        A, AB, Bm = Y[:, 0], Y[:, 1 : self.k + 1], Y[:, -1]
        self.n += Y.shape[0]
        self.rows += Y.shape[0] * per
        self.sum_all += Y.sum(axis=(0, 1))
        self.sum_ab += A.sum(axis=0) + Bm.sum(axis=0)
        self.sq_ab += (A * A).sum(axis=0) + (Bm * Bm).sum(axis=0)
        d = AB - A[:, None, :]
        self.b_diff += (Bm[:, None, :] * d).sum(axis=0)
        self.diff += d.sum(axis=0)
        self.sq_diff += (d * d).sum(axis=0)

    def indices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """First-order and total indices (units × k) and which units varied."""
        mu = self.sum_all / self.rows
        m2 = 2 * self.n
        var = self.sq_ab / m2 - (self.sum_ab / m2) ** 2
        eps = np.finfo(float).eps
        varied = var > max(eps, 1e-12)
        safe = np.where(varied, var, 1.0)
        s1 = ((self.b_diff - mu[None, :] * self.diff) / self.n / safe).T
        st = (0.5 * self.sq_diff / self.n / safe).T
        return np.where(varied[:, None], s1, 0.0), np.where(varied[:, None], st, 0.0), varied


def _leave_out(rs: RunScoring, g: ScoredGroup) -> list[LeaveOutRow]:
    clf = make_classifier(rs.firms["uscc"], g.rules, g.scored)
    base_rank = g.scored.cols["rank"]
    base_class = g.scored.cols["klass"]
    rows = []
    for sz, res in g.scored.composites.items():
        blk = next((b for b in clf.blocks if b.size == sz), None)
        k = len(res.indicators)
        if blk is None or k < 2:
            continue
        f = np.ones((k, k)) - np.eye(k)
        W = renormalise(base_weights(res), f)
        tot = group_totals(clf, {sz: W})
        bc = classify_batch(clf, tot, sizes=(sz,))
        names = _names(res)
        in_size = clf.scored.cols["size"] == sz
        for j, code in enumerate(res.indicators):
            r = bc.rank[blk.rows, j]
            both = (r > 0) & (base_rank[blk.rows] > 0)
            shift = np.abs(r[both] - base_rank[blk.rows][both])
            changes = int(((bc.klass[:, j] != base_class) & in_size).sum())
            rows.append(
                LeaveOutRow(
                    g.rules_hash,
                    sz,
                    code,
                    names[code],
                    float(shift.mean()) if both.any() else float("nan"),
                    changes,
                    int(both.sum()),
                )
            )
    return rows

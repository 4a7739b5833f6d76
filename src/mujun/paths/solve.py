"""Path to the next class: the smallest change of one lever that lifts a firm one class.

Everything else is held at the run: the other firms, the benchmarks of ratio-to-benchmark
scoring, the imputed cohort-average item scores, the band cut-offs, caps and floors. A firm
reaches a better band exactly when it outranks the *cut-off firm* of that band in its cohort
(the last firm in it), because the others keep their order: with ``ties: break`` it must beat
that firm's total, then its tie-break values, then its credit code; with ``ties: share`` it must
equal its total. Thresholds (亩均税收 under 1 万元/亩 caps at D) and indicator bonuses are
re-evaluated with the changed values; caps of vetoes and floors are the run's.

The held score of a changed firm is computed with the engine's own pieces — denominate, the
ratio clamp of :mod:`mujun.composite.normalise`, item scores and aggregation of
:mod:`mujun.composite.aggregate` — for every firm at once. Where a lever enters the score only
through numerators of capped ratios (tax, value added) the score is piecewise linear in it and
the change is solved analytically; the solution is then confirmed on the held scoring, whose
item rounding makes it a step function, by a short bisection. Levers in denominators (energy,
emissions, employees, land, electricity) are solved by bisection on the held scoring alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mujun.classify import apply_limits
from mujun.composite.aggregate import aggregate_tree, item_scores
from mujun.composite.normalise import _goalposts, _ratio
from mujun.composite.spec import GoalpostsNormalise, RatioToBenchmarkNormalise
from mujun.evaluation.inputs import STATUS_EVALUATED
from mujun.evaluation.scoring import _inputs, _merge_tenants
from mujun.robustness.batch import make_classifier
from mujun.robustness.runscore import RunScoring, ScoredGroup


@dataclass(frozen=True)
class Lever:
    """One thing a firm can change: the evaluation input, which way helps, label and unit."""

    code: str
    column: str  # key of the evaluation inputs (mujun.rules.INPUT_COLUMNS)
    up: bool  # True: more helps (tax, value added); False: less helps
    name: str
    unit: str
    integer: bool = False


LEVERS: tuple[Lever, ...] = (
    Lever("tax", "tax", True, "实缴税金", "万元"),
    Lever("va", "va", True, "工业增加值", "万元"),
    Lever("energy", "energy", False, "综合能耗", "吨标煤"),
    Lever("emissions", "emissions", False, "主要污染物排放量", "吨"),
    Lever("staff", "staff", False, "年平均从业人员", "人", integer=True),
    Lever("land", "land_mu", False, "计亩用地", "亩"),
    Lever("electricity", "electricity", False, "用电量", "万千瓦时"),
)
LEVER_BY_CODE = {lv.code: lv for lv in LEVERS}

# Status of one firm × lever.
REACHABLE = "reachable"
BLOCKED = "not-reachable"
UNUSED = "not-used"  # the firm's rules do not use this input
NO_DATA = "no-data"  # the firm has no (positive) value to change

ITERATIONS = 60


@dataclass
class FirmPaths:
    """Paths of one scored group: one row per firm × lever (arrays aligned)."""

    group: ScoredGroup
    rows: np.ndarray  # firm positions in the group
    lever: np.ndarray  # lever code per row
    target: np.ndarray  # class index aimed at (one better than the firm's)
    status: np.ndarray
    reason: np.ndarray  # why not reachable / not applicable (Chinese)
    current: np.ndarray  # the lever's current value
    required: np.ndarray  # the smallest sufficient value (the boundary)
    shown: np.ndarray  # the value to tell the firm: rounded to 2 decimals (whole people) away
    indicator_now: np.ndarray  # the headline indicator (e.g. 亩均税收) now and at `shown`
    indicator_new: np.ndarray
    indicator: np.ndarray  # its code


@dataclass
class FirmStatus:
    """Why a firm has no paths (best class already, not classified, takes a landlord's class)."""

    rows: np.ndarray
    status: np.ndarray


class HeldScorer:
    """Scores changed inputs of some firms of one size class with everything else held."""

    def __init__(self, rs: RunScoring, g: ScoredGroup, size: str) -> None:
        self.g = g
        sc = g.scored
        self.res = sc.composites[size]
        self.spec = self.res.spec
        self.it = sc.items[size]
        self.rules = g.rules
        self.size = size
        self.comp_row = np.full(sc.idx.size, -1, dtype=np.int64)
        self.comp_row[self.it["rows"]] = np.arange(self.it["rows"].size)
        self.inputs = group_inputs(rs, g)
        self.codes = list(self.res.indicators)
        self.steps = {}  # indicator -> the last normalise step covering it
        self.supported = True
        for step in self.spec.steps:
            if step.op == "normalise":
                for j, c in enumerate(self.codes):
                    if step.indicators is None or c in step.indicators:
                        self.steps[j] = step
            elif step.op in ("treat-outliers", "screen"):
                self.supported = False
        for step in self.steps.values():
            if not isinstance(step, RatioToBenchmarkNormalise | GoalpostsNormalise):
                self.supported = False
        self.weights = self.res.weights
        self.w = np.array([self.weights[c] for c in self.codes])
        clf = make_classifier(rs.firms["uscc"], g.rules, sc)
        self.block = next((b for b in clf.blocks if b.size == size), None)
        self.uscc = rs.firms["uscc"][sc.idx].astype(str)
        self._cutoffs()
        self._static_limits(rs)

    # ---------------------------------------------------------------- set-up
    def uses(self, column: str) -> list[int]:
        """Indicators whose numerator or denominator is ``column``."""
        return [
            j
            for j, ind in enumerate(self.spec.indicators)
            if column in (ind.numerator_column, ind.denominator)
        ]

    def tie_values(self, values: np.ndarray) -> list[np.ndarray]:
        """Tie-break key columns (indicator values, higher first) from an m × k value matrix."""
        sr = self.rules.size_rules(self.size)
        return [values[:, self.codes.index(c)] for c in sr.tie_break if c in self.codes]

    def _cutoffs(self) -> None:
        """Per eligible firm's cohort and band: the cut-off firm's position in the group."""
        sc, blk = self.g.scored, self.block
        n = sc.idx.size
        self.cut = None
        if blk is None:
            return
        order = np.lexsort((blk.tb_pos, -sc.cols["total"][blk.rows], blk.cohort_code))
        sorted_rows = blk.rows[order]
        K = blk.bounds.shape[1]
        self.cut = np.full((n, K), -1, dtype=np.int64)  # per firm, per band: cut-off firm
        cohort_of = np.full(n, -1)
        cohort_of[blk.rows] = blk.cohort_code
        for c in range(K):
            bound = blk.bounds[:, c]  # per cohort: firms in bands ≤ c
            has = bound > 0
            last = np.where(has, blk.start + bound - 1, -1)
            firm = np.where(has, sorted_rows[np.maximum(last, 0)], -1)
            ok = cohort_of >= 0
            self.cut[ok, c] = firm[cohort_of[ok]]
        self.ties = blk.ties
        self.band = sc.cols["band_class"]

    def _static_limits(self, rs: RunScoring) -> None:
        """Caps of limits (vetoes) and floors, which no lever changes."""
        sc, rules = self.g.scored, self.rules
        n = sc.idx.size
        cap = np.full(n, -1, dtype=np.int64)
        floor = np.full(n, -1, dtype=np.int64)
        veto = np.zeros(n, dtype=bool)
        self.cap_reason = np.full(n, "", dtype=object)
        firms, idx = rs.firms, sc.idx
        for lim in rules.limits:
            if lim.when == "event":
                mask = firms.events.get(lim.event or "", np.zeros(firms.n, bool))[idx]
            elif lim.when == "new-firm":
                mask = firms.year - firms["est_year"][idx] < lim.years
            else:
                mask = firms.year - firms["land_supply_year"][idx] < lim.years
            mask = mask & (sc.cols["band_class"] >= 0)
            if lim.cap is not None:
                k = rules.class_index(lim.cap)
                cap = np.where(mask, np.maximum(cap, k), cap)
                veto |= mask & lim.veto
                self.cap_reason[mask] = self.cap_reason[mask] + f"{lim.name}（最高为{lim.cap}类）；"
            else:
                k = rules.class_index(lim.floor)
                floor = np.where(mask & ((floor < 0) | (k < floor)), k, floor)
        self.static_cap = cap
        self.floor = np.where(veto, -1, floor)

    # ---------------------------------------------------------------- scoring
    def values(self, rows: np.ndarray, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """Denominated indicator values (m × k) of firms at ``rows`` with changed inputs."""
        out = np.empty((rows.size, len(self.codes)))
        for j, ind in enumerate(self.spec.indicators):
            v = inputs[ind.numerator_column] * ind.scale
            if ind.denominator:
                den = inputs[ind.denominator]
                ok = ~np.isnan(den) & (den != 0)
                with np.errstate(invalid="ignore", divide="ignore"):
                    v = np.where(ok, v / np.where(ok, den, 1.0), np.nan)
            out[:, j] = v
        return out

    def class_of(self, rows: np.ndarray, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """The class each firm at ``rows`` would get with ``inputs`` (everything else held)."""
        vals = self.values(rows, inputs)
        u = self.comp_row[rows]
        normalised = np.empty_like(vals)
        for j, ind in enumerate(self.spec.indicators):
            step = self.steps.get(j)
            x = vals[:, j]
            if isinstance(step, RatioToBenchmarkNormalise):
                b = self.res.benchmarks[ind.code].per_unit[u]
                r = _ratio(x, ind, step, b)
            elif isinstance(step, GoalpostsNormalise):
                r = _goalposts(x, ind, step)
            else:  # no normalisation step: the value itself
                r = x.copy()
            # A value still missing keeps the run's normalised value (e.g. the imputed
            # cohort-average item score): held, like the benchmarks.
            normalised[:, j] = np.where(np.isnan(x), self.res.normalised[u, j], r)
        items = item_scores(
            normalised, self.w, self.res.scaled, self.res.points, self.spec.precision
        )
        aggs = aggregate_tree(
            self.res.tree, items, self.weights, self.res.scaled, self.spec.precision
        )
        comp = aggs[self.res.tree.root]
        cols = self.g.scored.cols
        bonus, penalty = cols["bonus"][rows].copy(), cols["penalty"][rows].copy()
        old_vals = self.it["value"][u]
        for adj in self.rules.adjustments:
            if (
                adj.indicator is None
                or self.size not in adj.sizes
                or adj.indicator not in self.codes
            ):
                continue
            j = self.codes.index(adj.indicator)

            def hit(v, adj=adj):
                return v >= adj.at_least if adj.at_least is not None else v < adj.below

            delta = hit(vals[:, j]).astype(float) - hit(old_vals[:, j]).astype(float)
            if adj.points >= 0:
                bonus += adj.points * delta
            else:
                penalty += -adj.points * delta
        total = np.round(comp + bonus - penalty, self.rules.precision)
        band = self._band(rows, total, vals)
        cap = self.static_cap[rows].copy()
        for th in self.rules.thresholds:
            if self.size in th.sizes and th.indicator in self.codes:
                below = vals[:, self.codes.index(th.indicator)] < th.below
                cap = np.where(below, np.maximum(cap, self.rules.class_index(th.cap)), cap)
        return apply_limits(band, cap, self.floor[rows])

    def _band(self, rows: np.ndarray, total: np.ndarray, vals: np.ndarray) -> np.ndarray:
        """The band a firm reaches by outranking cut-off firms (never worse than its own)."""
        band = self.band[rows].copy()
        tie_new = self.tie_values(vals)
        it_vals = np.full((self.g.scored.idx.size, len(self.codes)), np.nan)
        it_vals[self.it["rows"]] = self.it["value"]
        cols = self.g.scored.cols
        for c in range(band.max(initial=0) - 1, -1, -1):
            z = self.cut[rows, c]
            ok = (z >= 0) & (c < band)
            zt = np.where(ok, cols["total"][np.maximum(z, 0)], np.inf)
            if self.ties == "share":
                beats = total >= zt
            else:
                beats = total > zt
                undecided = total == zt
                for new_key, z_key in zip(
                    tie_new, self.tie_values(it_vals[np.maximum(z, 0)]), strict=True
                ):
                    a = np.nan_to_num(new_key, nan=-np.inf)
                    b = np.nan_to_num(z_key, nan=-np.inf)
                    beats |= undecided & (a > b)
                    undecided &= a == b
                beats |= undecided & (self.uscc[rows] < self.uscc[np.maximum(z, 0)])
            band = np.where(ok & beats, c, band)
        return band


def group_inputs(rs: RunScoring, g: ScoredGroup) -> dict[str, np.ndarray]:
    """The evaluation inputs of a group's firms as the run scored them (tenants merged)."""
    sc = g.scored
    inputs = _inputs(rs.firms, sc.idx, sc.cols["land_mu"])
    cols = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in sc.cols.items()}
    if "merged" in cols:  # merged tenants were evaluated firms before the merge
        cols["status"][cols["merged"]] = STATUS_EVALUATED
    _merge_tenants(rs.firms, g.rules, sc.idx, inputs, cols)
    return inputs


def _headline(scorer: HeldScorer, lever: Lever) -> str | None:
    """The indicator a lever is told through (亩均税收 for tax and land, else the first)."""
    js = scorer.uses(lever.column)
    if not js:
        return None
    codes = [scorer.codes[j] for j in js]
    return "tax_mu" if "tax_mu" in codes else codes[0]


def solve_group(rs: RunScoring, g: ScoredGroup) -> tuple[FirmPaths, FirmStatus]:
    """Paths for every classed firm of a group that is not in the best class."""
    sc = g.scored
    cols = sc.cols
    klass = cols["klass"]
    n = sc.idx.size
    taken = np.zeros(n, dtype=bool)
    if "merged" in cols:
        taken |= cols["merged"]
    taken |= cols["tenant_of"] != ""
    if g.rules.land.below_size_tenant_takes_landlord_class:
        taken |= (
            (cols["size"] == "below") & (cols["category"] == "tenant") & (cols["lessor_pos"] >= 0)
        )
    fstatus = np.full(n, "", dtype=object)
    fstatus[klass < 0] = "not-classified"
    fstatus[(klass == 0)] = "best-class"
    fstatus[(klass > 0) & taken] = "landlord-class"
    fstatus[(klass > 0) & ~taken & (cols["band_class"] < 0)] = "not-classified"
    out_rows, parts = [], []
    for sz in sc.composites:
        scorer = HeldScorer(rs, g, sz)
        cand = np.flatnonzero((fstatus == "") & (cols["size"] == sz))
        if not scorer.supported or scorer.cut is None:
            fstatus[cand] = "method-not-supported"
            continue
        for lever in LEVERS:
            parts.append(_solve_lever(scorer, lever, cand))
        out_rows.append(cand)
    status_rows = np.flatnonzero(fstatus != "")
    fs = FirmStatus(status_rows, fstatus[status_rows])
    if not parts:
        empty = np.array([], dtype=object)
        return FirmPaths(g, np.array([], int), empty, np.array([], int), empty, empty,
                         np.array([]), np.array([]), np.array([]), np.array([]), np.array([]), empty), fs  # fmt: skip
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return FirmPaths(g, **cat), fs


def _solve_lever(scorer: HeldScorer, lever: Lever, rows: np.ndarray) -> dict[str, np.ndarray]:
    m = rows.size
    cols = scorer.g.scored.cols
    klass = cols["klass"][rows]
    current = scorer.inputs[lever.column][rows].astype(np.float64)
    status = np.full(m, REACHABLE, dtype=object)
    reason = np.full(m, "", dtype=object)
    required = np.full(m, np.nan)
    shown = np.full(m, np.nan)
    head = _headline(scorer, lever)
    hj = scorer.codes.index(head) if head else -1
    base_inputs = {k: v[rows].astype(np.float64) for k, v in scorer.inputs.items()}
    out = {
        "rows": rows,
        "lever": np.full(m, lever.code, dtype=object),
        "target": klass - 1,
        "status": status,
        "reason": reason,
        "current": current,
        "required": required,
        "shown": shown,
        "indicator_now": np.full(m, np.nan),
        "indicator_new": np.full(m, np.nan),
        "indicator": np.full(m, head or "", dtype=object),
    }
    if head is None:
        status[:] = UNUSED
        reason[:] = "本规则不使用该项"
        return out
    out["indicator_now"] = scorer.values(rows, base_inputs)[:, hj]
    usable = ~np.isnan(current) & ((current > 0) if not lever.up else np.ones(m, bool))
    status[~usable] = NO_DATA
    reason[~usable] = "无该项数据"
    # The extreme value: every ratio the lever feeds at its cap (or the land floor of scope).
    extreme = _extreme(scorer, lever, rows, base_inputs)
    min_land = scorer.rules.scope.below_size_min_mu if scorer.size == "below" else 0.0
    if lever.column == "land_mu" and min_land > 0:
        extreme = np.maximum(extreme, min_land)
    act = np.flatnonzero(usable)

    def lifted(idx: np.ndarray, value: np.ndarray) -> np.ndarray:
        inp = {k: v[idx] for k, v in base_inputs.items()}
        inp[lever.column] = value
        return scorer.class_of(rows[idx], inp) < klass[idx]

    ok_ext = lifted(act, extreme[act])
    blocked = act[~ok_ext]
    status[blocked] = BLOCKED
    reason[blocked] = _blocked_reason(scorer, lever, rows[blocked], extreme[blocked], min_land)
    act = act[ok_ext]
    lo = current[act].copy()  # not lifted (the firm's own class)
    hi = extreme[act].copy()  # lifted
    lo, hi = _analytic_bracket(scorer, lever, rows[act], base_inputs, act, lo, hi, lifted)
    for _ in range(ITERATIONS):
        mid = 0.5 * (lo + hi)
        ok = lifted(act, mid)
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
        if np.all(np.abs(hi - lo) <= 1e-9 * np.maximum(1.0, np.abs(hi))):
            break
    required[act] = hi
    shown[act] = _shown(lever, hi)
    # The value told to the firm is rounded away from its current value, so it lifts too.
    still = lifted(act, shown[act])
    shown[act] = np.where(still, shown[act], hi)
    inp = {k: v[act] for k, v in base_inputs.items()}
    inp[lever.column] = shown[act]
    out["indicator_new"][act] = scorer.values(rows[act], inp)[:, hj]
    return out


def _shown(lever: Lever, x: np.ndarray) -> np.ndarray:
    if lever.integer:
        return np.ceil(x - 1e-9) if lever.up else np.floor(x + 1e-9)
    return np.ceil(x * 100 - 1e-6) / 100 if lever.up else np.floor(x * 100 + 1e-6) / 100


def _extreme(scorer: HeldScorer, lever: Lever, rows, base_inputs) -> np.ndarray:
    """A lever value far beyond any that could matter: a million times the current value (or
    the value that puts every fed ratio at its cap), a millionth of it for levers that help
    by falling. Items stop at their caps long before, but tie-break values (亩均税收) keep
    rising, and a firm tied at the cap with the cut-off firm may still pass it on them."""
    cur = base_inputs[lever.column]
    if lever.up:
        u = scorer.comp_row[rows]
        need = [np.abs(np.nan_to_num(cur)), np.ones_like(cur)]
        for j in scorer.uses(lever.column):
            ind = scorer.spec.indicators[j]
            step = scorer.steps.get(j)
            cap = getattr(step, "cap", None)
            if (
                isinstance(step, RatioToBenchmarkNormalise)
                and cap is not None
                and ind.code in scorer.res.benchmarks
                and ind.numerator_column == lever.column
            ):
                b = scorer.res.benchmarks[ind.code].per_unit[u]
                den = base_inputs[ind.denominator] if ind.denominator else np.ones_like(cur)
                with np.errstate(invalid="ignore"):
                    need.append(np.nan_to_num(np.abs(cap * b * den / ind.scale)))
        return np.max(np.vstack(need), axis=0) * 1e6
    return cur * 1e-6


def _analytic_bracket(scorer, lever, rows, base_inputs, act, lo, hi, lifted):
    """Narrow [lo, hi] with the analytic solution where the held score is piecewise linear in
    the lever: it feeds only numerators of ratio-to-benchmark items of a one-level sum."""
    js = scorer.uses(lever.column)
    res = scorer.res
    one_level = res.tree.aggregates == (res.tree.root,) and res.tree.method[res.tree.root] == "sum"
    linear = (
        lever.up
        and one_level
        and all(
            scorer.spec.indicators[j].numerator_column == lever.column
            and scorer.spec.indicators[j].denominator != lever.column
            and scorer.spec.indicators[j].direction == 1
            and isinstance(scorer.steps.get(j), RatioToBenchmarkNormalise)
            and res.scaled[j]
            for j in js
        )
    )
    if not linear or act.size == 0:
        return lo, hi
    u = scorer.comp_row[rows]
    cols = scorer.g.scored.cols
    r_rows = rows
    # Held total now, and each fed item: w·p·clamp(c_j·x, floor, cap), c_j = s/(den·b).
    total_now = cols["total"][r_rows]
    target = _cutoff_total(scorer, r_rows)
    gap = target - total_now
    x0 = lo.copy()
    slopes, los, his, item_now = [], [], [], []
    for j in js:
        ind = scorer.spec.indicators[j]
        step = scorer.steps[j]
        b = res.benchmarks[ind.code].per_unit[u]
        den = base_inputs[ind.denominator][act] if ind.denominator else np.ones(act.size)
        with np.errstate(invalid="ignore", divide="ignore"):
            c = ind.scale / (den * b)
        wp = res.weights[ind.code] * res.points[j]
        slopes.append(np.where(np.isfinite(c) & (c > 0), c, 0.0))
        los.append(step.floor if step.floor is not None else -np.inf)
        his.append(step.cap if step.cap is not None else np.inf)
        item_now.append(wp)

    # Unrounded total as a function of x, relative to x0: f(x) = Σ wp·(clamp(c·x) − clamp(c·x0)).
    def f(x):
        acc = np.zeros_like(x)
        for c, fl, cp, wp in zip(slopes, los, his, item_now, strict=True):
            acc += wp * (np.clip(c * x, fl, cp) - np.clip(c * x0, fl, cp))
        return acc

    # f is piecewise linear and non-decreasing: walk its breakpoints to solve f(x) = gap.
    bps = [x0]
    for c, fl, cp in zip(slopes, los, his, strict=True):
        with np.errstate(invalid="ignore", divide="ignore"):
            for edge in (fl, cp):
                bp = np.where(c > 0, edge / np.where(c > 0, c, 1.0), np.nan)
                bps.append(np.where(np.isfinite(bp) & (bp > x0), bp, np.nan))
    bps.append(hi)
    P = np.sort(np.vstack(bps), axis=0)  # NaN sort last
    x_sol = np.full(act.size, np.nan)
    for q in range(P.shape[0] - 1):
        a, b2 = P[q], P[q + 1]
        fa, fb = f(np.nan_to_num(a)), f(np.nan_to_num(b2))
        inside = np.isnan(x_sol) & ~np.isnan(a) & ~np.isnan(b2) & (fa <= gap) & (fb >= gap)
        with np.errstate(invalid="ignore", divide="ignore"):
            xs = np.where(fb > fa, a + (gap - fa) * (b2 - a) / (fb - fa), a)
        x_sol = np.where(inside, xs, x_sol)
    # Item rounding moves the total by at most k·0.005 either way: bracket around the solution
    # and keep the bracket only where the held scoring confirms it.
    half = 0.5 * 10.0 ** (-scorer.spec.precision) * (len(js) + 1) + 10.0 ** (
        -scorer.rules.precision
    )
    slope_sum = sum(wp * c for c, wp in zip(slopes, item_now, strict=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        dx = np.where(slope_sum > 0, half / slope_sum, np.nan)
    new_lo = np.maximum(lo, x_sol - dx)
    new_hi = np.minimum(hi, x_sol + dx)
    good = ~np.isnan(x_sol) & ~np.isnan(dx) & (new_lo < new_hi)
    g_idx = np.flatnonzero(good)
    if g_idx.size:
        lo_ok = ~lifted(act[g_idx], new_lo[g_idx])
        hi_ok = lifted(act[g_idx], new_hi[g_idx])
        keep = g_idx[lo_ok & hi_ok]
        lo = lo.copy()
        hi = hi.copy()
        lo[keep], hi[keep] = new_lo[keep], new_hi[keep]
    return lo, hi


def _cutoff_total(scorer: HeldScorer, rows: np.ndarray) -> np.ndarray:
    """The total of the cut-off firm of the next better band (the firm's band − 1)."""
    cols = scorer.g.scored.cols
    band = scorer.band[rows]
    target_band = np.maximum(cols["klass"][rows] - 1, 0)
    c = np.minimum(target_band, np.maximum(band - 1, 0))
    z = scorer.cut[rows, c]
    return np.where(z >= 0, cols["total"][np.maximum(z, 0)], np.nan)


def _blocked_reason(scorer: HeldScorer, lever: Lever, rows, extreme, min_land) -> np.ndarray:
    out = np.full(rows.size, "", dtype=object)
    klass = scorer.g.scored.cols["klass"][rows]
    capped = scorer.static_cap[rows] >= klass
    out[capped] = "受否决或限制条件约束：" + scorer.cap_reason[rows[capped]].astype(str)
    out[capped] = np.array([s.rstrip("；") for s in out[capped]], dtype=object)
    rest = ~capped
    if lever.column == "land_mu" and min_land > 0:
        at_floor = rest & (extreme <= min_land + 1e-9)
        out[at_floor] = f"用地低于{min_land:g}亩的规下企业不参评，腾退后仍达不到"
        rest &= ~at_floor
    out[rest] = "相关指标得分已到封顶（每项最高为权重的上限倍数），仅靠此项无法达到"
    return out

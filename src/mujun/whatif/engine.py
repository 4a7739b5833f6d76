"""What-if simulation: new classes and policy amounts under changed rules, never written.

A :class:`WhatIfBase` holds a year's firms scored in memory under the base rules (built once: the
web page caches it). :func:`simulate` applies changes and takes the cheapest sound path:

- ``none``: nothing changed in the rules (policy rates may have);
- ``weights``: only indicator weights changed → re-aggregate the normalised items;
- ``classify``: bands, adjustments, caps/floors on classes or thresholds changed → re-adjust and
  re-classify the base scores;
- ``full``: anything else (benchmarks, item caps, scope, land, cohorts …) → score again.

Nothing is written to the store: no run, no results.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mujun.errors import InputError
from mujun.evaluation.inputs import Firms, Overrides, load_firms
from mujun.evaluation.scoring import (
    Scored,
    previous_year_means,
    rescore,
    score_rules,
    uses_previous_year,
    without_previous_year,
)
from mujun.policy.engine import (
    LeverAmounts,
    compute_amounts,
    consecutive_years,
    factorize_counties,
)
from mujun.policy.ledger import _previous_classes, _quantities
from mujun.policy.spec import PolicySet
from mujun.rules import RuleSet, rules_hash
from mujun.store import Store
from mujun.whatif.changes import Change, apply_changes

# Rule-set keys whose change leaves the composite scores as they are.
CLASSIFY_KEYS = {"adjustments", "limits", "thresholds", "flags", "version", "name", "source"}
SIZE_CLASSIFY_KEYS = {"bands", "ties", "tie_break"}


@dataclass
class Group:
    """Counties scored under one rule set."""

    rules: RuleSet
    idx: np.ndarray  # positions in the base's firms
    scored: Scored
    previous: dict | None = None  # previous-year cohort means, when the rules use them


@dataclass
class WhatIfBase:
    """A year's firms scored under the base rules, with what the policy levers need."""

    year: int
    region: str | None
    firms: Firms
    groups: list[Group]
    policy: PolicySet | None
    quantities: dict[str, np.ndarray]
    previous_classes: list[np.ndarray]
    classes: np.ndarray  # class code per firm ("" = unclassed)
    order: np.ndarray  # class index in its rule set (-1 = unclassed)
    amounts: list[LeverAmounts]
    counties: np.ndarray  # county code per firm (str)
    county_index: tuple[np.ndarray, np.ndarray]  # distinct counties and each firm's position
    previous_firms: Firms | None = None
    seconds: float = 0.0


def _assign(firms: Firms, rules: RuleSet | None, rules_map: dict[str, RuleSet] | None):
    counties = firms["county_code"].astype(str)
    if rules is not None:
        return [(rules, np.arange(firms.n))]
    assert rules_map is not None
    by_hash: dict[str, tuple[RuleSet, list[str]]] = {}
    for c in np.unique(counties).tolist():
        rs = rules_map.get(c) or rules_map.get(c[:4] + "00") or rules_map.get("default")
        if rs is None:
            raise InputError(f"no rule set for county {c or '(unknown)'}")
        by_hash.setdefault(rules_hash(rs), (rs, []))[1].append(c)
    return [(rs, np.flatnonzero(np.isin(counties, cs))) for _, (rs, cs) in sorted(by_hash.items())]


def _previous_means(
    store: Store | None, base_prev: Firms | None, year: int, region, rules: RuleSet, counties
) -> tuple[dict | None, Firms | None]:
    if not uses_previous_year(rules):
        return None, base_prev
    prev = base_prev
    if prev is None:
        if store is None:
            raise InputError("the rules benchmark against the previous year: give the store")
        try:
            prev = load_firms(store, year - 1, region)
        except InputError as exc:
            raise InputError(
                f"the rules benchmark against {year - 1}, which has no validated data"
            ) from exc
    pidx = np.flatnonzero(np.isin(prev["county_code"].astype(str), counties))
    means = previous_year_means(score_rules(prev, without_previous_year(rules), pidx, year - 1))
    return means, prev


def _class_codes(groups: list[Group], n: int, key: str = "klass") -> tuple[np.ndarray, np.ndarray]:
    codes = np.full(n, "", dtype=object)
    order = np.full(n, -1, dtype=np.int64)
    for g in groups:
        names = np.array([c.code for c in g.rules.classes] + [""], dtype=object)
        k = g.scored.cols[key]
        codes[g.idx] = names[np.where(k >= 0, k, len(g.rules.classes))]
        order[g.idx] = k
    return codes, order


def build_base(
    store: Store,
    year: int,
    *,
    rules: RuleSet | None = None,
    rules_map: dict[str, RuleSet] | None = None,
    region: str | None = None,
    overrides: Overrides | None = None,
    policy: PolicySet | None = None,
) -> WhatIfBase:
    """Load and score a year's firms under the base rules (as ``evaluate`` would, unwritten)."""
    if (rules is None) == (rules_map is None):
        raise InputError("give exactly one of --rules and --rules-map")
    t0 = time.perf_counter()
    firms = load_firms(store, year, region, overrides)
    groups = []
    prev_firms = None
    for rs, idx in _assign(firms, rules, rules_map):
        counties = np.unique(firms["county_code"][idx].astype(str))
        means, prev_firms = _previous_means(store, prev_firms, year, region, rs, counties)
        groups.append(Group(rs, idx, score_rules(firms, rs, idx, year, means), means))
    quantities = _quantities({k: firms[k] for k in _FACTS})
    previous, _ = _previous_classes(store, year, firms["uscc"].astype(str))
    classes, order = _class_codes(groups, firms.n)
    counties = firms["county_code"].astype(str)
    county_index = factorize_counties(counties)
    amounts = (
        compute_amounts(
            policy,
            classes,
            quantities,
            counties=county_index,
            consecutive=consecutive_years(classes, previous),
            words=False,
        )
        if policy
        else []
    )
    return WhatIfBase(
        year, region, firms, groups, policy, quantities, previous, classes, order, amounts,
        counties, county_index, prev_firms, time.perf_counter() - t0,
    )  # fmt: skip


_FACTS = (
    "land_own_mu", "land_leased_mu", "electricity", "water", "energy", "cod", "ammonia", "so2",
    "nox",
)  # fmt: skip


def base_for_run(store: Store, run_id: str, policy: PolicySet | None = None) -> WhatIfBase:
    """The base of a run: its year, region, rule set(s) and accepted corrections."""
    from mujun.workflow.runs import get_run

    run = get_run(store, run_id)
    rows = store.rows(
        "SELECT rr.county_code, s.body::VARCHAR FROM run_rules rr "
        "JOIN rule_sets s USING (rules_hash) WHERE rr.run_id = ? ORDER BY 1",
        [run_id],
    )
    if not rows:
        raise InputError(f"run {run_id} has no rule sets recorded")
    import json

    parsed: dict[str, RuleSet] = {}
    rules_map: dict[str, RuleSet] = {}
    for county, body in rows:
        rs = parsed.setdefault(body, RuleSet.model_validate(json.loads(body)))
        rules_map[county] = rs
    overrides: dict[str, dict[str, float | None]] = {}
    if store.table_exists("overrides"):
        for uscc, fld, value in store.rows(
            "SELECT uscc, field, value FROM overrides WHERE run_id = ?", [run_id]
        ):
            overrides.setdefault(uscc, {})[fld] = value
    region = run.params.get("region") if run.params else None
    single = next(iter(parsed.values())) if len(parsed) == 1 else None
    return build_base(
        store,
        run.year,
        rules=single,
        rules_map=None if single else rules_map,
        region=region,
        overrides=overrides or None,
        policy=policy,
    )


def _path(old: RuleSet, new: RuleSet) -> str:
    """How much of the scoring a change needs to redo (see the module docstring)."""
    if new is old:
        return "none"
    a = old.model_dump(mode="json")
    b = new.model_dump(mode="json")
    if a == b:
        return "none"
    top = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
    if not top - CLASSIFY_KEYS - {"above", "below"}:
        kinds = set()
        for size in ("above", "below"):
            if a.get(size) == b.get(size):
                continue
            if a.get(size) is None or b.get(size) is None:
                return "full"
            sa, sb = a[size], b[size]
            keys = {k for k in sa.keys() | sb.keys() if sa.get(k) != sb.get(k)}
            if keys - SIZE_CLASSIFY_KEYS - {"composite"}:
                return "full"
            if "composite" in keys:
                ca, cb = dict(sa["composite"]), dict(sb["composite"])
                ia = [{**i, "weight": 0} for i in ca.pop("indicators")]
                ib = [{**i, "weight": 0} for i in cb.pop("indicators")]
                if ca != cb or ia != ib:
                    return "full"
                kinds.add("weights")
            if keys & SIZE_CLASSIFY_KEYS:
                kinds.add("classify")
        if top & CLASSIFY_KEYS:
            kinds.add("classify")
        return "weights" if kinds == {"weights"} else "classify"
    return "full"


def _weights(rules: RuleSet) -> dict[str, dict[str, float]]:
    out = {}
    for size in ("above", "below"):
        sr = rules.size_rules(size)
        if sr is not None:
            out[size] = {i.code: i.weight for i in sr.composite.indicators}
    return out


@dataclass
class WhatIfResult:
    """New classes and policy amounts beside the base, with summaries of who moves."""

    changes: list[str]
    path: str
    seconds: float
    base_classes: np.ndarray
    classes: np.ndarray
    base_order: np.ndarray
    order: np.ndarray
    base_totals: np.ndarray
    totals: np.ndarray
    moved: np.ndarray  # bool per firm
    fiscal: list[dict[str, Any]] = field(default_factory=list)
    amounts: list[LeverAmounts] = field(default_factory=list)

    @property
    def n_moved(self) -> int:
        """Number of firms whose class changes."""
        return int(self.moved.sum())


def simulate(base: WhatIfBase, changes: list[Change], store: Store | None = None) -> WhatIfResult:
    """Apply ``changes`` to every rule set (and the policy set) of ``base``; nothing is written."""
    t0 = time.perf_counter()
    n = base.firms.n
    new_groups = []
    paths = []
    policy = base.policy
    for g in base.groups:
        new_rules, policy = apply_changes(g.rules, base.policy, changes)
        path = _path(g.rules, new_rules)
        paths.append(path)
        if path == "none":
            scored = g.scored
        elif path in ("weights", "classify"):
            changed = _weights(new_rules) != _weights(g.rules)
            weights = _weights(new_rules) if changed else {}
            scored = rescore(base.firms, new_rules, g.scored, weights)
        else:
            counties = np.unique(base.firms["county_code"][g.idx].astype(str))
            means, _ = _previous_means(
                store, base.previous_firms, base.year, base.region, new_rules, counties
            )
            scored = score_rules(base.firms, new_rules, g.idx, base.year, means)
        new_groups.append(Group(new_rules, g.idx, scored))
    classes, order = _class_codes(new_groups, n)
    amounts = (
        compute_amounts(
            policy,
            classes,
            base.quantities,
            counties=base.county_index,
            consecutive=consecutive_years(classes, base.previous_classes),
            words=False,
        )
        if policy
        else []
    )
    totals = np.full(n, np.nan)
    base_totals = np.full(n, np.nan)
    for g, ng in zip(base.groups, new_groups, strict=True):
        base_totals[g.idx] = g.scored.cols["total"]
        totals[g.idx] = ng.scored.cols["total"]
    fiscal = fiscal_effect(base.amounts, amounts)
    rank = {"none": 0, "weights": 1, "classify": 2, "full": 3}
    return WhatIfResult(
        changes=[str(c) for c in changes],
        path=max(paths, key=rank.__getitem__) if paths else "none",
        seconds=time.perf_counter() - t0,
        base_classes=base.classes,
        classes=classes,
        base_order=base.order,
        order=order,
        base_totals=base_totals,
        totals=totals,
        moved=base.classes != classes,
        fiscal=fiscal,
        amounts=amounts,
    )


def fiscal_effect(
    before: list[LeverAmounts], after: list[LeverAmounts], mask: np.ndarray | None = None
) -> list[dict[str, Any]]:
    """Per lever: firms and total amount before and after (of the firms in ``mask``)."""
    out = []
    old = {a.code: a for a in before}
    for a in after:
        b = old.get(a.code)
        m = np.ones(a.applies.size, bool) if mask is None else mask
        row = {
            "lever": a.code,
            "name": a.name,
            "kind": a.kind,
            "unit": a.amount_unit,
            "firms_base": int((b.applies & m).sum()) if b is not None else 0,
            "firms": int((a.applies & m).sum()),
        }
        if a.kind != "measure":
            base_amt = float(np.nansum(b.amount[b.applies & m])) if b is not None else 0.0
            new_amt = float(np.nansum(a.amount[a.applies & m]))
            row.update(amount_base=base_amt, amount=new_amt, delta=new_amt - base_amt)
        out.append(row)
    return out


def class_matrix(result: WhatIfResult, mask: np.ndarray | None = None) -> dict[str, Any]:
    """Counts from each base class (rows) to each new class (columns), "" = unclassed."""
    m = np.ones(result.classes.size, bool) if mask is None else mask
    both = np.concatenate([result.base_classes[m], result.classes[m]]).astype(str)
    labels, inv = np.unique(both, return_inverse=True)
    # Classes in their published order (A before B …), unclassed ("") last.
    order = sorted(range(labels.size), key=lambda i: (labels[i] == "", labels[i]))
    rank = np.empty(labels.size, dtype=np.int64)
    rank[order] = np.arange(labels.size)
    k, half = labels.size, int(m.sum())
    idx = rank[inv]
    counts = np.bincount(idx[:half] * k + idx[half:], minlength=k * k).reshape(k, k)
    return {"labels": [str(labels[i]) for i in order], "counts": counts.astype(int).tolist()}


def moves_by(result: WhatIfResult, keys: np.ndarray, mask: np.ndarray | None = None) -> list[dict]:
    """Per key (county code, industry division …): firms, moved, up and down a class."""
    m = np.ones(result.classes.size, bool) if mask is None else mask
    keys = np.asarray(keys).astype(str)[m]
    if keys.size == 0:
        return []
    uniq, inv = np.unique(keys, return_inverse=True)
    both = (result.base_order[m] >= 0) & (result.order[m] >= 0)
    up = both & (result.order[m] < result.base_order[m])
    down = both & (result.order[m] > result.base_order[m])
    moved = result.moved[m]
    count = lambda v: np.bincount(inv, weights=v.astype(float), minlength=uniq.size).astype(int)  # noqa: E731
    firms, mv, u, d = count(np.ones(keys.size, bool)), count(moved), count(up), count(down)
    return [
        {"key": str(k), "firms": int(f), "moved": int(x), "up": int(y), "down": int(z)}
        for k, f, x, y, z in zip(uniq, firms, mv, u, d, strict=True)
    ]

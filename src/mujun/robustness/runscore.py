"""A stored run re-scored in memory with the real scoring, for analyses that vary its rules.

A run is immutable; to ask "what if the weights were a little different" we need the scoring
state behind it (normalised matrices, cohorts, caps and floors), which is not stored. It is
rebuilt here from the run's year, region, accepted corrections (overrides) and recorded rule
sets, exactly as `evaluate` made it, and checked against the stored classes: if the year's data
changed after the run, the run cannot be reproduced and the analysis refuses to start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from mujun.errors import InputError
from mujun.evaluation.inputs import Firms, load_firms
from mujun.evaluation.scoring import (
    Scored,
    previous_year_means,
    score_rules,
    uses_previous_year,
    without_previous_year,
)
from mujun.rules import RuleSet
from mujun.store import Store


@dataclass
class ScoredGroup:
    """Counties scored under one rule set: the rules, their hash and the real scoring state."""

    rules_hash: str
    rules: RuleSet
    counties: list[str]
    scored: Scored
    previous: dict | None  # previous-year cohort means, for `previous-year` benchmarks


@dataclass
class RunScoring:
    """A run rebuilt in memory: its firms and one scored group per rule set."""

    run_id: str
    year: int
    region: str | None
    firms: Firms
    groups: list[ScoredGroup]

    def group_of(self, uscc: str) -> tuple[ScoredGroup, int] | None:
        """The group scoring a firm and the firm's position in it (None if not in the run)."""
        codes = self.firms["uscc"].astype(str)
        pos = int(np.searchsorted(codes, uscc))
        if pos >= codes.size or codes[pos] != uscc:
            return None
        for g in self.groups:
            k = int(np.searchsorted(g.scored.idx, pos))
            if k < g.scored.idx.size and g.scored.idx[k] == pos:
                return g, k
        return None


def run_info(store: Store, run_id: str) -> tuple[int, dict]:
    """The data year and parameters of an evaluation run (InputError when there is none)."""
    rows = store.rows(
        "SELECT year, params::VARCHAR FROM runs WHERE run_id = ? AND kind = 'evaluation'",
        [run_id],
    )
    if not rows:
        raise InputError(
            f"evaluation run {run_id} not found", "list runs with `mujun diff` or the web"
        )
    year, params = rows[0]
    return int(year), (json.loads(params) if params else {})


def _overrides(store: Store, run_id: str) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    if not store.table_exists("overrides"):
        return out
    for uscc, fld, value in store.rows(
        "SELECT uscc, field, value FROM overrides WHERE run_id = ? ORDER BY uscc, field", [run_id]
    ):
        out.setdefault(uscc, {})[fld] = value
    return out


def load_run_scoring(store: Store, run_id: str, *, check: bool = True) -> RunScoring:
    """Re-score a stored run in memory with its own rules, data and corrections.

    With ``check`` the re-scored classes and totals must equal the stored ones; otherwise the
    data changed after the run and an InputError says so.
    """
    year, params = run_info(store, run_id)
    region = params.get("region")
    rows = store.rows(
        "SELECT rr.county_code, rs.rules_hash, rs.body::VARCHAR FROM run_rules rr "
        "JOIN rule_sets rs USING (rules_hash) WHERE rr.run_id = ? ORDER BY 1",
        [run_id],
    )
    if not rows:
        raise InputError(f"run {run_id} has no recorded rules", "evaluate the year again")
    bodies = {h: body for _, h, body in rows}
    counties: dict[str, list[str]] = {}
    for county, h, _ in rows:
        counties.setdefault(h, []).append(county)
    firms = load_firms(store, year, region, _overrides(store, run_id) or None)
    groups: list[ScoredGroup] = []
    previous_firms = None
    for h in sorted(bodies):
        rs = RuleSet.model_validate(json.loads(bodies[h]))
        idx = np.flatnonzero(np.isin(firms["county_code"].astype(str), counties[h]))
        previous = None
        if uses_previous_year(rs):
            if previous_firms is None:
                previous_firms = load_firms(store, year - 1, region)
            pidx = np.flatnonzero(np.isin(previous_firms["county_code"].astype(str), counties[h]))
            previous = previous_year_means(
                score_rules(previous_firms, without_previous_year(rs), pidx, year - 1)
            )
        groups.append(
            ScoredGroup(h, rs, counties[h], score_rules(firms, rs, idx, year, previous), previous)
        )
    out = RunScoring(run_id, year, region, firms, groups)
    if check:
        _check_reproduced(store, out)
    return out


def class_codes(rules: RuleSet, klass: np.ndarray) -> np.ndarray:
    """Class codes for class indices ('' for -1)."""
    names = np.array([c.code for c in rules.classes] + [""], dtype=object)
    return names[np.where(klass >= 0, klass, len(rules.classes))]


def _check_reproduced(store: Store, rs: RunScoring) -> None:
    stored = store.arrow(
        "SELECT uscc, coalesce(\"class\", '') AS k, total FROM results WHERE run_id = ? "
        "ORDER BY uscc",
        [rs.run_id],
    )
    s_uscc = np.asarray(stored.column("uscc").to_pylist(), dtype=object)
    s_class = np.asarray(stored.column("k").to_pylist(), dtype=object)
    s_total = stored.column("total").to_numpy(zero_copy_only=False).astype(np.float64)
    uscc, klass, total = [], [], []
    for g in rs.groups:
        uscc.append(rs.firms["uscc"][g.scored.idx])
        klass.append(class_codes(g.rules, g.scored.cols["klass"]))
        total.append(g.scored.cols["total"])
    u = np.concatenate(uscc).astype(object)
    order = np.argsort(u.astype(str), kind="stable")
    k, t = np.concatenate(klass)[order], np.concatenate(total)[order]
    same_firms = u.size == s_uscc.size and bool((u[order] == s_uscc).all())
    if not same_firms:
        raise InputError(
            f"run {rs.run_id} cannot be reproduced: its firms differ from the register of "
            f"{rs.year} now",
            "the year's data changed after the run; evaluate it again and analyse the new run",
        )
    diff_class = k != s_class
    diff_total = ~((t == s_total) | (np.isnan(t) & np.isnan(s_total)))
    bad = int((diff_class | diff_total).sum())
    if bad:
        first = str(s_uscc[np.flatnonzero(diff_class | diff_total)[0]])
        raise InputError(
            f"run {rs.run_id} cannot be reproduced: {bad} firm(s) score differently now "
            f"(first {first})",
            "the year's data changed after the run; evaluate it again and analyse the new run",
        )

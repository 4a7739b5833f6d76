"""Score and classify the firms of one rule set: land, scope, composite, adjustments, classes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mujun.classify import apply_limits, assign_bands
from mujun.composite.engine import CompositeResult, run_composite
from mujun.composite.tables import UnitTable
from mujun.evaluation.inputs import (
    MU_PER_M2,
    STATUS_EVALUATED,
    STATUS_NOT_EVALUATED,
    STATUS_PROVISIONAL,
    Firms,
)
from mujun.rules import RuleSet


@dataclass
class Scored:
    """Per-firm outcome columns for the firms a rule set covers (aligned with ``idx``)."""

    idx: np.ndarray  # positions in Firms
    cols: dict[str, np.ndarray]
    items: dict[
        str, dict[str, np.ndarray]
    ]  # size -> {"codes", "value", "score", "benchmark", "imputed"}
    composites: dict[str, CompositeResult]


def _prefix_match(codes: np.ndarray, prefixes: list[str]) -> np.ndarray:
    out = np.zeros(codes.shape[0], dtype=bool)
    for p in prefixes:
        out |= np.char.startswith(codes.astype(str), p)
    return out


def land_mu(firms: Firms, rules: RuleSet, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mu counted per firm and the land rule applied (text code)."""
    own = firms["land_own_mu"][idx]
    if rules.land.leased == "floor-space":
        leased = firms["leased_floor_m2"][idx] / rules.land.plot_ratio * MU_PER_M2
        leased = np.where(firms["land_leased_mu"][idx] > 0, leased, np.nan)
        rule = np.where(leased > 0, "leased-floor-space", "own")
    else:
        leased = firms["land_leased_mu"][idx]
        rule = np.where(leased > 0, "leased-parcel-share", "own")
    total = np.where(
        np.isnan(own) & np.isnan(leased), np.nan, np.nan_to_num(own) + np.nan_to_num(leased)
    )
    rule = np.where((np.nan_to_num(own) > 0) & (np.nan_to_num(leased) > 0), "own+leased", rule)
    rule = np.where(np.isnan(total), "none", rule)
    return total, rule


def _inputs(firms: Firms, idx: np.ndarray, mu: np.ndarray) -> dict[str, np.ndarray]:
    em = np.stack([firms[k][idx] for k in ("cod", "ammonia", "so2", "nox")])
    emissions = np.where(np.isnan(em).all(axis=0), np.nan, np.nansum(em, axis=0))
    return {
        "tax": firms["tax_paid"][idx],
        "va": firms["value_added"][idx],
        "revenue": firms["revenue"][idx],
        "staff": firms["employees"][idx],
        "energy": firms["energy"][idx],
        "emissions": emissions,
        "rd": firms["rd"][idx],
        "electricity": firms["electricity"][idx] / 10000.0,
        "water": firms["water"][idx],
        "land_mu": mu,
    }


def uses_previous_year(rules: RuleSet) -> bool:
    """Whether any benchmark of the rule set is k × the previous year's cohort mean."""
    for sz in ("above", "below"):
        sr = rules.size_rules(sz)
        if sr is None:
            continue
        for step in sr.composite.steps:
            strategies = [
                getattr(step, "benchmark", None),
                *(getattr(step, "benchmarks", None) or {}).values(),
            ]
            if any(getattr(b, "strategy", None) == "previous-year" for b in strategies):
                return True
    return False


def without_previous_year(rules: RuleSet) -> RuleSet:
    """The same rules with `previous-year` benchmarks replaced by cohort means, to score the
    previous year itself (whose own previous year is not needed for its denominated values)."""

    def swap(node):
        if isinstance(node, dict):
            if node.get("strategy") == "previous-year":
                return {"strategy": "cohort-mean"}
            return {k: swap(v) for k, v in node.items()}
        if isinstance(node, list):
            return [swap(v) for v in node]
        return node

    return RuleSet.model_validate(swap(rules.model_dump(mode="json", exclude_none=True)))


def previous_year_means(scored: Scored) -> dict[str, dict[str, dict[str, float]]]:
    """Per size class: {indicator: {cohort: mean of the denominated values}} of a scored year."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for sz, res in scored.composites.items():
        cohorts = np.asarray(res.cohort).astype(str)
        labels, inv = np.unique(cohorts, return_inverse=True)
        per: dict[str, dict[str, float]] = {}
        for j, code in enumerate(res.indicators):
            v = res.denominated[:, j]
            ok = ~np.isnan(v)
            sums = np.bincount(inv[ok], weights=v[ok], minlength=labels.size)
            counts = np.bincount(inv[ok], minlength=labels.size)
            per[code] = {
                str(lab): float(sums[k] / counts[k]) for k, lab in enumerate(labels) if counts[k]
            }
        out[sz] = per
    return out


def score_rules(
    firms: Firms,
    rules: RuleSet,
    idx: np.ndarray,
    data_year: int,
    previous: dict[str, dict[str, dict[str, float]]] | None = None,
) -> Scored:
    """Apply one rule set to the firms at positions ``idx``; ``previous`` holds the previous
    year's cohort means for `previous-year` benchmarks (see :func:`previous_year_means`)."""
    n = idx.size
    above = firms["above"][idx]
    size = np.where(above, "above", "below")
    mu, land_rule = land_mu(firms, rules, idx)
    status = np.full(n, STATUS_EVALUATED, dtype=object)
    reason = np.full(n, "", dtype=object)
    category = np.where(above, "above", "below")

    def exclude(mask: np.ndarray, st: str, why: str) -> None:
        fresh = mask & (status == STATUS_EVALUATED)
        status[fresh] = st
        reason[fresh] = why

    exclude(
        firms["county_code"][idx] == "",
        STATUS_NOT_EVALUATED,
        "区县代码缺失或无效，无法确定评价队列",
    )
    exclude(~firms["above_size_known"][idx], STATUS_NOT_EVALUATED, "是否规上未知")
    if not rules.scope.above_size:
        exclude(above, STATUS_NOT_EVALUATED, "本规则不评价规上企业")
    below_rules = rules.below is not None and rules.scope.below_size
    if not below_rules:
        exclude(~above, STATUS_NOT_EVALUATED, "本规则不评价规下企业")
    small = ~above & ~(mu >= rules.scope.below_size_min_mu)
    own = np.nan_to_num(firms["land_own_mu"][idx])
    tenant_only = (own <= 0) & (np.nan_to_num(firms["land_leased_mu"][idx]) > 0)
    category = np.where(small, "below-small", category)
    category = np.where(tenant_only, "tenant", category)
    exclude(small, STATUS_NOT_EVALUATED, f"规下企业用地不足{rules.scope.below_size_min_mu:g}亩")
    for ex in rules.exemptions:
        if ex.kind == "industry":
            mask = _prefix_match(firms["industry_code"][idx], ex.prefixes)
        elif ex.kind == "age":
            mask = data_year - firms["est_year"][idx] < ex.years  # type: ignore[operator]
        elif ex.kind == "new-land":
            mask = data_year - firms["land_supply_year"][idx] < ex.years  # type: ignore[operator]
        else:
            mask = firms.events.get(ex.event or "", np.zeros(firms.n, bool))[idx]
        exclude(mask, ex.outcome, ex.reason)

    cohort = _cohorts(firms, rules, idx, size)
    cols: dict[str, np.ndarray] = {
        "size": size,
        "category": category,
        "status": status,
        "status_reason": reason,
        "cohort": cohort,
        "land_mu": mu,
        "land_rule": land_rule,
        "composite_total": np.full(n, np.nan),
        "bonus": np.zeros(n),
        "penalty": np.zeros(n),
        "total": np.full(n, np.nan),
        "band_class": np.full(n, -1, dtype=np.int64),
        "klass": np.full(n, -1, dtype=np.int64),
        "rank": np.zeros(n, dtype=np.int64),
        "cohort_size": np.zeros(n, dtype=np.int64),
        "percentile": np.full(n, np.nan),
        "cap": np.full(n, -1, dtype=np.int64),
        "floor": np.full(n, -1, dtype=np.int64),
        "limit_reason": np.full(n, "", dtype=object),
        "adjust_reason": np.full(n, "", dtype=object),
        "tenant_of": np.full(n, "", dtype=object),
    }
    inputs = _inputs(firms, idx, mu)
    cols["flags"] = _flags(rules, above, inputs, mu)
    _merge_tenants(firms, rules, idx, inputs, cols)
    items: dict[str, dict[str, np.ndarray]] = {}
    composites: dict[str, CompositeResult] = {}
    for sz in ("above", "below"):
        sr = rules.size_rules(sz)
        member = (size == sz) & (status == STATUS_EVALUATED)
        if sr is None or not member.any():
            continue
        rows = np.flatnonzero(member)
        table = UnitTable(firms["uscc"][idx][rows], {k: v[rows] for k, v in inputs.items()})
        res = run_composite(
            sr.composite, table, cohort=cohort[rows], previous_benchmarks=(previous or {}).get(sz)
        )
        composites[sz] = res
        # Results come back sorted by unit id, as idx (firms sorted by credit code) already is.
        pos = rows[np.searchsorted(table.units, res.units)] if res.units.size else rows[:0]
        cols["composite_total"][pos] = res.total
        items[sz] = {
            "rows": pos,
            "codes": np.array(res.indicators),
            "value": res.denominated,
            "score": res.item_scores,
            "benchmark": np.column_stack(
                [
                    res.benchmarks[c].per_unit
                    if c in res.benchmarks
                    else np.full(res.units.size, np.nan)
                    for c in res.indicators
                ]
            )
            if res.indicators
            else np.zeros((res.units.size, 0)),
            # Imputed: no value, but the cohort-average item score (Huangyan); a missing value
            # that merely scores 0 (missing: zero) is "zeroed", not imputed.
            "imputed": np.isnan(res.denominated)
            & ~np.isnan(res.item_scores)
            & _averaged_indicators(sr.composite, res.indicators)[None, :],
            "zeroed": np.isnan(res.denominated)
            & (res.item_scores == 0)
            & ~_averaged_indicators(sr.composite, res.indicators)[None, :],
        }
    _adjust(firms, rules, idx, cols, items)
    _classify(firms, rules, idx, cols, items)
    return Scored(idx, cols, items, composites)


def _flags(rules: RuleSet, above: np.ndarray, inputs, mu: np.ndarray) -> np.ndarray:
    """Monitoring labels such as Huzhou's 三低, comma-separated codes per firm."""
    out = np.full(above.size, "", dtype=object)
    with np.errstate(divide="ignore", invalid="ignore"):
        tpm = inputs["tax"] / mu
    for fl in rules.flags:
        m = np.zeros(above.size, dtype=bool)
        if fl.above_tax_per_mu_below is not None:
            m |= above & (tpm < fl.above_tax_per_mu_below)
        if fl.below_tax_per_mu_below is not None:
            m |= ~above & (tpm < fl.below_tax_per_mu_below)
        if fl.below_size_land_at_least is not None:
            m |= ~above & (mu >= fl.below_size_land_at_least)
        out[m] = out[m] + fl.code + ","
    return np.array([v.rstrip(",") for v in out], dtype=object) if out.size else out


def _averaged_indicators(spec, codes) -> np.ndarray:
    """Which indicators a cohort-average-item-score imputation step fills."""
    out = np.zeros(len(codes), dtype=bool)
    for step in spec.steps:
        if getattr(step, "op", None) == "impute" and step.method == "cohort-average-item-score":
            targets = set(step.indicators or codes)
            out |= np.array([c in targets for c in codes])
    return out


def _cohorts(firms: Firms, rules: RuleSet, idx: np.ndarray, size: np.ndarray) -> np.ndarray:
    level = rules.cohorts.region
    region = (
        firms["county_code"][idx]
        if level == "county"
        else firms["city_code"][idx]
        if level == "city"
        else np.full(idx.size, "330000", dtype=object)
    )
    parts = [region.astype(str)]
    if rules.cohorts.by_size:
        parts.append(size.astype(str))
    if rules.cohorts.industry_groups:
        group = np.full(idx.size, rules.cohorts.other_group, dtype=object)
        codes = firms["industry_code"][idx]
        for g in reversed(rules.cohorts.industry_groups):  # first listed group wins
            group = np.where(_prefix_match(codes, g.prefixes), g.name, group)
        parts.append(group.astype(str))
    out = parts[0]
    for p in parts[1:]:
        out = np.char.add(np.char.add(out.astype(str), "/"), p)
    return out.astype(object)


def _merge_tenants(firms: Firms, rules: RuleSet, idx: np.ndarray, inputs, cols) -> None:
    """Tenants sharing an owner's parcel: merged into the owner's evaluation if the rules say so."""
    pos_of = np.full(firms.n, -1, dtype=np.int64)
    pos_of[idx] = np.arange(idx.size)
    lessor = firms["lessor_idx"][idx]
    lessor_pos = np.where(lessor >= 0, pos_of[np.maximum(lessor, 0)], -1)
    cols["lessor_pos"] = lessor_pos
    if rules.land.shared_parcel_tenants != "merge-into-owner":
        return
    tenant = (lessor_pos >= 0) & firms["lessor_shared"][idx] & (cols["status"] == STATUS_EVALUATED)
    t_rows = np.flatnonzero(tenant)
    owners = lessor_pos[t_rows]
    for key in (
        "tax",
        "va",
        "revenue",
        "staff",
        "energy",
        "emissions",
        "rd",
        "electricity",
        "water",
    ):
        v = inputs[key]
        add = np.nan_to_num(v[t_rows])
        base = v.copy()
        np.add.at(base, owners, add)
        inputs[key] = np.where(np.isnan(v) & ~np.isin(np.arange(v.size), owners), v, base)
    cols["status"][t_rows] = STATUS_PROVISIONAL
    cols["status_reason"][t_rows] = "与出租方合并评价，采用出租方结果"
    cols["tenant_of"][t_rows] = firms["uscc"][idx][owners]
    cols["merged"] = tenant


def _indicator_values(items, size: str, code: str, n: int) -> np.ndarray | None:
    """Values of one indicator for the firms of a size class (NaN elsewhere), or None."""
    it = items.get(size)
    if it is None or code not in list(it["codes"]):
        return None
    vals = np.full(n, np.nan)
    vals[it["rows"]] = it["value"][:, list(it["codes"]).index(code)]
    return vals


def _adjust(firms: Firms, rules: RuleSet, idx: np.ndarray, cols, items) -> None:
    n = idx.size
    scored = ~np.isnan(cols["composite_total"])
    text = np.full(n, "", dtype=object)
    for adj in rules.adjustments:
        if adj.event is not None:
            mask = firms.events.get(adj.event, np.zeros(firms.n, bool))[idx].copy()
        else:
            mask = np.zeros(n, dtype=bool)
            for sz in adj.sizes:
                vals = _indicator_values(items, sz, adj.indicator or "", n)
                if vals is None:
                    continue
                hit = vals >= adj.at_least if adj.at_least is not None else vals < adj.below
                mask |= (cols["size"] == sz) & hit
        mask &= scored & np.isin(cols["size"], adj.sizes)
        if adj.points >= 0:
            cols["bonus"][mask] += adj.points
        else:
            cols["penalty"][mask] += -adj.points
        text[mask] = text[mask] + f"{adj.name}{adj.points:+g}；"
    pen = rules.land.leasing_penalty
    if (
        pen.above_size_per_extra_tenant
        or pen.below_size_first_tenant
        or pen.below_size_per_extra_tenant
    ):
        lessor_pos = cols["lessor_pos"]
        tenants = np.bincount(lessor_pos[lessor_pos >= 0], minlength=n)
        above = cols["size"] == "above"
        points = (
            np.where(
                above,
                pen.above_size_per_extra_tenant * np.maximum(tenants - 1, 0),
                pen.below_size_first_tenant * (tenants >= 1)
                + pen.below_size_per_extra_tenant * np.maximum(tenants - 1, 0),
            )
            * scored
        )
        cols["penalty"] += points
        has = points > 0
        text[has] = (
            text[has]
            + np.char.add(
                np.char.add("出租厂房扣分（承租企业", tenants[has].astype(str)), "家）-"
            ).astype(object)
            + np.char.add(np.char.mod("%g", points[has]), "；").astype(object)
        )
    cols["adjust_reason"] = text
    total = cols["composite_total"] + cols["bonus"] - cols["penalty"]
    cols["total"] = np.round(total, rules.precision)


def _classify(firms: Firms, rules: RuleSet, idx: np.ndarray, cols, items) -> None:
    n = idx.size
    uscc = firms["uscc"][idx].astype(str)
    for sz in ("above", "below"):
        sr = rules.size_rules(sz)
        eligible = (
            (cols["size"] == sz) & (cols["status"] == STATUS_EVALUATED) & ~np.isnan(cols["total"])
        )
        if sr is None or not eligible.any():
            continue
        keys = []
        it = items.get(sz)
        for code in sr.tie_break:
            if it is not None and code in list(it["codes"]):
                vals = np.full(n, np.nan)
                vals[it["rows"]] = it["value"][:, list(it["codes"]).index(code)]
                keys.append(vals)
        b = assign_bands(
            cols["cohort"].astype(str),
            cols["total"],
            sr.bands,
            tiebreak=uscc,
            eligible=eligible,
            keys=keys,
            ties=sr.ties,
        )
        m = b.klass >= 0
        cols["band_class"][m] = b.klass[m]
        cols["rank"][m] = b.rank[m]
        cols["cohort_size"][m] = b.cohort_size[m]
        cols["percentile"][m] = b.percentile[m]
    cap = np.full(n, -1, dtype=np.int64)
    floor = np.full(n, -1, dtype=np.int64)
    veto = np.zeros(n, dtype=bool)
    text = np.full(n, "", dtype=object)
    data_year = firms.year
    for lim in rules.limits:
        if lim.when == "event":
            mask = firms.events.get(lim.event or "", np.zeros(firms.n, bool))[idx]
        elif lim.when == "new-firm":
            mask = data_year - firms["est_year"][idx] < lim.years  # type: ignore[operator]
        else:
            mask = data_year - firms["land_supply_year"][idx] < lim.years  # type: ignore[operator]
        mask &= cols["band_class"] >= 0
        if lim.cap is not None:
            k = rules.class_index(lim.cap)
            cap = np.where(mask, np.maximum(cap, k), cap)
            veto |= mask & lim.veto
            text[mask] = text[mask] + f"{lim.name}：最高为{lim.cap}类；"
        else:
            k = rules.class_index(lim.floor)  # type: ignore[arg-type]
            floor = np.where(mask & ((floor < 0) | (k < floor)), k, floor)
            text[mask] = text[mask] + f"{lim.name}：最低为{lim.floor}类；"
    for th in rules.thresholds:
        for sz in th.sizes:
            it = items.get(sz)
            if it is None or th.indicator not in list(it["codes"]):
                continue
            j = list(it["codes"]).index(th.indicator)
            vals = np.full(n, np.nan)
            vals[it["rows"]] = it["value"][:, j]
            mask = (cols["size"] == sz) & (vals < th.below) & (cols["band_class"] >= 0)
            k = rules.class_index(th.cap)
            cap = np.where(mask, np.maximum(cap, k), cap)
            text[mask] = text[mask] + f"{th.name}（低于{th.below:g}）：最高为{th.cap}类；"
    floor = np.where(veto, -1, floor)
    cols["cap"], cols["floor"] = cap, floor
    klass = apply_limits(cols["band_class"], cap, floor)
    # Tenants merged into their owner take the owner's class; below-size tenants may too.
    lessor_pos = cols["lessor_pos"]
    take = np.zeros(n, dtype=bool)
    if "merged" in cols:
        take |= cols["merged"]
    if rules.land.below_size_tenant_takes_landlord_class:
        lone = (cols["size"] == "below") & (cols["category"] == "tenant") & (lessor_pos >= 0)
        take |= lone
    take &= lessor_pos >= 0
    if take.any():
        landlord = klass[lessor_pos[take]]
        has = landlord >= 0
        rows = np.flatnonzero(take)[has]
        klass[rows] = landlord[has]
        text[rows] = (
            text[rows] + "采用出租方（" + cols["tenant_of"][rows].astype(str) + "）的分类；"
            if False
            else text[rows] + "采用出租方分类；"
        )
    cols["klass"] = klass
    cols["limit_reason"] = text


def rescore(
    firms: Firms, rules: RuleSet, scored: Scored, weights: dict[str, dict[str, float]]
) -> Scored:
    """Re-score with changed weights (per size class, indicator → weight) without re-reading,
    re-normalising or writing anything: re-aggregate, re-adjust and re-classify."""
    cols = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in scored.cols.items()}
    items = dict(scored.items)
    composites = dict(scored.composites)
    cols["composite_total"] = np.full(scored.idx.size, np.nan)
    for sz, res in scored.composites.items():
        new = res.reaggregate(weights.get(sz, {})) if weights.get(sz) else res
        composites[sz] = new
        rows = scored.items[sz]["rows"]
        cols["composite_total"][rows] = new.total
        items[sz] = {**scored.items[sz], "score": new.item_scores}
    for key in ("bonus", "penalty"):
        cols[key] = np.zeros(scored.idx.size)
    out = Scored(scored.idx, cols, items, composites)
    _adjust(firms, rules, scored.idx, out.cols, out.items)
    _classify(firms, rules, scored.idx, out.cols, out.items)
    return out

"""Cross-field checks of a rule set: the framework tree and the step list.

Each check returns ``(key path, message)`` pairs so that the loader can name the key in the file.
They read the spec's attributes only, so :mod:`mujun.composite.spec` can call them from its
validator without an import cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mujun.composite.spec import CompositeSpec, IndicatorSpec, RatioToBenchmarkNormalise

__all__ = ["RESERVED_CODES", "check_steps", "check_tree"]

# Column names that to_arrow() writes itself; codes must not collide with them.
RESERVED_CODES = frozenset({"unit", "cohort", "total", "rank"})


def check_tree(spec: CompositeSpec) -> list[tuple[str, str]]:
    """Problems with the framework tree as (key path, message): one root, parents, no cycles."""
    problems: list[tuple[str, str]] = []
    ind_codes = [i.code for i in spec.indicators]
    agg_codes = [a.code for a in spec.aggregates]
    seen: set[str] = set()
    # to_arrow() writes <indicator>_score and <indicator>_benchmark beside every indicator.
    taken = RESERVED_CODES | {f"{c}{s}" for c in ind_codes for s in ("_score", "_benchmark")}
    for kind, codes in (("indicators", ind_codes), ("aggregates", agg_codes)):
        for n, code in enumerate(codes):
            if code in seen:
                problems.append((f"{kind}.{n}.code", f"code {code!r} is used twice"))
            if code in taken:
                problems.append((f"{kind}.{n}.code", f"code {code!r} is reserved for output"))
            seen.add(code)
    aggs = set(agg_codes)
    for n, ind in enumerate(spec.indicators):
        if ind.parent not in aggs:
            problems.append(
                (
                    f"indicators.{n}.parent",
                    f"parent {ind.parent!r} of {ind.code!r} is not an aggregate",
                )
            )
    roots = [a.code for a in spec.aggregates if a.parent is None]
    if len(roots) != 1:
        where = ", ".join(roots) if roots else "none"
        problems.append(
            ("aggregates", f"need exactly one root aggregate (parent null); found {where}")
        )
    parent_of = {a.code: a.parent for a in spec.aggregates}
    for n, agg in enumerate(spec.aggregates):
        if agg.parent is not None and agg.parent not in aggs:
            problems.append(
                (
                    f"aggregates.{n}.parent",
                    f"parent {agg.parent!r} of {agg.code!r} is not an aggregate",
                )
            )
            continue
        # Walk up from each aggregate; revisiting a code means a cycle.
        path = [agg.code]
        node = agg.parent
        while node is not None and node in parent_of:
            if node in path:
                cycle = " → ".join([*path[path.index(node) :], node])
                problems.append((f"aggregates.{n}.parent", f"cycle {cycle}"))
                break
            path.append(node)
            node = parent_of[node]
    has_child = {i.parent for i in spec.indicators} | {a.parent for a in spec.aggregates}
    for n, agg in enumerate(spec.aggregates):
        if agg.code not in has_child:
            problems.append((f"aggregates.{n}", f"aggregate {agg.code!r} has no children"))
    return problems


def check_steps(spec: CompositeSpec) -> list[tuple[str, str]]:
    """Problems with the step list as (key path, message): order, references, parameters."""
    problems: list[tuple[str, str]] = []
    codes = set(spec.indicator_codes)
    by_code = {i.code: i for i in spec.indicators}
    first_norm = next((n for n, s in enumerate(spec.steps) if s.op == "normalise"), None)
    normalised: set[str] = set()
    for n, step in enumerate(spec.steps):
        path = f"steps.{n}"
        listed = getattr(step, "indicators", None)
        for code in listed or []:
            if code not in codes:
                problems.append((f"{path}.indicators", f"unknown indicator {code!r}"))
        targets = [c for c in spec.indicator_codes if listed is None or c in listed]
        after_norm = first_norm is not None and n > first_norm
        if step.op == "aggregate" and n != len(spec.steps) - 1:
            problems.append((path, "`aggregate` must be the last step"))
        if step.op in ("denominate", "screen", "treat-outliers") and after_norm:
            problems.append((path, f"`{step.op}` must come before `normalise`"))
        if step.op == "impute":
            post = step.method == "cohort-average-item-score"
            if post and (first_norm is None or n < first_norm):
                problems.append(
                    (f"{path}.method", "cohort-average-item-score needs `normalise` first")
                )
            if not post and after_norm:
                problems.append((f"{path}.method", f"{step.method} must come before `normalise`"))
        if step.op == "denominate":
            for code in targets if listed is not None else []:
                if by_code[code].denominator is None:
                    problems.append((f"{path}.indicators", f"{code!r} has no denominator"))
        if step.op != "normalise":
            continue
        for code in targets:
            if code in normalised:
                problems.append((f"{path}.indicators", f"{code!r} is normalised twice"))
            normalised.add(code)
        if step.method == "distance-to-target":
            for code in targets:
                if by_code[code].target is None:
                    problems.append((f"{path}.method", f"indicator {code!r} has no `target`"))
        if step.method == "goalposts":
            for code in targets:
                if code not in step.posts:
                    problems.append((f"{path}.posts", f"no goalposts for {code!r}"))
            for code in step.posts:
                if code not in codes:
                    problems.append((f"{path}.posts", f"unknown indicator {code!r}"))
        if step.method == "ratio-to-benchmark":
            problems += _check_benchmarks(step, path, targets, by_code)
    return problems


def _check_benchmarks(
    step: RatioToBenchmarkNormalise,
    path: str,
    targets: list[str],
    by_code: dict[str, IndicatorSpec],
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for code in step.benchmarks:
        if code not in by_code:
            problems.append((f"{path}.benchmarks", f"unknown indicator {code!r}"))
    if step.benchmark is not None and step.benchmark.strategy == "fixed":
        if step.benchmark.value is not None:
            problems.append((f"{path}.benchmark", "the default fixed benchmark takes `values`"))
        for code in step.benchmark.values or {}:
            if code not in by_code:
                problems.append((f"{path}.benchmark.values", f"unknown indicator {code!r}"))
    for code in targets:
        bench = step.benchmarks.get(code, step.benchmark)
        where = f"{path}.benchmarks.{code}" if code in step.benchmarks else f"{path}.benchmark"
        if bench is None:
            problems.append((f"{path}.benchmark", f"no benchmark for {code!r}"))
        elif bench.strategy == "fixed":
            has = bench.value is not None or code in (bench.values or {})
            if not has:
                problems.append((where, f"no fixed value for {code!r}"))
        elif bench.strategy == "cohort-ratio-of-totals" and by_code[code].denominator is None:
            problems.append((where, f"ratio of totals needs a denominator for {code!r}"))
    return problems

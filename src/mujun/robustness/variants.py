"""Rule-set variants for the Monte Carlo: another benchmark strategy or normalisation method.

A variant is the run's rule set with every ratio-to-benchmark step given another benchmark
strategy, or every normalise step replaced by another method scaled to the same item range
(floor … cap of the run's step, so bonus points keep their weight against the total). Each
variant is scored once by the real scoring; draws then only vary its weights.
"""

from __future__ import annotations

from typing import Any

from mujun.errors import InputError
from mujun.rules import RuleSet

RUN = "run"
BENCHMARKS = ("run", "cohort-ratio-of-totals", "cohort-mean", "cohort-median")
METHODS = ("run", "ratio-to-benchmark", "minmax", "percentile-rank")


def check_choices(benchmarks: list[str], methods: list[str]) -> None:
    """Refuse unknown benchmark strategies or methods with the list of known ones."""
    for b in benchmarks:
        if b not in BENCHMARKS:
            raise InputError(
                f"unknown benchmark strategy {b!r}", f"choose from {', '.join(BENCHMARKS)}"
            )
    for m in methods:
        if m not in METHODS:
            raise InputError(
                f"unknown normalisation method {m!r}", f"choose from {', '.join(METHODS)}"
            )
    if not benchmarks or not methods:
        raise InputError("give at least one benchmark strategy and one method (`run` = as run)")


def _steps(body: dict[str, Any]):
    for size in ("above", "below"):
        sr = body.get(size)
        if sr:
            yield from sr["composite"]["steps"]


def make_variant(rules: RuleSet, benchmark: str, method: str) -> RuleSet | None:
    """The rules with another benchmark strategy and/or method; None when the combination
    changes nothing the run has (e.g. a benchmark for a run without ratio-to-benchmark)."""
    body = rules.model_dump(mode="json", exclude_none=True)
    changed = False
    for step in _steps(body):
        if step.get("op") != "normalise":
            continue
        ratio = step.get("method") == "ratio-to-benchmark"
        if method not in (RUN, "ratio-to-benchmark") or (
            method == "ratio-to-benchmark" and not ratio
        ):
            new = {
                k: step[k]
                for k in ("op", "indicators", "within_cohort", "scale_by_weight", "points")
                if k in step
            }
            low = float(step.get("floor", 0.0) or 0.0) if ratio else 0.0
            high = float(step.get("cap", 1.0) or 1.0) if ratio else 1.0
            if method == "minmax":
                new.update(method="minmax", low=low, high=high)
            elif method == "percentile-rank":
                new.update(method="percentile-rank", scale=high)
            else:  # ratio-to-benchmark for a run that used another method: cohort ratio
                new.update(
                    method="ratio-to-benchmark",
                    benchmark={"strategy": "cohort-ratio-of-totals"},
                    floor=0.0,
                    cap=1.5,
                )
            step.clear()
            step.update(new)
            changed = True
            ratio = new["method"] == "ratio-to-benchmark"
        if ratio and benchmark != RUN and step.get("method") == "ratio-to-benchmark":
            step["benchmark"] = {"strategy": benchmark}
            step["benchmarks"] = {}
            changed = True
    if not changed:
        return None
    return RuleSet.model_validate(body)


def variant_label(benchmark: str, method: str) -> str:
    """A short label: 'run', 'benchmark=cohort-mean', 'method=minmax', or both."""
    parts = []
    if method != RUN:
        parts.append(f"method={method}")
    if benchmark != RUN:
        parts.append(f"benchmark={benchmark}")
    return ",".join(parts) or RUN

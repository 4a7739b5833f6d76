"""What-if changes: ``KEY=VALUE`` settings applied to a rule set and a policy set in memory.

Short keys cover what policy makers tune; any other key of a rule set or policy set is reachable
by its path (``rules.…`` / ``policy.…``). The changed sets are validated again, so a bad value is
refused with the key named, exactly as in a YAML file.

=============================== ===============================================================
``weights.IND=40``              weight of indicator IND (above-size if it has one, else below);
                                ``weights.above.IND`` / ``weights.below.IND`` to pick the size
``benchmark=cohort-mean``       benchmark strategy of every ratio-to-benchmark step (cohort-mean,
                                cohort-median, cohort-ratio-of-totals, previous-year:FACTOR);
                                ``benchmark.above=…`` / ``benchmark.below=…`` for one size
``cap=2`` / ``floor=0``         item cap / floor (× the weight) of every ratio-to-benchmark step;
                                ``cap.above=…`` for one size
``bands=0.25,0.45,0.25,0.05``   class shares, best first (both sizes); ``bands.above=…``
``policy.LEVER.CLASS=0.2``      a lever's rate (share, markup or cut) for a class; several
                                values (``0.1,0.3,0.5``) escalate over consecutive years
``rules.PATH=VALUE``            any rule-set key, e.g. ``rules.thresholds.0.below=2``
``policy.PATH=VALUE``           any other policy key, e.g. ``policy.levers.0.rates.default.rate=6``
=============================== ===============================================================
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import yaml

from mujun.errors import ConfigError
from mujun.policy.spec import PolicySet, parse_policy
from mujun.rules import RuleSet, _format_errors

# English aliases of the default indicator codes, as people write them.
INDICATOR_ALIASES = {
    "tax_per_mu": "tax_mu",
    "va_per_mu": "va_mu",
    "va_per_energy": "va_energy",
    "va_per_emissions": "va_emissions",
    "labour_productivity": "labour",
    "rd_intensity": "rd_ratio",
    "tax_per_electricity": "tax_electricity",
}
SIZES = ("above", "below")
STRATEGIES = ("cohort-mean", "cohort-median", "cohort-ratio-of-totals")


@dataclass(frozen=True)
class Change:
    """One ``KEY=VALUE`` setting."""

    key: str
    value: str

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


def parse_changes(items: list[str] | tuple[str, ...]) -> list[Change]:
    """``["weights.tax_mu=40", …]`` → changes; a setting without ``=`` is refused."""
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(
                f"--set {item!r} is not KEY=VALUE",
                "e.g. --set weights.tax_mu=40 (see docs/whatif.md)",
            )
        out.append(Change(key.strip(), value.strip()))
    return out


def _scalar(text: str) -> Any:
    return yaml.safe_load(text)


def _numbers(change: Change) -> list[float]:
    try:
        return [float(x) for x in change.value.split(",")]
    except ValueError:
        raise ConfigError(
            f"--set {change}: {change.value!r} is not a number or list of numbers"
        ) from None


def _sizes(body: dict, parts: list[str], change: Change) -> list[str]:
    if parts and parts[0] in SIZES:
        if body.get(parts[0]) is None:
            raise ConfigError(f"--set {change}: the rule set has no {parts[0]}-size rules")
        return [parts[0]]
    if parts:
        raise ConfigError(
            f"--set {change}: expected `above` or `below` after {change.key.split('.')[0]}"
        )
    return [s for s in SIZES if body.get(s) is not None]


def _ratio_steps(body: dict, size: str) -> list[dict]:
    steps = body[size]["composite"]["steps"]
    return [
        s for s in steps if s.get("op") == "normalise" and s.get("method") == "ratio-to-benchmark"
    ]


def _set_path(node: Any, path: list[str], value: Any, change: Change) -> None:
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(
                    f"--set {change}: {part!r} is not an index of {'.'.join(path[:i]) or 'the top'}"
                )
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                if part not in node or node[part] is None:
                    node[part] = {}
                node = node[part]
        else:
            raise ConfigError(f"--set {change}: {'.'.join(path[:i])} is not a mapping or list")


def _apply_rule_change(body: dict, change: Change) -> None:
    parts = change.key.split(".")
    head, rest = parts[0], parts[1:]
    if head == "weights":
        if not rest:
            raise ConfigError(f"--set {change}: name the indicator, e.g. weights.tax_mu=40")
        sizes = [rest[0]] if rest[0] in SIZES else None
        code = rest[-1] if sizes else ".".join(rest)
        code = INDICATOR_ALIASES.get(code, code)
        weight = _numbers(change)[0]
        candidates = sizes or [s for s in SIZES if body.get(s) is not None]
        for size in candidates:
            for ind in (body.get(size) or {}).get("composite", {}).get("indicators", []):
                if ind["code"] == code:
                    ind["weight"] = weight
                    return
        known = sorted(
            {
                i["code"]
                for s in candidates
                for i in (body.get(s) or {}).get("composite", {}).get("indicators", [])
            }
        )
        raise ConfigError(
            f"--set {change}: no indicator {code!r}", "indicators: " + ", ".join(known)
        )
    if head == "benchmark":
        strategy, _, factor = change.value.partition(":")
        if strategy == "previous-year":
            new: dict[str, Any] = {"strategy": strategy, "factor": float(factor or 1)}
        elif strategy in STRATEGIES and not factor:
            new = {"strategy": strategy}
        else:
            raise ConfigError(
                f"--set {change}: unknown benchmark strategy {change.value!r}",
                "one of " + ", ".join((*STRATEGIES, "previous-year:FACTOR")),
            )
        for size in _sizes(body, rest, change):
            for step in _ratio_steps(body, size):
                step["benchmark"] = dict(new)
                step.pop("benchmarks", None)
        return
    if head in ("cap", "floor"):
        value = _numbers(change)[0]
        for size in _sizes(body, rest, change):
            for step in _ratio_steps(body, size):
                step[head] = value
        return
    if head == "bands":
        shares = _numbers(change)
        for size in _sizes(body, rest, change):
            body[size]["bands"] = shares
        return
    if head == "rules" and rest:
        _set_path(body, rest, _scalar(change.value), change)
        return
    raise ConfigError(
        f"--set {change}: unknown key {change.key!r}",
        "use weights.IND, benchmark, cap, floor, bands, policy.LEVER.CLASS, rules.PATH or "
        "policy.PATH (docs/whatif.md)",
    )


def _apply_policy_change(body: dict, policy: PolicySet, change: Change) -> None:
    parts = change.key.split(".")[1:]
    if len(parts) == 2 and parts[0] in {lv.code for lv in policy.levers}:
        lever = policy.lever(parts[0])
        table_key = next(
            k for k in ("relief", "markup", "cuts", "texts", "rates") if hasattr(lever, k)
        )
        target = next(b for b in body["levers"] if b["code"] == parts[0])
        values = _numbers(change) if table_key != "texts" else change.value
        if table_key == "relief":
            values = values[0]
        target[table_key][parts[1]] = values
        return
    if not parts:
        raise ConfigError(
            f"--set {change}: name the lever, e.g. policy.electricity_surcharge.D=0.2"
        )
    if parts[0] in {lv.code for lv in policy.levers}:
        # A lever's other keys by name: policy.LEVER.rates.default.rate=6
        idx = [lv.code for lv in policy.levers].index(parts[0])
        _set_path(body, ["levers", str(idx), *parts[1:]], _scalar(change.value), change)
        return
    _set_path(body, parts, _scalar(change.value), change)


def apply_changes(
    rules: RuleSet, policy: PolicySet | None, changes: list[Change]
) -> tuple[RuleSet, PolicySet | None]:
    """The rule set and policy set with ``changes`` applied (validated; inputs untouched)."""
    body = copy.deepcopy(rules.model_dump(mode="json", exclude_none=True))
    pbody = copy.deepcopy(policy.model_dump(mode="json", exclude_none=True)) if policy else None
    rule_changes = []
    for ch in changes:
        if ch.key.split(".")[0] == "policy":
            if policy is None or pbody is None:
                raise ConfigError(f"--set {ch}: no policy set given", "add --policy FILE")
            _apply_policy_change(pbody, policy, ch)
        else:
            _apply_rule_change(body, ch)
            rule_changes.append(str(ch))
    try:
        new_rules = RuleSet.model_validate(body) if rule_changes else rules
    except ValueError as exc:
        detail = _format_errors(exc) if hasattr(exc, "errors") else str(exc)
        raise ConfigError(
            f"--set {', '.join(rule_changes)}: the changed rule set is invalid: {detail}"
        ) from None
    new_policy = parse_policy(pbody, "(changed by --set)") if pbody is not None else None
    return new_rules, new_policy

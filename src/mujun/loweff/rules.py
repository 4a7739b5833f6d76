"""Low-efficiency rule sets (低效企业认定): thresholds on the indicators of a run's results.

A rule set lists named rules; a rule hits a firm when every one of its conditions holds
(``all``), and a firm is listed when any rule hits (``match: any``) or every rule hits
(``match: all``). A condition compares one indicator of the run with a threshold (``below``,
``at_most``, ``above``, ``at_least``) or asks for a class (``class_in``). Indicators are the
indicator codes of the run's rule set (``tax_mu``, ``va_mu``, ``va_energy`` …) and the built-in
ones in :data:`BUILTIN_INDICATORS`. Unknown keys are rejected, naming the file and the key path.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mujun.errors import ConfigError

# Indicators every run offers besides its rule set's indicator codes: name, unit, and how each
# is read from ``results`` (r) and the run's indicator values (one column per code).
BUILTIN_INDICATORS: dict[str, tuple[str, str]] = {
    "land_mu": ("计亩面积", "亩"),
    "total": ("综合得分", "分"),
    "percentile": ("队列百分位（1 最好，0 最差）", ""),
    "energy_intensity": ("单位增加值能耗（综合能耗 ÷ 增加值）", "吨标煤/万元"),
    "emission_intensity": ("单位增加值排放（主要污染物排放量 ÷ 增加值）", "吨/万元"),
}
CODE_PATTERN = r"^[a-z][a-z0-9_]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Condition(_Model):
    """One test on a firm: an indicator against a threshold, or its class."""

    indicator: str | None = Field(
        None,
        pattern=CODE_PATTERN,
        description="indicator code of the run (tax_mu, va_mu, va_energy, va_emissions, labour, "
        "rd_ratio, tax_electricity …) or a built-in: land_mu, total, percentile, "
        "energy_intensity, emission_intensity",
    )
    below: float | None = Field(None, description="holds when the value is < this")
    at_most: float | None = Field(None, description="holds when the value is ≤ this")
    above: float | None = Field(None, description="holds when the value is > this")
    at_least: float | None = Field(None, description="holds when the value is ≥ this")
    class_in: list[str] | None = Field(
        None, min_length=1, description="or: holds when the firm's class is one of these"
    )
    missing: Literal["no-hit", "hit"] = Field(
        "no-hit",
        description="a firm without a value for the indicator: the condition fails (no-hit) "
        "or holds (hit)",
    )

    @model_validator(mode="after")
    def _check(self) -> Condition:
        bounds = [
            k for k in ("below", "at_most", "above", "at_least") if getattr(self, k) is not None
        ]
        if self.class_in is not None:
            if self.indicator is not None or bounds:
                raise ValueError("`class_in` stands alone: no `indicator` or bound with it")
        elif self.indicator is None:
            raise ValueError("give `indicator` with one bound, or `class_in`")
        elif len(bounds) != 1:
            raise ValueError("give exactly one of `below`, `at_most`, `above`, `at_least`")
        return self

    def describe(self) -> str:
        """The condition in words, e.g. ``tax_mu < 6``."""
        if self.class_in is not None:
            return "class ∈ {" + ", ".join(self.class_in) + "}"
        ops = {"below": "<", "at_most": "≤", "above": ">", "at_least": "≥"}
        for key, op in ops.items():
            value = getattr(self, key)
            if value is not None:
                return f"{self.indicator} {op} {value:g}"
        raise AssertionError("unreachable")


class LowEffRule(_Model):
    """A named rule: hits when all its conditions hold for a firm of one of its sizes."""

    code: str = Field(pattern=CODE_PATTERN, description="code stored with each hit")
    name: str = Field(description="label shown with the firm, in Chinese")
    name_en: str | None = Field(None, description="label in English")
    sizes: list[Literal["above", "below"]] = Field(
        default_factory=lambda: ["above", "below"], description="size classes it applies to"
    )
    all: list[Condition] = Field(min_length=1, description="conditions that must all hold")


class LowEffRuleSet(_Model):
    """A published (or our reading of a published) low-efficiency rule set."""

    version: str = Field(description="version label of this rule set")
    name: str = Field(description="title, in Chinese")
    region: str = Field(
        pattern=r"^\d{6}$",
        description="division code the rules apply to (330000 = the province); firms outside "
        "it are not screened",
    )
    source: str = Field(description="the published document(s) the rules come from")
    reading: str | None = Field(
        None, description="which parts are our reading where the document is not at hand"
    )
    statuses: list[Literal["evaluated", "provisional", "not-evaluated"]] = Field(
        default_factory=lambda: ["evaluated"],
        description="evaluation statuses screened (default: firms that were evaluated)",
    )
    match: Literal["any", "all"] = Field(
        "any", description="a firm is listed when any rule hits, or only when every rule hits"
    )
    rules: list[LowEffRule] = Field(min_length=1, description="the rules")

    @model_validator(mode="after")
    def _unique(self) -> LowEffRuleSet:
        codes = [r.code for r in self.rules]
        if len(set(codes)) != len(codes):
            raise ValueError("rules: rule codes must be unique")
        return self

    def indicators(self) -> list[str]:
        """Indicator codes the conditions read, in first-use order."""
        out: list[str] = []
        for rule in self.rules:
            for cond in rule.all:
                if cond.indicator and cond.indicator not in out:
                    out.append(cond.indicator)
        return out


def loweff_rules_hash(rules: LowEffRuleSet) -> str:
    """SHA-256 of the rule set's canonical JSON (lists carry it)."""
    text = json.dumps(rules.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _format_errors(exc: ValidationError) -> str:
    msgs = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msgs.append(f"{loc}: {err['msg']}")
    return "; ".join(msgs)


def parse_loweff_rules(data: Any, origin: str) -> LowEffRuleSet:
    """Validate a rule set given as data; errors name ``origin`` and the key path."""
    try:
        return LowEffRuleSet.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"invalid low-efficiency rule set {origin}: {_format_errors(exc)}",
            "see docs/loweff.md for every key",
        ) from exc


def load_loweff_rules(path: Path) -> LowEffRuleSet:
    """Read and validate a low-efficiency rule-set YAML; errors name the file and key path."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read low-efficiency rule set {path}: {exc}") from exc
    return parse_loweff_rules(data, str(path))


def preset_paths(rules_dir: Path) -> list[Path]:
    """The presets shipped in ``rules/low-efficiency``."""
    return sorted((Path(rules_dir) / "low-efficiency").glob("*.yaml"))

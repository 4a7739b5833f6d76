"""Evaluation rule sets: a county's published rules as a versioned YAML validated by pydantic.

A rule set says who is evaluated (scope, exemptions), how each firm's land is counted, which
cohorts firms are compared in, how each size class is scored (a :class:`CompositeSpec` run by the
general engine), which bonus and penalty points apply, how classes are banded, and which caps,
floors and thresholds limit a class. Unknown keys are rejected, naming the file and the key path.
``docs/rules.md`` is generated from these models (``mujun rules-doc``) and checked by a test.
"""

from __future__ import annotations

import hashlib
import json
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mujun.composite.spec import CompositeSpec
from mujun.errors import ConfigError

# Inputs the evaluation offers to a size class's composite spec, per firm (canonical units).
INPUT_COLUMNS: dict[str, str] = {
    "tax": "实缴税金 tax paid (万元)",
    "va": "工业增加值 value added (万元)",
    "revenue": "主营业务收入 revenue (万元)",
    "staff": "年平均从业人员 average employees (人)",
    "energy": "综合能耗 energy use (吨标煤)",
    "emissions": "主要污染物排放量 COD + 氨氮 + SO₂ + NOx (吨)",
    "rd": "R&D经费支出 R&D spending (万元)",
    "electricity": "用电量 electricity (万千瓦时)",
    "water": "用水量 water (立方米)",
    "land_mu": "计亩面积 land counted for the firm (亩), after the land rules",
}
EventName = Literal[
    "high-tech",
    "rd-centre",
    "safety-accident",
    "env-penalty",
    "env-accident",
    "energy-task-unmet",
    "exemption-approved",
]
EVENTS: tuple[str, ...] = typing.get_args(EventName)
Size = Literal["above", "below"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClassDef(_Model):
    """One class in order from best to worst: code, Chinese and English names, band share."""

    code: str = Field(min_length=1, description="class code as published, e.g. A, B, C, C-, D")
    name: str = Field(description="Chinese name, e.g. 优先发展")
    name_en: str = Field(description="English name, e.g. priority development")


class Scope(_Model):
    """Who is evaluated."""

    above_size: bool = Field(True, description="evaluate above-designated-size firms (规上)")
    below_size: bool = Field(True, description="evaluate below-size firms (规下)")
    below_size_min_mu: float = Field(
        3.0, ge=0, description="below-size firms need at least this much land (亩) to be classed"
    )


class Exemption(_Model):
    """A rule that takes firms out of the ranking, as not evaluated (不评) or provisional (暂评)."""

    kind: Literal["industry", "age", "new-land", "event"] = Field(
        description="industry: by GB/T 4754 prefix; age: established within `years`; "
        "new-land: land supplied within `years`; event: an event list entry"
    )
    prefixes: list[str] = Field(
        default_factory=list, description="industry code prefixes (kind industry)"
    )
    years: int | None = Field(None, ge=0, description="age or new-land window in years")
    event: EventName | None = Field(None, description="event name (kind event)")
    outcome: Literal["not-evaluated", "provisional"] = Field(
        description="not-evaluated: 不评; provisional: scored but not classed (暂评)"
    )
    reason: str = Field(description="reason shown with the firm, in Chinese")

    @model_validator(mode="after")
    def _check(self) -> Exemption:
        if self.kind == "industry" and not self.prefixes:
            raise ValueError("an industry exemption needs `prefixes`")
        if self.kind in ("age", "new-land") and self.years is None:
            raise ValueError(f"a {self.kind} exemption needs `years`")
        if self.kind == "event" and self.event is None:
            raise ValueError("an event exemption needs `event`")
        return self


class LeasingPenalty(_Model):
    """Points taken from lessors that lease out plant (Wenling 2021)."""

    above_size_per_extra_tenant: float = Field(
        0, ge=0, description="points per tenant beyond the first, for an above-size lessor"
    )
    below_size_first_tenant: float = Field(
        0, ge=0, description="points for a below-size lessor's first tenant"
    )
    below_size_per_extra_tenant: float = Field(
        0, ge=0, description="points per further tenant of a below-size lessor"
    )


class LandRules(_Model):
    """How each firm's mu is determined from the land file."""

    leased: Literal["parcel-share", "floor-space"] = Field(
        "parcel-share",
        description="parcel-share: the leased row's land area; floor-space: leased floor space "
        "(m²) ÷ plot_ratio converted to 亩",
    )
    plot_ratio: float = Field(
        1.0, gt=0, description="plot ratio (容积率) for floor-space conversion"
    )
    shared_parcel_tenants: Literal["score-alone", "merge-into-owner"] = Field(
        "score-alone",
        description="tenants on a firm's parcel are scored on their own share, or merged into the "
        "owner's evaluation and given the owner's result",
    )
    below_size_tenant_takes_landlord_class: bool = Field(
        False, description="a below-size tenant of a classed firm takes its landlord's class"
    )
    leasing_penalty: LeasingPenalty = Field(
        default_factory=LeasingPenalty, description="points taken from lessors"
    )


class IndustryGroup(_Model):
    """A named industry group for cohorts, by GB/T 4754 code prefixes."""

    name: str = Field(description="group name, in Chinese")
    prefixes: list[str] = Field(min_length=1, description="GB/T 4754 code prefixes, e.g. C34")


class Cohorts(_Model):
    """Firms are ranked and benchmarked within cohorts."""

    region: Literal["county", "city", "province"] = Field(
        "county", description="regional level of a cohort"
    )
    by_size: bool = Field(True, description="separate cohorts for above- and below-size firms")
    industry_groups: list[IndustryGroup] = Field(
        default_factory=list,
        description="optional industry groups (Wenling's five); firms outside every group form "
        "the group `other_group`",
    )
    other_group: str = Field("其他", description="name of the group for firms outside every group")


class SizeRules(_Model):
    """Scoring and banding of one size class."""

    composite: CompositeSpec = Field(description="the scoring pipeline (see docs/composite.md)")
    bands: list[float] = Field(
        min_length=1, description="share of each class, best first; must sum to 1"
    )
    ties: Literal["share", "break"] = Field(
        "share",
        description="share: equal totals share a class (a tie across a boundary takes the better "
        "class); break: equal totals are ordered by `tie_break` indicators, then credit code",
    )
    tie_break: list[str] = Field(
        default_factory=list,
        description="indicator codes (higher is better) that order firms with equal totals",
    )

    @field_validator("bands")
    @classmethod
    def _sum_to_one(cls, v: list[float]) -> list[float]:
        if abs(sum(v) - 1.0) > 1e-9 or any(x < 0 for x in v):
            raise ValueError(f"band shares must be non-negative and sum to 1, got {sum(v):g}")
        return v


class Adjustment(_Model):
    """Bonus (+) or penalty (−) points added to the total, from an event list entry or from an
    indicator's value (e.g. R&D intensity of at least 3 % earns 2 points)."""

    name: str = Field(description="label shown in reasons, e.g. 高新技术企业加分")
    event: EventName | None = Field(None, description="the event list entry that earns the points")
    indicator: str | None = Field(
        None, description="or: an indicator code of the size class's composite spec"
    )
    at_least: float | None = Field(None, description="with indicator: applies when value ≥ this")
    below: float | None = Field(None, description="with indicator: applies when value < this")
    points: float = Field(description="points added (negative for a penalty)")
    sizes: list[Size] = Field(
        default_factory=lambda: ["above", "below"], description="size classes it applies to"
    )

    @model_validator(mode="after")
    def _check(self) -> Adjustment:
        if (self.event is None) == (self.indicator is None):
            raise ValueError("give exactly one of `event` and `indicator`")
        if self.indicator is not None and (self.at_least is None) == (self.below is None):
            raise ValueError("an indicator adjustment needs exactly one of `at_least` and `below`")
        return self


class Limit(_Model):
    """A cap (best class allowed) or floor (worst class allowed) on a firm's class."""

    name: str = Field(description="label shown in reasons")
    when: Literal["event", "new-firm", "new-land"] = Field(
        description="event: the firm is on an event list; new-firm: established within `years`; "
        "new-land: land supplied within `years`"
    )
    event: EventName | None = Field(None, description="event name (when: event)")
    years: int | None = Field(None, ge=0, description="window in years (new-firm, new-land)")
    cap: str | None = Field(None, description="best class code allowed (e.g. C)")
    floor: str | None = Field(None, description="worst class code allowed (e.g. C)")
    veto: bool = Field(
        False,
        description="a vetoing cap also overrides every floor (accidents, unmet energy tasks)",
    )

    @model_validator(mode="after")
    def _check(self) -> Limit:
        if (self.cap is None) == (self.floor is None):
            raise ValueError("give exactly one of `cap` and `floor`")
        if self.when == "event" and self.event is None:
            raise ValueError("an event limit needs `event`")
        if self.when in ("new-firm", "new-land") and self.years is None:
            raise ValueError(f"a {self.when} limit needs `years`")
        return self


class Threshold(_Model):
    """An absolute threshold: an indicator below a value caps the class (Wenzhou: tax/mu < 1)."""

    name: str = Field(description="label shown in reasons")
    indicator: str = Field(description="indicator code of the size class's composite spec")
    below: float = Field(description="the indicator value under which the cap applies")
    cap: str = Field(description="best class code allowed when below")
    sizes: list[Size] = Field(
        default_factory=lambda: ["above", "below"], description="size classes it applies to"
    )


class Flag(_Model):
    """A label computed for monitoring, not a class (Huzhou's 三低)."""

    name: str = Field(description="label, in Chinese")
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="code stored in results.flags")
    above_tax_per_mu_below: float | None = Field(None, description="above-size tax/mu under this")
    below_tax_per_mu_below: float | None = Field(None, description="below-size tax/mu under this")
    below_size_land_at_least: float | None = Field(
        None, description="below-size firms with at least this much land (亩)"
    )


class RuleSet(_Model):
    """A published evaluation rule set."""

    version: str = Field(description="version label of this rule set")
    name: str = Field(description="title, in Chinese")
    region: str = Field(description="division code the rules were published for (330000 = all)")
    source: str = Field(description="the published document(s) the rules come from")
    data_year: int | None = Field(None, description="data year the rules were written for")
    score_previous_year: bool = Field(
        False, description="the evaluation year scores the previous calendar year's data (Yueqing)"
    )
    precision: int = Field(2, ge=0, le=8, description="decimals of item scores and totals")
    classes: list[ClassDef] = Field(min_length=2, description="classes from best to worst")
    scope: Scope = Field(default_factory=Scope, description="who is evaluated")
    exemptions: list[Exemption] = Field(
        default_factory=list, description="exemptions, applied in order; the first wins"
    )
    land: LandRules = Field(default_factory=LandRules, description="how land is counted")
    cohorts: Cohorts = Field(default_factory=Cohorts, description="who is compared with whom")
    above: SizeRules = Field(description="rules for above-size firms (规上)")
    below: SizeRules | None = Field(None, description="rules for below-size firms (规下)")
    adjustments: list[Adjustment] = Field(
        default_factory=list, description="bonus and penalty points"
    )
    limits: list[Limit] = Field(default_factory=list, description="caps and floors on the class")
    thresholds: list[Threshold] = Field(
        default_factory=list, description="absolute thresholds that cap the class"
    )
    flags: list[Flag] = Field(default_factory=list, description="monitoring labels (三低)")

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int | float) else v

    @model_validator(mode="after")
    def _check(self) -> RuleSet:
        codes = [c.code for c in self.classes]
        problems = []
        if len(set(codes)) != len(codes):
            problems.append("classes: class codes must be unique")
        for size, rules in (("above", self.above), ("below", self.below)):
            if rules is not None and len(rules.bands) != len(codes):
                problems.append(f"{size}.bands: {len(rules.bands)} shares for {len(codes)} classes")
        for i, lim in enumerate(self.limits):
            for key in ("cap", "floor"):
                v = getattr(lim, key)
                if v is not None and v not in codes:
                    problems.append(f"limits.{i}.{key}: unknown class {v!r}")
        for i, th in enumerate(self.thresholds):
            if th.cap not in codes:
                problems.append(f"thresholds.{i}.cap: unknown class {th.cap!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def class_index(self, code: str) -> int:
        """Position of a class code (0 = best)."""
        return [c.code for c in self.classes].index(code)

    def size_rules(self, size: str) -> SizeRules | None:
        """Rules of a size class ("above" or "below")."""
        return self.above if size == "above" else self.below


def rules_hash(rules: RuleSet) -> str:
    """SHA-256 of the rule set's canonical JSON: results carry it to say which rules made them."""
    text = json.dumps(rules.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _format_errors(exc: ValidationError) -> str:
    msgs = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msgs.append(f"{loc}: {err['msg']}")
    return "; ".join(msgs)


def load_rules(path: Path) -> RuleSet:
    """Read and validate a rule-set YAML; errors name the file and the key path."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read rule set {path}: {exc}") from exc
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"invalid rule set {path}: {_format_errors(exc)}", "see docs/rules.md for every key"
        ) from exc


def load_rules_map(path: Path) -> dict[str, RuleSet]:
    """A province-year mapping file ``{county code or 'default': rule file}`` → rule sets."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read rules map {path}: {exc}") from exc
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"rules map {path} must map county codes (or `default`) to rule files")
    base = Path(path).parent
    out = {}
    for key, file in data.items():
        key = str(key)
        if key != "default" and not (len(key) == 6 and key.isdigit()):
            raise ConfigError(f"rules map {path}: key {key!r} is not a division code or `default`")
        out[key] = load_rules(base / str(file))
    return out

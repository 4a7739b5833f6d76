"""Composite-indicator rule sets: pydantic models of the YAML spec, and its loader.

The spec is data (design principle 1): indicators, the aggregation tree and an ordered list of
steps. :mod:`mujun.composite.engine` executes it. Every model forbids unknown keys; a bad file
raises :class:`mujun.errors.ConfigError` naming the file and the key path (``steps.2.method: …``).
Every key is documented in ``docs/composite.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mujun.composite.checks import check_steps, check_tree
from mujun.errors import ConfigError

__all__ = [
    "AggregateSpec",
    "AggregateStep",
    "Benchmark",
    "CompositeSpec",
    "DataSpec",
    "DenominateStep",
    "ImputeStep",
    "IndicatorSpec",
    "MetaSource",
    "NormaliseStep",
    "ScreenStep",
    "Step",
    "TreatStep",
    "load_spec",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ----------------------------------------------------------------------------- framework


class IndicatorSpec(_Model):
    """One indicator: where its value comes from, its direction, weight and parent."""

    code: str = Field(min_length=1)
    name: str = ""
    numerator: str | None = None  # input column; defaults to `code`
    denominator: str | None = None
    scale: float = 1.0
    direction: Literal[1, -1] = 1
    weight: float = Field(default=1.0, ge=0)
    parent: str
    unit: str = ""
    target: float | None = None

    @property
    def numerator_column(self) -> str:
        """The input column holding the numerator (the code itself unless given)."""
        return self.numerator or self.code


class AggregateSpec(_Model):
    """One aggregate (pillar, sub-index, index): how its children combine into its score."""

    code: str = Field(min_length=1)
    name: str = ""
    parent: str | None = None
    weight: float = Field(default=1.0, ge=0)
    method: Literal["arithmetic", "geometric", "harmonic", "sum"] = "arithmetic"
    missing: Literal["drop", "zero"] = "drop"


class MetaSource(_Model):
    """Read indicators and aggregates from a COINr-style ``iMeta.csv`` in the data directory."""

    file: str = "iMeta.csv"
    aggregate_method: Literal["arithmetic", "geometric", "harmonic", "sum"] = "arithmetic"
    aggregate_missing: Literal["drop", "zero"] = "drop"


class DataSpec(_Model):
    """How the CLI reads the unit × indicator table from a data directory."""

    file: str = "iData.csv"
    unit_column: str = "uCode"
    # Columns to read as text even if they look numeric (codes with leading zeros).
    group_columns: list[str] = Field(default_factory=list)
    # Ranks (and cohort statistics) are computed within groups of these columns.
    cohort_columns: list[str] = Field(default_factory=list)


# ----------------------------------------------------------------------------- steps


class DenominateStep(_Model):
    """value = numerator × scale ÷ denominator; a missing or zero denominator gives missing."""

    op: Literal["denominate"]
    indicators: list[str] | None = None


class ImputeStep(_Model):
    """Fill missing values by group mean/median, or missing item scores by the cohort average."""

    op: Literal["impute"]
    method: Literal["none", "group-mean", "group-median", "cohort-average-item-score"]
    # Group columns; omitted (null) means the run's cohort, [] means all units together.
    by: list[str] | None = None
    indicators: list[str] | None = None


class ScreenStep(_Model):
    """Keep units whose share of non-missing indicator values is at least `min_availability`."""

    op: Literal["screen"]
    min_availability: float = Field(ge=0, le=1)
    indicators: list[str] | None = None


class TreatStep(_Model):
    """Outlier treatment: winsorise while |skew| ≥ skew and kurtosis ≥ kurt, else log."""

    op: Literal["treat-outliers"]
    skew: float = Field(default=2.0, gt=0)
    kurt: float = Field(default=3.5)
    winmax: int = Field(default=5, ge=0)
    indicators: list[str] | None = None


class AggregateStep(_Model):
    """Aggregate level by level through the tree; the root aggregate is the total."""

    op: Literal["aggregate"]


# --- benchmarks for ratio-to-benchmark


class FixedBenchmark(_Model):
    """A published benchmark: `values` per indicator (default form) or one `value` (override)."""

    strategy: Literal["fixed"]
    value: float | None = None
    values: dict[str, float] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> FixedBenchmark:
        if (self.value is None) == (self.values is None):
            raise ValueError("give exactly one of `value` or `values`")
        return self


class CohortBenchmark(_Model):
    """Mean, median or Σnumerator ÷ Σdenominator of the indicator within the run's cohort."""

    strategy: Literal["cohort-mean", "cohort-median", "cohort-ratio-of-totals"]


class PreviousYearBenchmark(_Model):
    """`factor` × a previous-year cohort value passed in by the caller."""

    strategy: Literal["previous-year"]
    factor: float = 1.0


class IndustryBenchmark(_Model):
    """Mean within an industry group column (within the cohort too, unless switched off)."""

    strategy: Literal["industry-mean"]
    by: str
    within_cohort: bool = True


Benchmark = Annotated[
    FixedBenchmark | CohortBenchmark | PreviousYearBenchmark | IndustryBenchmark,
    Field(discriminator="strategy"),
]


# --- normalisation methods


class _NormaliseBase(_Model):
    op: Literal["normalise"]
    indicators: list[str] | None = None
    # Statistics (min, max, mean, sd, ranks) are computed within the run's cohort when one is given.
    within_cohort: bool = True
    # item score = normalised × weight × points: the item then carries its weight (e.g. Huangyan).
    scale_by_weight: bool = False
    points: float = 1.0


class MinMaxNormalise(_NormaliseBase):
    """low + (high − low)·(y − min)/(max − min), y = value × direction."""

    method: Literal["minmax"]
    low: float = 0.0
    high: float = 100.0


class ZScoreNormalise(_NormaliseBase):
    """mean + sd·(y − mean(y))/sd(y) with the sample sd."""

    method: Literal["zscore"]
    mean: float = 0.0
    sd: float = Field(default=1.0, gt=0)


class RankNormalise(_NormaliseBase):
    """Ascending rank of y (ties take the lowest rank); the best unit gets the highest number."""

    method: Literal["rank"]


class PercentileRankNormalise(_NormaliseBase):
    """scale·(rank − 1)/(n − 1), ranks ascending with ties at the lowest rank."""

    method: Literal["percentile-rank"]
    scale: float = 100.0


class DistanceToTargetNormalise(_NormaliseBase):
    """scale·(y − min y)/(target·direction − min y), optionally capped at 1 before scaling."""

    method: Literal["distance-to-target"]
    cap_max: bool = False
    scale: float = 100.0


class Goalpost(_Model):
    """Explicit goalposts of one indicator, in the units of its (treated) value."""

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Goalpost:
        if not self.max > self.min:
            raise ValueError("goalpost `max` must be greater than `min`")
        return self


class GoalpostsNormalise(_NormaliseBase):
    """scale·(x − min)/(max − min) (reversed for direction −1), clipped to [0, 1] first."""

    method: Literal["goalposts"]
    posts: dict[str, Goalpost]
    clip: bool = True
    scale: float = 100.0


class RatioToBenchmarkNormalise(_NormaliseBase):
    """clamp(x ÷ benchmark, floor, cap); b ÷ x for direction −1; per-mu scoring."""

    method: Literal["ratio-to-benchmark"]
    benchmark: Benchmark | None = None
    benchmarks: dict[str, Benchmark] = Field(default_factory=dict)
    floor: float | None = None
    cap: float | None = None
    negative: Literal["zero", "keep"] = "keep"
    missing: Literal["zero", "keep"] = "keep"

    @model_validator(mode="after")
    def _bounds(self) -> RatioToBenchmarkNormalise:
        if self.floor is not None and self.cap is not None and self.floor > self.cap:
            raise ValueError("`floor` must not exceed `cap`")
        return self


NormaliseStep = Annotated[
    MinMaxNormalise
    | ZScoreNormalise
    | RankNormalise
    | PercentileRankNormalise
    | DistanceToTargetNormalise
    | GoalpostsNormalise
    | RatioToBenchmarkNormalise,
    Field(discriminator="method"),
]

Step = Annotated[
    DenominateStep | ImputeStep | ScreenStep | TreatStep | NormaliseStep | AggregateStep,
    Field(discriminator="op"),
]

_OP_TAGS = frozenset({"denominate", "impute", "screen", "treat-outliers", "normalise", "aggregate"})
_METHOD_TAGS = frozenset(
    {
        "minmax",
        "zscore",
        "rank",
        "percentile-rank",
        "distance-to-target",
        "goalposts",
        "ratio-to-benchmark",
    }
)
_STRATEGY_TAGS = frozenset(
    {
        "fixed",
        "cohort-mean",
        "cohort-median",
        "cohort-ratio-of-totals",
        "previous-year",
        "industry-mean",
    }
)


# ----------------------------------------------------------------------------- the rule set


class CompositeSpec(_Model):
    """A composite-indicator rule set: framework tree, ordered steps and output precision."""

    version: str
    name: str
    source: str = ""
    data: DataSpec = Field(default_factory=DataSpec)
    indicators_from: MetaSource | None = None
    indicators: list[IndicatorSpec] = Field(default_factory=list)
    aggregates: list[AggregateSpec] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)
    # Decimals of item scores, aggregates and the total; applied before ranking.
    precision: int = Field(default=6, ge=0, le=12)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        # YAML reads `version: 2021` as an int; a version is a label.
        return str(value) if isinstance(value, int | float) else value

    @field_validator("indicators_from", mode="before")
    @classmethod
    def _meta_shorthand(cls, value: Any) -> Any:
        return {"file": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> CompositeSpec:
        problems: list[str] = []
        if not self.indicators:
            if self.indicators_from is None:
                problems.append(
                    "indicators: give `indicators` and `aggregates`, or `indicators_from`"
                )
        else:
            problems += [f"{p}: {m}" for p, m in check_tree(self)]
            problems += [f"{p}: {m}" for p, m in check_steps(self)]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def indicator_codes(self) -> list[str]:
        """Indicator codes in spec order (the column order of every n × k matrix)."""
        return [i.code for i in self.indicators]


# ----------------------------------------------------------------------------- loading


def _format_loc(loc: tuple[Any, ...]) -> list[str]:
    """Key path without the union tags pydantic inserts after a tagged value."""
    parts: list[str] = []
    for n, part in enumerate(loc):
        prev = loc[n - 1] if n else None
        tag = (
            (part in _OP_TAGS and isinstance(prev, int))
            or (part in _METHOD_TAGS and prev == "normalise")
            or (
                part in _STRATEGY_TAGS
                and (prev == "benchmark" or (n >= 2 and loc[n - 2] == "benchmarks"))
            )
        )
        if not tag:
            parts.append(str(part))
    return parts


def format_validation_error(exc: ValidationError) -> list[str]:
    """One ``key.path: message`` line per pydantic error."""
    lines = []
    for err in exc.errors():
        parts = _format_loc(tuple(err["loc"]))
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            parts.append(str(err.get("ctx", {}).get("discriminator", "")).strip("'"))
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{'.'.join(parts)}: {msg}" if parts else msg)
    return lines


def load_spec(path: Path, *, data_dir: Path | None = None) -> CompositeSpec:
    """Read and validate a rule-set YAML; ``indicators_from`` is read from ``data_dir``."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read rule set {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"invalid rule set {path}: the file must hold a mapping of keys")
    meta = data.get("indicators_from")
    if meta is not None and (data.get("indicators") or data.get("aggregates")):
        raise ConfigError(
            f"invalid rule set {path}: indicators_from: give either `indicators_from` or "
            "`indicators`/`aggregates`, not both"
        )
    try:
        spec = CompositeSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"invalid rule set {path}: " + "; ".join(format_validation_error(exc)),
            "see docs/composite.md for the rule-set keys",
        ) from exc
    if spec.indicators_from is not None:
        from mujun.composite.tables import read_meta  # late: tables imports this module

        meta_path = (
            Path(data_dir) if data_dir is not None else path.parent
        ) / spec.indicators_from.file
        indicators, aggregates = read_meta(meta_path, spec.indicators_from)
        data = {**data, "indicators": indicators, "aggregates": aggregates}
        try:
            spec = CompositeSpec.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(
                f"invalid rule set {path} with {meta_path}: "
                + "; ".join(format_validation_error(exc)),
                "check the Parent/Type/Direction columns of the meta file",
            ) from exc
    return spec

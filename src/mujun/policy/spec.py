"""Policy tables: the differentiated resource-factor policies a region applies by class.

A policy set is a versioned YAML file validated by pydantic (unknown keys are rejected, naming the
file and the key path), like a rule set. Each lever says which classes it applies to and at what
rate; per-county values (the urban land-use tax rate per m², the water price per m³) are looked up
by county code, then city code, then ``default``. Presets ship in ``rules/policies/``;
``docs/policies.md`` is generated from these models (``python -m mujun.policy.doc``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mujun.errors import ConfigError

# National ranges of the urban land-use tax (元/m² per year) by kind of locality
# (城镇土地使用税暂行条例, art. 4); a county's rate must lie within its tier's range.
LAND_TAX_TIERS: dict[str, tuple[float, float]] = {
    "large-city": (1.5, 30.0),
    "medium-city": (1.2, 24.0),
    "small-city": (0.9, 18.0),
    "county-town": (0.6, 12.0),
}
LandTaxTier = Literal["large-city", "medium-city", "small-city", "county-town"]

# Quantities a lever reads per firm, with their unit (see mujun.policy.engine.QUANTITIES).
BASES: dict[str, str] = {
    "own_land_m2": "平方米",
    "electricity_kwh": "千瓦时",
    "water_m3": "立方米",
    "energy_tce": "吨标煤",
    "emissions_t": "吨",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _as_list(v: Any) -> Any:
    """A single rate stands for the same rate in every consecutive year."""
    if isinstance(v, dict):
        return {str(k): (x if isinstance(x, list) else [x]) for k, x in v.items()}
    return v


def _check_region_keys(keys: list[str], what: str) -> None:
    bad = [k for k in keys if k != "default" and not (len(k) == 6 and k.isdigit())]
    if bad:
        raise ValueError(f"{what}: keys must be 6-digit division codes or `default`, got {bad}")


class LandTaxRate(_Model):
    """The urban land-use tax rate (元/m² per year) of a county, city or the default."""

    rate: float = Field(gt=0, description="元 per m² of land per year")
    tier: LandTaxTier | None = Field(
        None,
        description="kind of locality, whose national range the rate must lie in: large-city "
        "1.5–30, medium-city 1.2–24, small-city 0.9–18, county-town 0.6–12; without a tier the "
        "rate must lie in 0.6–30",
    )

    @model_validator(mode="after")
    def _in_range(self) -> LandTaxRate:
        low, high = LAND_TAX_TIERS[self.tier] if self.tier else (0.6, 30.0)
        if not low <= self.rate <= high:
            raise ValueError(
                f"rate {self.rate:g} 元/m² is outside the national range {low:g}–{high:g} "
                f"for {self.tier or 'any locality'}"
            )
        return self


class _Lever(_Model):
    code: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$", description="lever code stored in the ledger, unique"
    )
    name: str = Field(description="label shown in the ledger, in Chinese")
    basis: str = Field("", description="the published document the lever follows")


class LandUseTaxRelief(_Lever):
    """Relief of the urban land-use tax (城镇土地使用税) by class, to the holder of the land-use
    right only: the base is the firm's OWN land (a tenant pays no land-use tax, so it gets no
    relief). Amount = own m² × the county's rate × relief share ÷ 10,000 (万元), a saving."""

    kind: Literal["land-use-tax-relief"] = Field(description="lever kind")
    relief: dict[str, float] = Field(
        description="class code → share of the tax relieved (1 = 100 %), e.g. {A: 1, B: 0.8}"
    )
    rates: dict[str, LandTaxRate] = Field(
        description="county code, city code or `default` → the local rate (county first)"
    )

    @field_validator("relief")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: x for k, x in v.items() if not 0 <= x <= 1}
        if bad:
            raise ValueError(f"relief shares must lie in 0–1, got {bad}")
        return v

    @field_validator("rates")
    @classmethod
    def _keys(cls, v: dict[str, LandTaxRate]) -> dict[str, LandTaxRate]:
        _check_region_keys(list(v), "rates")
        return v


class ElectricitySurcharge(_Lever):
    """A surcharge on every kWh of the power file by class, escalating with the number of
    consecutive years in that class (Fenghua 2022: D 0.1, then 0.3, then 0.5 元/kWh). Amount =
    kWh × rate ÷ 10,000 (万元), paid by the firm."""

    kind: Literal["electricity-surcharge"] = Field(description="lever kind")
    rates: dict[str, list[float]] = Field(
        description="class code → 元/kWh in the 1st, 2nd, 3rd … consecutive year in that class "
        "(the last value repeats); a single number applies every year"
    )

    _lists = field_validator("rates", mode="before")(_as_list)

    @field_validator("rates")
    @classmethod
    def _non_negative(cls, v: dict[str, list[float]]) -> dict[str, list[float]]:
        if any(not r or any(x < 0 for x in r) for r in v.values()):
            raise ValueError("each class needs at least one rate, none negative")
        return v


class WaterSurcharge(_Lever):
    """A markup on the water price by class (Rui'an: C +15 % or +30 %), on the m³ of the water
    file. Amount = m³ × the county's price × markup ÷ 10,000 (万元), paid by the firm."""

    kind: Literal["water-surcharge"] = Field(description="lever kind")
    markup: dict[str, list[float]] = Field(
        description="class code → share added to the price (0.15 = +15 %), by consecutive year "
        "in that class like electricity rates; a single number applies every year"
    )
    prices: dict[str, float] = Field(
        description="county code, city code or `default` → water price (元/m³) the markup is on"
    )

    _lists = field_validator("markup", mode="before")(_as_list)

    @field_validator("prices")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        _check_region_keys(list(v), "prices")
        if any(x <= 0 for x in v.values()):
            raise ValueError("water prices must be positive")
        return v


class QuotaCut(_Lever):
    """A cut of the energy-use (吨标煤) or emission (吨 of COD + 氨氮 + SO₂ + NOx) quota by class,
    as a share of the firm's current use. Amount = current use × cut, in the quantity's unit."""

    kind: Literal["energy-quota-cut", "emission-quota-cut"] = Field(
        description="energy use (吨标煤) or emissions (吨)"
    )
    cuts: dict[str, list[float]] = Field(
        description="class code → share of current use cut (0.1 = 10 %), by consecutive year in "
        "that class; a single number applies every year"
    )

    _lists = field_validator("cuts", mode="before")(_as_list)

    @field_validator("cuts")
    @classmethod
    def _shares(cls, v: dict[str, list[float]]) -> dict[str, list[float]]:
        if any(not r or any(not 0 <= x <= 1 for x in r) for r in v.values()):
            raise ValueError("cuts must lie in 0–1")
        return v


class Measure(_Lever):
    """A measure without an amount (A: priority for new land and credit; D: excluded from
    direct power trading), recorded in the ledger for the classes it names."""

    kind: Literal["measure"] = Field(description="lever kind")
    texts: dict[str, str] = Field(description="class code → the measure, in Chinese")


def class_table(lever: Any) -> dict[str, Any]:
    """The lever's table keyed by class code (relief shares, rates, markups, cuts or texts)."""
    for key in ("relief", "markup", "cuts", "texts"):
        if hasattr(lever, key):
            return getattr(lever, key)
    return lever.rates


Lever = Annotated[
    LandUseTaxRelief | ElectricitySurcharge | WaterSurcharge | QuotaCut | Measure,
    Field(discriminator="kind"),
]


class PolicySet(_Model):
    """A published set of differentiated policies."""

    version: str = Field(description="version label of this policy set")
    name: str = Field(description="title, in Chinese")
    region: str = Field(description="division code the policies were published for")
    source: str = Field(description="the published document(s) the policies come from")
    levers: list[Lever] = Field(min_length=1, description="the levers, applied independently")

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int | float) else v

    @model_validator(mode="after")
    def _unique(self) -> PolicySet:
        codes = [lv.code for lv in self.levers]
        dup = sorted({c for c in codes if codes.count(c) > 1})
        if dup:
            raise ValueError(f"levers: codes must be unique, repeated {dup}")
        return self

    def lever(self, code: str) -> Any:
        """The lever with ``code`` (KeyError when there is none)."""
        for lv in self.levers:
            if lv.code == code:
                return lv
        raise KeyError(code)

    def class_codes(self) -> set[str]:
        """Every class code the levers name."""
        out: set[str] = set()
        for lv in self.levers:
            out |= set(class_table(lv))
        return out


def policy_hash(policy: PolicySet) -> str:
    """SHA-256 of the policy set's canonical JSON: ledger rows carry it."""
    text = json.dumps(policy.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _format_errors(exc: ValidationError) -> str:
    msgs = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msgs.append(f"{loc}: {err['msg']}")
    return "; ".join(msgs)


def parse_policy(data: Any, source: str = "(policy)") -> PolicySet:
    """Validate a policy set from parsed YAML/JSON; errors name ``source`` and the key path."""
    try:
        return PolicySet.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"invalid policy set {source}: {_format_errors(exc)}",
            "see docs/policies.md for every key",
        ) from exc


def load_policy(path: Path | str) -> PolicySet:
    """Read and validate a policy YAML; errors name the file and the key path."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read policy set {path}: {exc}") from exc
    return parse_policy(data, str(path))

"""Source profiles: how a department's file is recognised and mapped to canonical fields.

A profile is a YAML file in ``rules/sources/`` validated by the models below (unknown keys are
rejected, naming the file and key path). The spec is data; :mod:`mujun.ingest.reader` executes it.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mujun.errors import ConfigError
from mujun.ingest.units import UNITS, normalise_header, unit_dimension

FieldType = Literal[
    "uscc", "text", "number", "integer", "date", "bool", "division", "industry", "choice"
]
Severity = Literal["error", "warning", "info"]


class FieldSpec(BaseModel):
    """One canonical field: the headers it may appear under and how to read its cells."""

    model_config = ConfigDict(extra="forbid")

    aliases: list[str] = Field(min_length=1)
    type: FieldType
    unit: str | None = None
    default_unit: str | None = None
    required: bool = False
    severity: Severity = "warning"
    allow_negative: bool = False
    choices: dict[str, str] | None = None
    default: str | None = None

    @model_validator(mode="after")
    def _check_units(self) -> FieldSpec:
        if self.type in ("number", "integer") and self.unit is None:
            raise ValueError("numeric fields need a canonical `unit`")
        for u in (self.unit, self.default_unit):
            if u is not None and u not in UNITS:
                raise ValueError(f"unknown unit {u!r}; known: {', '.join(sorted(UNITS))}")
        if (
            self.unit
            and self.default_unit
            and unit_dimension(self.unit) != unit_dimension(self.default_unit)
        ):
            raise ValueError(f"default_unit {self.default_unit} does not measure {self.unit}")
        if self.type == "choice" and not self.choices:
            raise ValueError("choice fields need `choices`")
        return self


class MatchSpec(BaseModel):
    """How a file is recognised: words in its name and the fields its header must carry."""

    model_config = ConfigDict(extra="forbid")

    filename: list[str] = Field(default_factory=list)
    signature: list[str] = Field(min_length=1)


class SourceProfile(BaseModel):
    """A department's file layout for one kind of data."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    department: str
    title: str
    match: MatchSpec
    key: list[str] = Field(min_length=1)
    # conflict-error: rows for the same firm must agree; sum: rows (meters) add up per firm.
    duplicates: Literal["conflict-error", "sum"] = "conflict-error"
    # For `sum` profiles: the field telling accounts apart (water 用水户号) when it is not part of
    # the key; rows of one firm without it are separate accounts and add up.
    account: str | None = None
    # Which register firms must appear in this file: none, every firm, or above-size firms.
    must_report: Literal["none", "all", "above_size"] = "none"
    fields: dict[str, FieldSpec]

    @model_validator(mode="after")
    def _check_refs(self) -> SourceProfile:
        if "uscc" not in self.fields or self.fields["uscc"].type != "uscc":
            raise ValueError("every profile needs a `uscc` field of type uscc")
        for name in self.fields:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"field name {name!r} must be lower-case ASCII (a-z, 0-9, _)")
        for name in [*self.key, *self.match.signature, *([self.account] if self.account else [])]:
            if name not in self.fields:
                raise ValueError(f"`{name}` is used in key/signature but not defined in fields")
        return self

    @cached_property
    def alias_index(self) -> dict[str, str]:
        """Normalised header text → canonical field name."""
        index: dict[str, str] = {}
        for name, spec in self.fields.items():
            for alias in spec.aliases:
                index.setdefault(normalise_header(alias), name)
        return index

    @property
    def numeric_fields(self) -> list[str]:
        """Fields holding quantities (converted to canonical units)."""
        return [n for n, f in self.fields.items() if f.type in ("number", "integer")]


def load_profile(path: Path) -> SourceProfile:
    """Read and validate one profile YAML; a bad file raises ConfigError naming file and key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read source profile {path}: {exc}") from exc
    try:
        return SourceProfile.model_validate(data)
    except ValidationError as exc:
        msgs = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msgs.append(f"{loc}: {err['msg']}")
        raise ConfigError(
            f"invalid source profile {path}: " + "; ".join(msgs),
            "see docs/ingest.md for the profile keys",
        ) from exc


def load_profiles(directory: Path) -> dict[str, SourceProfile]:
    """Load every ``*.yaml`` profile in a directory, keyed by id (ids must be unique)."""
    if not directory.is_dir():
        raise ConfigError(f"source profile directory {directory} not found", "pass --profiles DIR")
    profiles: dict[str, SourceProfile] = {}
    numeric_owner: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        prof = load_profile(path)
        if prof.id in profiles:
            raise ConfigError(f"source profile id {prof.id!r} defined twice (in {path})")
        for name in prof.numeric_fields:
            if name in numeric_owner:
                raise ConfigError(
                    f"numeric field {name!r} in {path} is already defined by profile "
                    f"{numeric_owner[name]!r}",
                    "each quantity must come from one department",
                )
            numeric_owner[name] = prof.id
        profiles[prof.id] = prof
    if "register" not in profiles:
        raise ConfigError(f"no `register` profile in {directory}", "the register is required")
    return profiles

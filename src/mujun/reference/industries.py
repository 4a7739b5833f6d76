"""Industry classification GB/T 4754-2017 (with the 2019 amendment) and traditional industries.

``data/industries.csv`` holds all of section C (manufacturing: 31 divisions, 179 groups,
609 classes), all of section D (power, heat, gas and water, needed for utility exemptions)
and divisions N77-N78 (environmental treatment and sanitation, which cover waste
incineration). Codes keep the section letter: ``C``, ``C36``, ``C367``, ``C3670``. Where a
group has a single class, the standard prints both on one line (367 / 3670); the table
keeps both rows with the same name.

``data/traditional_industries.yaml`` is the editable list of the 17 traditional industries.
"""

from __future__ import annotations

import csv
import math
import numbers
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

__all__ = [
    "Industry",
    "TraditionalIndustry",
    "common_industry_classes",
    "industry_division",
    "industry_name",
    "is_known_industry",
    "is_utility_industry",
    "load_industries",
    "load_traditional_industries",
    "normalise_industry_code",
    "traditional_industry_of",
]

LEVELS = ("section", "division", "group", "class")
_CODE_RE = re.compile(r"([A-Z]?)(\d{2,4})")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
# Utilities that counties exempt on application: power, heat, gas, water and sewage (section
# D, which includes D4417 biomass power generation from waste) and sanitation N7820, which
# covers treatment and incineration of household waste.
_UTILITY_PREFIXES = ("D", "N7820")

# Common Zhejiang classes, at least two per manufacturing division; the demo generator draws
# firm industries from these.
# fmt: off
_COMMON_CLASSES = (
    "C1311", "C1331", "C1361", "C1411", "C1432", "C1514", "C1530", "C1610", "C1620",
    "C1711", "C1712", "C1713", "C1742", "C1751", "C1752", "C1761", "C1771", "C1781",
    "C1819", "C1829", "C1830", "C1910", "C1922", "C1952", "C2021", "C2034", "C2041",
    "C2110", "C2120", "C2130", "C2221", "C2223", "C2231", "C2311", "C2319", "C2411",
    "C2412", "C2442", "C2452", "C2511", "C2524", "C2614", "C2631", "C2641", "C2645",
    "C2651", "C2661", "C2710", "C2720", "C2740", "C2821", "C2822", "C2826", "C2913",
    "C2921", "C2922", "C2927", "C2929", "C3011", "C3021", "C3022", "C3032", "C3120",
    "C3130", "C3240", "C3251", "C3252", "C3311", "C3312", "C3322", "C3352", "C3360",
    "C3381", "C3391", "C3421", "C3441", "C3443", "C3451", "C3453", "C3465", "C3482",
    "C3484", "C3525", "C3551", "C3553", "C3572", "C3584", "C3660", "C3670", "C3731",
    "C3752", "C3761", "C3770", "C3811", "C3812", "C3813", "C3821", "C3823", "C3825",
    "C3831", "C3841", "C3854", "C3872", "C3921", "C3976", "C3981", "C3982", "C4011",
    "C4012", "C4016", "C4040", "C4119", "C4190", "C4210", "C4220", "C4320", "C4342",
)
# fmt: on


@dataclass(frozen=True)
class Industry:
    """One entry of GB/T 4754-2017: a section, division, group or class."""

    code: str
    name: str
    level: str
    parent: str | None


@dataclass(frozen=True)
class TraditionalIndustry:
    """One of the 17 traditional industries with the industry-code prefixes it covers."""

    name: str
    name_en: str
    prefixes: tuple[str, ...]
    batch: int
    confirmed: bool
    note: str | None = None


def _data_text(name: str) -> str:
    return resources.files("mujun.reference").joinpath("data", name).read_text(encoding="utf-8")


@cache
def _industries() -> tuple[Industry, ...]:
    rows = csv.DictReader(_data_text("industries.csv").splitlines())
    out = tuple(Industry(r["code"], r["name"], r["level"], r["parent"] or None) for r in rows)
    for industry in out:
        if industry.level not in LEVELS:
            raise ValueError(f"industries.csv: bad level {industry.level!r} for {industry.code}")
    return out


@cache
def _by_code() -> dict[str, Industry]:
    return {i.code: i for i in _industries()}


@cache
def _section_of_division() -> dict[str, str]:
    """Two-digit division number to its section letter, e.g. '36' -> 'C'."""
    return {i.code[1:]: i.code[0] for i in _industries() if i.level == "division"}


def load_industries() -> list[Industry]:
    """All industry entries in table order (sections, divisions, groups, classes)."""
    return list(_industries())


def normalise_industry_code(text: object) -> str | None:
    """Canonical code such as ``C3670`` for ``3670``, ``c3670``, ``' 3670 '`` or ``3670.0``.

    Returns None when the text is not a code present in the table at any level.
    """
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, numbers.Integral):
        raw = str(int(text))
    elif isinstance(text, numbers.Real):
        value = float(text)
        if not math.isfinite(value) or not value.is_integer():
            return None
        raw = str(int(value))
    else:
        raw = str(text)
    raw = unicodedata.normalize("NFKC", raw).translate(_INVISIBLE)
    raw = "".join(raw.split()).upper()
    raw = re.sub(r"(?<=\d)\.0+$", "", raw)
    if len(raw) == 1:
        found = _by_code().get(raw)
        return raw if found is not None and found.level == "section" else None
    match = _CODE_RE.fullmatch(raw)
    if match is None:
        return None
    letter, digits = match.groups()
    section = _section_of_division().get(digits[:2])
    if section is None or (letter and letter != section):
        return None
    code = section + digits
    return code if code in _by_code() else None


def is_known_industry(code: object) -> bool:
    """Whether ``code`` normalises to a code in the table."""
    return normalise_industry_code(code) is not None


def industry_name(code: object) -> str | None:
    """Chinese name of an industry code in any accepted spelling, else None."""
    canonical = normalise_industry_code(code)
    return None if canonical is None else _by_code()[canonical].name


def industry_division(code: object) -> str | None:
    """Division (two-digit level, e.g. ``C36``) of a division, group or class code."""
    canonical = normalise_industry_code(code)
    if canonical is None or len(canonical) < 3:
        return None
    return canonical[:3]


def is_utility_industry(code: object) -> bool:
    """Whether the code is a utility (power, heat, gas, water, sewage, waste treatment)."""
    canonical = normalise_industry_code(code)
    return canonical is not None and canonical.startswith(_UTILITY_PREFIXES)


def common_industry_classes() -> list[str]:
    """Class codes common in Zhejiang (at least two per manufacturing division)."""
    return list(_COMMON_CLASSES)


@cache
def _traditional() -> tuple[TraditionalIndustry, ...]:
    entries = yaml.safe_load(_data_text("traditional_industries.yaml")) or []
    out = []
    seen: dict[str, str] = {}
    for entry in entries:
        item = TraditionalIndustry(
            name=str(entry["name"]),
            name_en=str(entry["name_en"]),
            prefixes=tuple(str(p) for p in entry["prefixes"]),
            batch=int(entry["batch"]),
            confirmed=bool(entry["confirmed"]),
            note=entry.get("note"),
        )
        for prefix in item.prefixes:
            if normalise_industry_code(prefix) != prefix:
                raise ValueError(f"traditional_industries.yaml: unknown code {prefix!r}")
            if prefix in seen:
                raise ValueError(f"traditional_industries.yaml: {prefix} in {seen[prefix]}")
            seen[prefix] = item.name
        out.append(item)
    return tuple(out)


def load_traditional_industries() -> list[TraditionalIndustry]:
    """The traditional industries from ``traditional_industries.yaml``."""
    return list(_traditional())


def traditional_industry_of(code: object, *, confirmed_only: bool = False) -> str | None:
    """Name of the traditional industry covering ``code`` (longest prefix wins), else None."""
    canonical = normalise_industry_code(code)
    if canonical is None:
        return None
    best: tuple[int, str] | None = None
    for item in _traditional():
        if confirmed_only and not item.confirmed:
            continue
        for prefix in item.prefixes:
            if canonical.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), item.name)
    return None if best is None else best[1]

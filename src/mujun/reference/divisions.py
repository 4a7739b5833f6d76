"""Zhejiang administrative divisions (GB/T 2260) with validity periods.

The table in ``data/divisions.csv`` holds the province, its 11 cities (地级市) and every
county-level unit (区/县级市/县) in force since 2013, with ``valid_from``/``valid_to`` dates for
units created or abolished since then. An empty ``valid_from`` means "since before 2013"; an
empty ``valid_to`` means "still in force". Dates are those of the State Council approval or of
the official announcement (the Hangzhou 2021 reorganisation uses the day the new districts
started work, 2021-04-09).

Statistical datasets also use development-zone codes (开发区) with a ``7`` in the fifth digit,
such as 330371; they are not GB/T 2260 codes. ``data/dev_zones.csv`` names the ones we know and
any ``33xx7x`` code is recognised as a development zone.

A code is "current" in a year when its validity period overlaps that calendar year, so both
330103 下城区 and its successor 330105 拱墅区 are current in 2021, the year of the change.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

__all__ = [
    "DevZone",
    "Division",
    "cities",
    "city_of",
    "counties",
    "dev_zones",
    "division_name",
    "division_status",
    "division_status_many",
    "is_dev_zone_code",
    "load_divisions",
]

LEVELS = ("province", "city", "county")
COUNTY_KINDS = ("district", "county_city", "county")
STATUSES = ("current", "historic", "dev-zone", "unknown")

_DEV_ZONE_RE = re.compile(r"33\d{2}7\d")


@dataclass(frozen=True)
class Division:
    """One GB/T 2260 division with its validity period."""

    code: str
    name: str
    level: str
    parent: str | None
    kind: str | None
    valid_from: date | None
    valid_to: date | None

    def valid_on(self, day: date) -> bool:
        """Whether the division is in force on ``day``."""
        if self.valid_from is not None and day < self.valid_from:
            return False
        return self.valid_to is None or day <= self.valid_to

    def valid_in_year(self, year: int) -> bool:
        """Whether the validity period overlaps calendar ``year``."""
        if self.valid_from is not None and self.valid_from > date(year, 12, 31):
            return False
        return self.valid_to is None or self.valid_to >= date(year, 1, 1)


@dataclass(frozen=True)
class DevZone:
    """A development-zone code used by statistical datasets (not in GB/T 2260)."""

    code: str
    name: str
    parent: str


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("mujun.reference").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _date_or_none(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


@cache
def _divisions() -> tuple[Division, ...]:
    rows = _read_csv("divisions.csv")
    out = []
    for row in rows:
        division = Division(
            code=row["code"],
            name=row["name"],
            level=row["level"],
            parent=row["parent"] or None,
            kind=row["kind"] or None,
            valid_from=_date_or_none(row["valid_from"]),
            valid_to=_date_or_none(row["valid_to"]),
        )
        if division.level not in LEVELS:
            raise ValueError(f"divisions.csv: bad level {division.level!r} for {division.code}")
        if division.level == "county" and division.kind not in COUNTY_KINDS:
            raise ValueError(f"divisions.csv: bad kind {division.kind!r} for {division.code}")
        out.append(division)
    return tuple(out)


@cache
def _by_code() -> dict[str, Division]:
    return {d.code: d for d in _divisions()}


@cache
def _dev_zones() -> tuple[DevZone, ...]:
    return tuple(DevZone(r["code"], r["name"], r["parent"]) for r in _read_csv("dev_zones.csv"))


def load_divisions() -> list[Division]:
    """All divisions in the table, current and historic, ordered by code."""
    return list(_divisions())


def dev_zones() -> list[DevZone]:
    """The development-zone codes named in ``dev_zones.csv``."""
    return list(_dev_zones())


def counties(on: date | None = None) -> list[Division]:
    """County-level units in force on ``on`` (default: today)."""
    day = on or date.today()
    return [d for d in _divisions() if d.level == "county" and d.valid_on(day)]


def cities() -> list[Division]:
    """The 11 cities (地级市) of Zhejiang."""
    return [d for d in _divisions() if d.level == "city"]


def is_dev_zone_code(code: str) -> bool:
    """Whether ``code`` is a Zhejiang development-zone code (33xx7x)."""
    return isinstance(code, str) and _DEV_ZONE_RE.fullmatch(code) is not None


def division_status(code: str, year: int | None = None) -> str:
    """Status of ``code`` in ``year`` (default today): current, historic, dev-zone or unknown.

    "historic" means a real GB/T 2260 code that was not in force in that year (usually one
    abolished earlier, such as 330103 下城区 after 2021).
    """
    division = _by_code().get(code) if isinstance(code, str) else None
    if division is not None:
        in_force = division.valid_on(date.today()) if year is None else division.valid_in_year(year)
        return "current" if in_force else "historic"
    if is_dev_zone_code(code):
        return "dev-zone"
    return "unknown"


def division_status_many(codes: Sequence[str], year: int) -> list[str]:
    """Vectorised :func:`division_status` for one year, using a precomputed lookup."""
    lookup = _status_table(year)
    out = []
    for code in codes:
        status = lookup.get(code) if isinstance(code, str) else None
        if status is None:
            status = "dev-zone" if is_dev_zone_code(code) else "unknown"
        out.append(status)
    return out


@cache
def _status_table(year: int) -> dict[str, str]:
    return {d.code: "current" if d.valid_in_year(year) else "historic" for d in _divisions()}


def city_of(code: str) -> str | None:
    """Code of the city a county, city or development zone belongs to, else None."""
    division = _by_code().get(code) if isinstance(code, str) else None
    if division is not None:
        if division.level == "city":
            return division.code
        if division.level == "county":
            return division.parent
        return None
    if is_dev_zone_code(code):
        city = code[:4] + "00"
        found = _by_code().get(city)
        return city if found is not None and found.level == "city" else None
    return None


def division_name(code: str) -> str | None:
    """Chinese name of a division or a listed development zone, else None."""
    if not isinstance(code, str):
        return None
    division = _by_code().get(code)
    if division is not None:
        return division.name
    for zone in _dev_zones():
        if zone.code == code:
            return zone.name
    return None


def division_codes_by_name(year: int) -> dict[str, str]:
    """County-level names valid in ``year`` → code (names that are not unique are left out)."""
    seen: dict[str, list[str]] = {}
    for d in load_divisions():
        if d.level == "county" and d.valid_in_year(year):
            seen.setdefault(d.name, []).append(d.code)
    return {name: codes[0] for name, codes in seen.items() if len(codes) == 1}

"""Data scope: which runs and which firms' results an account may read.

A region scope is a division code and everything below it (province → city → county), matched
on the ``county_code``/``city_code`` columns that results carry. The decisions live here, in one
place, so the API and the pages built on it cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from mujun.auth.roles import PROVINCE_CODE, REGION_ROLES, Role
from mujun.auth.users import User
from mujun.reference.divisions import counties, division_name, load_divisions

# Run statuses an enterprise (and an analyst outside the run's own region) may see: published
# runs, final ones, and the history of runs a later publication superseded.
PUBLISHED_STATUSES = ("published", "final", "superseded")


@dataclass(frozen=True)
class DataScope:
    """What evaluation data an account may read: all, one region, one firm, or none."""

    kind: str  # all | region | enterprise | none
    region: str | None = None
    uscc: str | None = None


def data_scope(user: User) -> DataScope:
    """The evaluation data ``user`` may read."""
    if user.role == Role.PROVINCE_ADMIN:
        return DataScope("all", PROVINCE_CODE)
    if user.role in REGION_ROLES and user.scope:
        return DataScope("region", user.scope)
    if user.role == Role.ENTERPRISE and user.uscc:
        return DataScope("enterprise", uscc=user.uscc)
    return DataScope("none")


def region_level(code: str) -> str:
    """``province``, ``city`` or ``county`` for a 6-digit division code."""
    if code.endswith("0000"):
        return "province"
    return "city" if code.endswith("00") else "county"


def covers(outer: str, inner: str) -> bool:
    """Whether region ``outer`` contains region ``inner`` (a region contains itself)."""
    level = region_level(outer)
    if level == "province":
        return inner[:2] == outer[:2]
    if level == "city":
        return inner == outer or (region_level(inner) == "county" and inner[:4] == outer[:4])
    return inner == outer


def region_condition(code: str, alias: str = "") -> tuple[str, list]:
    """SQL condition (and parameters) selecting result rows in region ``code``."""
    a = f"{alias}." if alias else ""
    level = region_level(code)
    if level == "province":
        return "TRUE", []
    if level == "city":
        return f"{a}city_code = ?", [code]
    return f"{a}county_code = ?", [code]


def scope_condition(scope: DataScope, alias: str = "") -> tuple[str, list]:
    """SQL condition selecting the result rows ``scope`` may read (FALSE for none)."""
    a = f"{alias}." if alias else ""
    if scope.kind == "all":
        return "TRUE", []
    if scope.kind == "region" and scope.region:
        return region_condition(scope.region, alias)
    if scope.kind == "enterprise" and scope.uscc:
        return f"{a}uscc = ?", [scope.uscc]
    return "FALSE", []


def can_see_run(scope: DataScope, status: str, run_region: str | None, has_rows: bool) -> bool:
    """Whether a run is visible: a draft only to those whose region covers the run's region;
    a published run to anyone with result rows in it (an enterprise: its own row)."""
    if scope.kind == "all":
        return True
    if scope.kind == "none":
        return False
    if status in PUBLISHED_STATUSES:
        return has_rows
    if scope.kind == "enterprise":
        return False
    assert scope.region is not None
    return covers(scope.region, run_region or PROVINCE_CODE)


def region_tree(code: str, on: date | None = None) -> dict:
    """The division ``code`` with the divisions below it in force on ``on`` (default today)."""
    level = region_level(code)
    current = counties(on)
    by_code = {d.code: d for d in load_divisions()}

    def node(c: str, lvl: str) -> dict:
        return {"code": c, "name": division_name(c) or c, "level": lvl, "children": []}

    if level == "county":
        return node(code, "county")
    cities = (
        sorted(d.code for d in by_code.values() if d.level == "city")
        if level == "province"
        else [code]
    )
    city_nodes = []
    for city in cities:
        n = node(city, "city")
        n["children"] = [node(d.code, "county") for d in current if d.parent == city]
        city_nodes.append(n)
    if level == "city":
        return city_nodes[0]
    root = node(code, "province")
    root["children"] = city_nodes
    return root

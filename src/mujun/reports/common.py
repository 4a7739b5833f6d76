"""Shared pieces of the published outputs: runs, regions, rule sets, labels and workbook set-up.

Every report is read from an immutable run, so a report written twice from the same store is
byte-identical: the workbook's creation date is the run's, never the clock's.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import xlsxwriter

from mujun.errors import ConfigError, InputError
from mujun.reference import division_name
from mujun.store import Store

CATEGORIES = ("above", "below", "below-small", "tenant")
SIZE_ZH = {"above": "规上", "below": "规下"}
STATUS_ZH = {"evaluated": "参评", "provisional": "暂评", "not-evaluated": "不参评"}
TENURE_ZH = {"own": "自有", "leased": "租赁"}

# Departments as the shipped source profiles name them; used when rules/sources is not at hand
# (an installed package without the checkout), so a sheet never goes out without its sources.
DEFAULT_DEPARTMENTS = {
    "register": "市场监管",
    "tax": "税务",
    "stats": "统计",
    "power": "电力",
    "env": "生态环境",
    "land": "自然资源",
    "water": "水务",
    "events": "事件名单",
}

_REGION = re.compile(r"^\d{6}$")
_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\s]+')


@dataclass(frozen=True)
class RunInfo:
    """The run a report is read from."""

    run_id: str
    year: int
    status: str
    created_at: datetime


@dataclass(frozen=True)
class RuleInfo:
    """What a report needs from a stored rule set."""

    rules_hash: str
    name: str
    version: str
    source: str
    classes: tuple[tuple[str, str], ...]  # (code, Chinese name), best first
    below_min_mu: float
    indicators: dict[str, tuple[tuple[str, str, str], ...]]  # size → (code, name, unit)

    def class_order(self, code: str) -> int:
        """Position of a class (0 = best); unclassed firms sort after every class."""
        codes = [c for c, _ in self.classes]
        return codes.index(code) if code in codes else len(codes)

    def category_label(self, category: str) -> str:
        """The published title of a category's list, e.g. 规下企业（用地3亩及以上）."""
        mu = f"{self.below_min_mu:g}"
        return {
            "above": "规上企业",
            "below": f"规下企业（用地{mu}亩及以上）",
            "below-small": f"规下企业（用地{mu}亩以下）",
            "tenant": "租用厂房无自有用地企业",
        }[category]

    def category_indicators(self, category: str) -> list[tuple[str, str, str]]:
        """Indicators scored for a category's firms: tenants may be either size, so both."""
        sizes = {"above": ["above"], "tenant": ["above", "below"]}.get(category, ["below"])
        seen: dict[str, tuple[str, str, str]] = {}
        for size in sizes:
            for ind in self.indicators.get(size, ()):
                seen.setdefault(ind[0], ind)
        return list(seen.values())


def load_run(store: Store, run_id: str) -> RunInfo:
    """The run's year, status and creation time; InputError when the id is unknown."""
    rows = store.rows(
        "SELECT run_id, year, status, created_at FROM runs WHERE run_id = ? AND kind = 'evaluation'",
        [run_id],
    )
    if not rows:
        known = [
            r[0]
            for r in store.rows(
                "SELECT run_id FROM runs WHERE kind = 'evaluation' ORDER BY created_at DESC, "
                "run_id DESC LIMIT 5"
            )
        ]
        raise InputError(
            f"run {run_id} not found",
            f"recent runs: {', '.join(known)}" if known else "run `mujun evaluate` first",
        )
    rid, year, status, created = rows[0]
    return RunInfo(rid, int(year), status, created)


def region_counties(store: Store, run_id: str, region: str) -> list[str]:
    """County codes of the run inside a county, city (xxxx00) or province (330000) code."""
    code = (region or "").strip()
    if not _REGION.match(code):
        raise InputError(
            f"region {region!r} is not a 6-digit division code",
            "e.g. 331081 (温岭市), 331000 (台州市) or 330000 (浙江省)",
        )
    present = [
        r[0]
        for r in store.rows(
            "SELECT DISTINCT county_code FROM results WHERE run_id = ? AND county_code <> '' "
            "ORDER BY 1",
            [run_id],
        )
    ]
    # County codes never end in 00, so the suffix says which level the code names.
    if code.endswith("0000"):
        found = [c for c in present if c[:2] == code[:2]]
    elif code.endswith("00"):
        found = [c for c in present if c[:4] == code[:4]]
    else:
        found = [c for c in present if c == code]
    if not found:
        sample = ", ".join(f"{c} {division_name(c) or ''}".strip() for c in present[:5])
        raise InputError(
            f"run {run_id} has no firms in region {code} ({division_name(code) or 'unknown code'})",
            f"counties in this run include: {sample}" if sample else "the run has no firms",
        )
    return found


def county_label(code: str) -> str:
    """The county's name, or its code when the reference list does not know it."""
    return division_name(code) or code


def cohort_label(cohort: str | None) -> str:
    """A cohort id (``331081/above/金属``) as a reader says it: 温岭市 规上企业 金属."""
    parts = (cohort or "").split("/")
    words = [division_name(parts[0]) or parts[0]]
    for p in parts[1:]:
        words.append(f"{SIZE_ZH[p]}企业" if p in SIZE_ZH else p)
    return "评价队列：" + " ".join(w for w in words if w)


@functools.cache
def _rule_info(body_json: str, rules_hash: str) -> RuleInfo:
    body = json.loads(body_json)
    indicators = {}
    for size in ("above", "below"):
        rules = body.get(size)
        if rules:
            indicators[size] = tuple(
                (i["code"], i.get("name") or i["code"], i.get("unit") or "")
                for i in rules["composite"]["indicators"]
            )
    return RuleInfo(
        rules_hash=rules_hash,
        name=body.get("name", ""),
        version=str(body.get("version", "")),
        source=" ".join(str(body.get("source", "")).split()),
        classes=tuple((c["code"], c["name"]) for c in body["classes"]),
        below_min_mu=float(body.get("scope", {}).get("below_size_min_mu", 3.0)),
        indicators=indicators,
    )


def rules_of(store: Store, rules_hash: str) -> RuleInfo:
    """The stored rule set with that hash."""
    rows = store.rows("SELECT body FROM rule_sets WHERE rules_hash = ?", [rules_hash])
    if not rows:
        raise InputError(f"rule set {rules_hash[:12]} of this run is not in the store")
    return _rule_info(rows[0][0], rules_hash)


def county_rules(store: Store, run_id: str, county: str) -> RuleInfo:
    """The rule set a run applied to a county."""
    h = store.scalar(
        "SELECT rules_hash FROM run_rules WHERE run_id = ? AND county_code = ?", [run_id, county]
    )
    if h is None:
        # Older runs without the county map: every firm of the county carries the hash.
        h = store.scalar(
            "SELECT any_value(rules_hash) FROM results WHERE run_id = ? AND county_code = ?",
            [run_id, county],
        )
    return rules_of(store, h)


@functools.cache
def departments() -> dict[str, str]:
    """Source profile id → department name, from rules/sources (shipped names as fallback)."""
    from mujun.ingest import load_profiles
    from mujun.settings import Settings

    try:
        profiles = load_profiles(Settings().rules_dir / "sources")
    except ConfigError:
        return dict(DEFAULT_DEPARTMENTS)
    return {**DEFAULT_DEPARTMENTS, **{k: p.department for k, p in profiles.items()}}


def safe_filename(text: str, limit: int = 60) -> str:
    """A file-name part without path separators or characters Windows refuses."""
    return _UNSAFE_FILENAME.sub("_", text or "").strip("._")[:limit] or "_"


def new_workbook(path: Path, run: RunInfo, title: str) -> xlsxwriter.Workbook:
    """An XlsxWriter workbook whose metadata comes from the run, so rewrites are byte-identical."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # in_memory avoids one temporary file per sheet: a county batch writes thousands of files.
    wb = xlsxwriter.Workbook(str(path), {"in_memory": True, "strings_to_numbers": False})
    wb.set_properties(
        {
            "title": title,
            "author": "mujun",
            "company": "",
            "comments": f"批次 {run.run_id}",
            "created": run.created_at.replace(microsecond=0),
        }
    )
    return wb


def status_label(status: str, klass: str) -> str:
    """The 分类名称 shown for a firm without a class: 暂评, 不参评 or 未分类."""
    if status == "provisional":
        return "暂评"
    if status == "not-evaluated":
        return "不参评"
    return "" if klass else "未分类"

"""Units as departments write them, their dimension and factor to the canonical unit.

Canonical units (design.md): money 万元, land 亩, energy 吨标煤, electricity 千瓦时, water m³
(立方米), mass 吨, head-count 人.
"""

from __future__ import annotations

import re
import unicodedata

# unit -> (dimension, factor to the canonical unit of that dimension)
MU_IN_M2 = 10000.0 / 15.0  # 1 亩 = 666.666… m²

UNITS: dict[str, tuple[str, float]] = {
    "元": ("money", 1e-4),
    "千元": ("money", 1e-1),
    "万元": ("money", 1.0),
    "亿元": ("money", 1e4),
    "亩": ("area", 1.0),
    "平方米": ("area", 1.0 / MU_IN_M2),
    "公顷": ("area", 15.0),
    "吨标煤": ("energy", 1.0),
    "千克标煤": ("energy", 1e-3),
    "万吨标煤": ("energy", 1e4),
    "千瓦时": ("electricity", 1.0),
    "万千瓦时": ("electricity", 1e4),
    "立方米": ("volume", 1.0),
    "万立方米": ("volume", 1e4),
    "吨": ("mass", 1.0),
    "千克": ("mass", 1e-3),
    "人": ("count", 1.0),
    "年": ("year", 1.0),
}

# Spellings seen in real files -> the unit names above.
UNIT_SYNONYMS: dict[str, str] = {
    "元": "元",
    "人民币元": "元",
    "千元": "千元",
    "万元": "万元",
    "亿元": "亿元",
    "亩": "亩",
    "平方米": "平方米",
    "平米": "平方米",
    "M2": "平方米",
    "M²": "平方米",
    "㎡": "平方米",
    "公顷": "公顷",
    "吨标煤": "吨标煤",
    "吨标准煤": "吨标煤",
    "TCE": "吨标煤",
    "千克标煤": "千克标煤",
    "千克标准煤": "千克标煤",
    "万吨标煤": "万吨标煤",
    "万吨标准煤": "万吨标煤",
    "千瓦时": "千瓦时",
    "KWH": "千瓦时",
    "KW·H": "千瓦时",
    "度": "千瓦时",
    "万千瓦时": "万千瓦时",
    "万KWH": "万千瓦时",
    "立方米": "立方米",
    "M3": "立方米",
    "M³": "立方米",
    "方": "立方米",
    "万立方米": "万立方米",
    "万方": "万立方米",
    "吨": "吨",
    "千克": "千克",
    "公斤": "千克",
    "KG": "千克",
    "人": "人",
}

_PAREN = re.compile(r"[(（\[【]\s*([^()（）\[\]【】]*?)\s*[)）\]】]")
_UNIT_LINE = re.compile(r"(?:计量)?单位\s*[:：]\s*([^\s,，;；]+)")
_SPACES = re.compile(r"\s+")


def unit_dimension(unit: str) -> str:
    """The dimension (money, area, …) of a canonical unit name."""
    return UNITS[unit][0]


def unit_factor(unit_from: str, unit_to: str) -> float:
    """Multiplier converting a value in ``unit_from`` into ``unit_to`` (same dimension)."""
    dim_from, f_from = UNITS[unit_from]
    dim_to, f_to = UNITS[unit_to]
    if dim_from != dim_to:
        raise ValueError(f"cannot convert {unit_from} to {unit_to}")
    return f_from / f_to


def canonical_unit(text: str | None) -> str | None:
    """Map a unit as written (``m²``, ``吨标准煤``, ``(万元)``) to a known unit name, or None."""
    if not text:
        return None
    t = unicodedata.normalize("NFKC", text).strip().upper().replace(" ", "")
    t = t.strip("()（）")
    return UNIT_SYNONYMS.get(t)


def split_header_unit(header: str) -> tuple[str, str | None]:
    """Split ``实缴税金（万元）`` into (``实缴税金``, ``万元``); the raw unit text, or None."""
    unit = None
    matches = list(_PAREN.finditer(header))
    for m in reversed(matches):
        if canonical_unit(m.group(1)) is not None:
            unit = m.group(1)
            header = header[: m.start()] + header[m.end() :]
            break
    return header, unit


_ANY_PAREN = re.compile(r"[(（\[【][^()（）\[\]【】]*[)）\]】]")


def strip_notes(text: str) -> str:
    """A header without any bracketed note: ``统一社会信用代码（18位）`` → ``统一社会信用代码``."""
    return _ANY_PAREN.sub("", unicodedata.normalize("NFKC", str(text)))


def normalise_header(text: str) -> str:
    """Comparable form of a header cell: NFKC, no whitespace, no unit, upper-case Latin."""
    t = unicodedata.normalize("NFKC", str(text))
    t, _ = split_header_unit(t)
    t = _SPACES.sub("", t).upper()
    return t.replace("：", ":").rstrip(":*")


def unit_in_title(text: str) -> str | None:
    """A unit announced in a title row such as ``单位：元`` or ``金额单位:千元``, or None."""
    # A title line may hold several "单位：" (填报单位：某局 … 金额单位：元): take the first that
    # names a unit.
    for m in _UNIT_LINE.finditer(unicodedata.normalize("NFKC", text)):
        unit = canonical_unit(m.group(1))
        if unit is not None:
            return unit
    return None

"""Where the synthetic firms are and what they make: county weights, city industry mixes, names.

Weights are rough shares of Zhejiang's industrial firms by county-level unit (more in Cixi,
Xiaoshan, Keqiao, Wenling, Yueqing, Rui'an, Zhuji, Yongkang…; few in Shengsi, Jingning,
Wencheng…). Industry mixes follow each city's known clusters on top of a provincial baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np

from mujun.reference import common_industry_classes, counties, division_name

# Relative firm counts per county-level unit (current 90 units); unknown codes get 0.5.
COUNTY_WEIGHTS: dict[str, float] = {
    # 杭州
    "330102": 0.3, "330105": 0.3, "330106": 0.4, "330108": 0.8, "330109": 4.0, "330110": 2.0,
    "330111": 2.0, "330112": 1.3, "330113": 1.8, "330114": 1.8, "330122": 0.9, "330127": 0.3,
    "330182": 0.8,
    # 宁波
    "330203": 1.5, "330205": 0.9, "330206": 2.5, "330211": 1.2, "330212": 3.0, "330213": 1.3,
    "330225": 1.0, "330226": 1.5, "330281": 3.0, "330282": 4.0,
    # 温州
    "330302": 0.8, "330303": 1.5, "330304": 1.8, "330305": 0.2, "330324": 1.3, "330326": 1.2,
    "330327": 0.7, "330328": 0.15, "330329": 0.15, "330381": 3.0, "330382": 3.0, "330383": 0.8,
    # 嘉兴
    "330402": 1.1, "330411": 1.4, "330421": 1.5, "330424": 1.0, "330481": 2.2, "330482": 1.5,
    "330483": 2.0,
    # 湖州
    "330502": 1.2, "330503": 1.3, "330521": 1.3, "330522": 1.6, "330523": 1.2,
    # 绍兴
    "330602": 1.3, "330603": 3.2, "330604": 2.0, "330624": 0.9, "330681": 3.0, "330683": 1.3,
    # 金华
    "330702": 1.0, "330703": 0.8, "330723": 1.0, "330726": 0.9, "330727": 0.2, "330781": 0.8,
    "330782": 2.2, "330783": 1.3, "330784": 2.8,
    # 衢州
    "330802": 0.3, "330803": 0.4, "330822": 0.3, "330824": 0.25, "330825": 0.5, "330881": 0.6,
    # 舟山
    "330902": 0.4, "330903": 0.3, "330921": 0.25, "330922": 0.05,
    # 台州
    "331002": 1.2, "331003": 1.6, "331004": 1.6, "331022": 0.5, "331023": 0.8, "331024": 0.6,
    "331081": 3.2, "331082": 1.6, "331083": 2.0,
    # 丽水
    "331102": 0.5, "331121": 0.3, "331122": 0.6, "331123": 0.25, "331124": 0.25, "331125": 0.2,
    "331126": 0.2, "331127": 0.1, "331181": 0.3,
}  # fmt: skip

# City-level efficiency effect (in units of the firm efficiency's standard deviation).
CITY_EFFECT: dict[str, float] = {
    "330100": 0.30, "330200": 0.25, "330300": -0.05, "330400": 0.10, "330500": 0.05,
    "330600": 0.00, "330700": -0.10, "330800": -0.25, "330900": 0.05, "331000": 0.00,
    "331100": -0.30,
}  # fmt: skip

# Provincial baseline share of firms by manufacturing division.
DIVISION_BASE: dict[str, float] = {
    "C13": 1.5, "C14": 1.0, "C15": 0.5, "C16": 0.05, "C17": 8.0, "C18": 4.0, "C19": 3.0,
    "C20": 2.0, "C21": 2.5, "C22": 2.0, "C23": 1.5, "C24": 3.0, "C25": 0.3, "C26": 5.0,
    "C27": 1.5, "C28": 1.5, "C29": 7.0, "C30": 3.5, "C31": 0.8, "C32": 1.5, "C33": 8.0,
    "C34": 12.0, "C35": 6.0, "C36": 4.0, "C37": 1.0, "C38": 9.0, "C39": 4.0, "C40": 2.0,
    "C41": 1.5, "C42": 0.5, "C43": 0.3,
}  # fmt: skip

# City clusters: multipliers on divisions (3 characters) or classes (5 characters).
CITY_MIX: dict[str, dict[str, float]] = {
    "330100": {"C39": 2.5, "C27": 1.5, "C35": 1.5, "C34": 1.3, "C17": 1.3},
    "330200": {"C34": 1.8, "C29": 1.8, "C3670": 3.0, "C38": 1.4, "C35": 1.5},
    "330300": {"C38": 3.0, "C19": 4.0, "C3443": 4.0, "C34": 1.3, "C24": 1.5},
    "330400": {"C17": 2.5, "C28": 2.0, "C18": 1.5, "C19": 1.5, "C21": 1.5},
    "330500": {"C21": 4.0, "C20": 3.0, "C17": 1.5, "C38": 1.2},
    "330600": {"C17": 4.0, "C28": 4.0, "C18": 1.5, "C26": 1.5},
    "330700": {"C33": 2.5, "C24": 2.0, "C18": 1.5, "C36": 1.3},
    "330800": {"C26": 2.0, "C22": 2.0, "C30": 1.5, "C32": 1.5},
    "330900": {"C37": 8.0, "C13": 4.0, "C25": 5.0},
    "331000": {"C3441": 4.0, "C3670": 3.0, "C29": 2.5, "C27": 2.0, "C35": 1.3},
    "331100": {"C33": 1.5, "C34": 1.3, "C24": 1.5, "C20": 2.0, "C19": 1.5},
}

UTILITY_CLASSES = ("D4411", "D4412", "D4430", "D4511", "D4610", "D4620")

# Words of a firm name by division (or class); the first match by longest prefix wins.
NAME_WORDS: dict[str, tuple[str, ...]] = {
    "C13": ("食品", "粮油", "水产"), "C14": ("食品",), "C15": ("酒业", "饮料", "茶业"),
    "C16": ("烟草",), "C17": ("纺织", "织造", "印染", "纺织品"), "C18": ("服饰", "服装"),
    "C19": ("鞋业", "皮革"), "C20": ("木业", "竹业"), "C21": ("家具",), "C22": ("纸业",),
    "C23": ("印刷", "包装"), "C24": ("文具", "体育用品", "工艺品"), "C25": ("石化",),
    "C26": ("化工",), "C27": ("药业", "制药"), "C28": ("化纤",),
    "C29": ("塑业", "橡胶", "塑料制品"), "C30": ("建材", "玻璃", "陶瓷"), "C31": ("钢铁",),
    "C32": ("铜业", "铝业"), "C33": ("五金", "金属制品"), "C34": ("机械", "轴承"),
    "C3441": ("泵业",), "C3443": ("阀门",), "C35": ("机械设备", "专用设备"),
    "C36": ("汽车部件",), "C3670": ("汽车零部件", "汽配"), "C37": ("船舶", "车业"),
    "C38": ("电气", "电器", "电机"), "C39": ("电子", "光电"), "C40": ("仪器仪表",),
    "C41": ("工艺",), "C42": ("再生资源",), "C43": ("机械维修",),
    "D44": ("热电", "电力"), "D45": ("燃气",), "D46": ("水务",),
}  # fmt: skip

BRAND_CHARS = tuple(
    "恒达宏盛华泰鑫源金利永兴新东方远通瑞丰德隆昌信和嘉兆天安顺佳美鸿伟富康宇诚凯荣祥辉"
    "明亚光海正中联龙腾飞越锦博汇邦宝晶新峰圣润"
)
NAME_SUFFIXES = ("有限公司", "有限公司", "有限公司", "股份有限公司", "科技有限公司", "制造有限公司")
TOWN_FIRST = tuple("东西南北新大高长金石桥城江湖山龙凤白清青花安平永兴华宁丰盛和横泽")
TOWN_SECOND = tuple("山桥溪塘港浦埠头岙坞岭江河湖门洋峰田林泉口墩湾庄塔")
TOWN_KINDS = ("镇", "镇", "街道", "乡")


@dataclass(frozen=True)
class County:
    """A county-level unit with what names and parcel ids need."""

    code: str
    name: str
    city: str
    city_name: str
    short: str  # for firm names: the county (or, for a district, the city) without its suffix
    label: str  # for parcel ids: 温岭市, 天台县, 杭州市萧山区
    weight: float


def _short(name: str) -> str:
    for suffix in ("畲族自治县", "市", "区", "县"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


@cache
def load_counties() -> tuple[County, ...]:
    """The 90 current county-level units with weights, ordered by code."""
    out = []
    for div in sorted(counties(date(2023, 6, 30)), key=lambda d: d.code):
        city = div.parent or div.code[:4] + "00"
        city_name = division_name(city) or ""
        district = div.kind == "district"
        out.append(
            County(
                code=div.code,
                name=div.name,
                city=city,
                city_name=city_name,
                short=_short(city_name if district else div.name),
                label=(city_name + div.name) if district else div.name,
                weight=COUNTY_WEIGHTS.get(div.code, 0.5),
            )
        )
    return tuple(out)


@cache
def industry_table(city: str) -> tuple[tuple[str, ...], np.ndarray]:
    """Manufacturing classes and their probabilities for firms of ``city``."""
    classes = tuple(sorted(common_industry_classes()))
    per_division: dict[str, int] = {}
    for code in classes:
        per_division[code[:3]] = per_division.get(code[:3], 0) + 1
    mix = CITY_MIX.get(city, {})
    weights = np.array(
        [
            DIVISION_BASE.get(c[:3], 0.5)
            / per_division[c[:3]]
            * mix.get(c[:3], 1.0)
            * mix.get(c, 1.0)
            for c in classes
        ]
    )
    return classes, weights / weights.sum()


def _word_table(uniq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Name words per distinct industry code as a padded table and the count per row."""
    rows = [NAME_WORDS.get(code) or NAME_WORDS.get(code[:3]) or ("实业",) for code in uniq.tolist()]
    width = max(len(r) for r in rows)
    table = np.array([list(r) + [r[0]] * (width - len(r)) for r in rows], dtype=object)
    return table, np.array([len(r) for r in rows])


def make_names(rng: np.random.Generator, shorts: np.ndarray, industries: np.ndarray) -> np.ndarray:
    """Unique firm names such as 温岭恒达泵业有限公司, vectorised over firms."""
    n = len(shorts)
    uniq, inv = np.unique(industries, return_inverse=True)
    table, counts = _word_table(uniq)
    words = table[inv, (rng.random(n) * counts[inv]).astype(np.int64)]
    chars = np.array(BRAND_CHARS, dtype=object)
    brand = chars[rng.integers(0, len(chars), n)] + chars[rng.integers(0, len(chars), n)]
    suffix = np.array(NAME_SUFFIXES, dtype=object)[rng.integers(0, len(NAME_SUFFIXES), n)]
    shorts = shorts.astype(object)
    names = shorts + brand + words + suffix
    # Names are unique within a registration area, so repeats get a longer brand until every
    # name is unique (a few rounds at most).
    for _ in range(50):
        _, first = np.unique(names, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        k = int(dup.sum())
        brand[dup] = brand[dup] + chars[rng.integers(0, len(chars), k)]
        names[dup] = shorts[dup] + brand[dup] + words[dup] + suffix[dup]
    return names


def make_towns(rng: np.random.Generator, county_idx: np.ndarray, n_counties: int) -> np.ndarray:
    """A town or street (乡镇街道) for each firm: about eight per county."""
    per = 8
    first = np.array(TOWN_FIRST, dtype=object)
    second = np.array(TOWN_SECOND, dtype=object)
    kinds = np.array(TOWN_KINDS, dtype=object)
    m = n_counties * per
    table = (
        first[rng.integers(0, len(first), m)]
        + second[rng.integers(0, len(second), m)]
        + kinds[rng.integers(0, len(kinds), m)]
    )
    slot = rng.integers(0, per, len(county_idx))
    return table[county_idx * per + slot]


def make_villages(rng: np.random.Generator, n: int) -> np.ndarray:
    """Names of village collectives that lease land, e.g. 下洋村股份经济合作社."""
    first = np.array(TOWN_FIRST, dtype=object)
    second = np.array(TOWN_SECOND, dtype=object)
    return (
        first[rng.integers(0, len(first), n)]
        + second[rng.integers(0, len(second), n)]
        + "村股份经济合作社"
    )

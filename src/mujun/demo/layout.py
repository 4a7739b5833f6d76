"""How each department lays out its file in a given year: name, format, encoding, headers, units.

Everything here varies by department and year the way real deliveries do: header aliases (only
those listed in rules/sources/*.yaml), units written in the header (full- or half-width
parentheses) or in a ``单位：元`` title row, title rows, two-row merged headers, totals rows,
blank rows, date and yes/no spellings, industry codes with or without the section letter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SOURCES = ("register", "tax", "stats", "power", "env", "land", "water", "events")

# Header aliases per canonical field, copied from rules/sources/*.yaml (a test checks they match).
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "register": {
        "uscc": ("统一社会信用代码", "社会信用代码", "信用代码", "统一代码"),
        "name": ("企业名称", "单位名称", "企业(单位)名称", "名称"),
        "county_code": ("区县代码", "所属区县代码", "行政区划代码", "县区代码"),
        "town": ("所属乡镇", "乡镇街道", "所属乡镇(街道)", "乡镇(街道)"),
        "industry_code": ("行业代码", "国民经济行业代码", "所属行业代码", "行业类别代码"),
        "above_size": ("是否规上", "规上企业", "是否规模以上", "规模以上工业企业"),
        "established": ("成立日期", "注册日期", "成立时间"),
    },
    "tax": {
        "uscc": ("统一社会信用代码", "社会信用代码", "纳税人识别号", "信用代码"),
        "name": ("企业名称", "纳税人名称", "单位名称"),
        "tax_paid": ("实缴税金", "税收实际贡献", "实缴税收", "实际入库税收", "税收合计"),
    },
    "stats": {
        "uscc": ("统一社会信用代码", "社会信用代码", "信用代码", "统一代码"),
        "name": ("企业名称", "单位详细名称", "单位名称"),
        "value_added": ("工业增加值", "工业增加值(现价)"),
        "revenue": ("主营业务收入", "营业收入"),
        "employees": ("年平均从业人员", "从业人员平均人数", "职工人数", "年平均职工人数"),
        "energy": ("综合能耗", "综合能源消费量", "综合能耗(等价值)"),
        "rd": ("R&D经费支出", "研究与试验发展经费支出", "研发经费支出", "R&D经费"),
    },
    "power": {
        "uscc": ("统一社会信用代码", "社会信用代码", "信用代码", "用电客户信用代码"),
        "name": ("企业名称", "用电户名", "户名", "客户名称"),
        "meter_id": ("电表户号", "户号", "用电户号", "客户编号"),
        "electricity": ("用电量", "年用电量", "全年用电量"),
    },
    "env": {
        "uscc": ("统一社会信用代码", "社会信用代码", "信用代码"),
        "name": ("企业名称", "排污单位名称", "单位名称"),
        "cod": ("COD", "化学需氧量", "化学需氧量(COD)", "COD排放量"),
        "ammonia": ("氨氮", "氨氮排放量", "NH3-N"),
        "so2": ("二氧化硫", "SO2", "SO₂", "二氧化硫排放量"),
        "nox": ("氮氧化物", "NOx", "NOX", "氮氧化物排放量"),
    },
    "land": {
        "uscc": ("统一社会信用代码", "社会信用代码", "信用代码", "使用权人信用代码"),
        "name": ("企业名称", "土地使用权人", "使用权人", "单位名称"),
        "parcel_id": ("不动产权证号", "土地字号", "土地证号", "宗地编号"),
        "area": ("土地使用权面积", "用地面积", "土地面积", "占地面积"),
        "supply_date": ("供地日期", "供地时间", "出让日期"),
        "tenure": ("使用方式", "土地性质", "自有/租赁", "权属"),
        "lessor_uscc": ("出租方信用代码", "出租方统一社会信用代码"),
        "lessor_name": ("出租方", "出租方名称", "出租人"),
        "floor_area": ("租赁建筑面积", "租用厂房面积", "建筑面积"),
    },
    "water": {
        "uscc": ("统一社会信用代码", "社会信用代码", "信用代码"),
        "name": ("企业名称", "用水户名", "户名"),
        "water": ("年用水量", "用水量", "全年用水量"),
    },
    "events": {
        "uscc": ("统一社会信用代码", "社会信用代码", "信用代码"),
        "name": ("企业名称", "单位名称"),
        "event": ("事项", "事件类型", "类别", "名单类别"),
        "event_year": ("年度", "认定年度", "发生年度"),
        "doc_no": ("文号", "文件号", "认定文号"),
        "detail": ("备注", "说明", "事由"),
    },
}

# Kind of each field's cells: code (text kept as is), text, number, int, date, flag, industry.
KINDS = {
    "uscc": "code", "lessor_uscc": "code", "county_code": "code", "meter_id": "code",
    "parcel_id": "text", "doc_no": "text", "name": "text", "town": "text", "lessor_name": "text",
    "event": "text", "detail": "text", "tenure": "tenure", "industry_code": "industry",
    "above_size": "flag", "established": "date", "supply_date": "date", "event_year": "int",
    "employees": "int", "electricity": "int", "water": "int",
}  # fmt: skip
MONEY = ("tax_paid", "value_added", "revenue", "rd")
POLLUTANTS = ("cod", "ammonia", "so2", "nox")
# Decimals written per field and unit.
DECIMALS = {
    ("tax_paid", "元"): 2, ("tax_paid", "千元"): 3, ("tax_paid", "万元"): 4,
    ("value_added", "万元"): 1, ("value_added", "千元"): 0, ("revenue", "万元"): 1,
    ("revenue", "千元"): 0, ("rd", "万元"): 1, ("rd", "千元"): 0, ("energy", "吨标煤"): 2,
    ("area", "平方米"): 2, ("area", "亩"): 4, ("floor_area", "平方米"): 2,
}  # fmt: skip
FACTOR_FROM_CANONICAL = {"元": 1e4, "千元": 10.0, "万元": 1.0, "平方米": 10000.0 / 15.0, "亩": 1.0}

FILE_NAMES = {
    "register": ("市场监管局_企业名录_{y}", "{y}年工业企业名录（市场监管）", "企业名录{y}"),
    "tax": ("{y}年度税收实际贡献(税务局)", "税务局_实缴税金_{y}", "{y}年纳税情况"),
    "stats": ("统计局规上工业企业主要指标{y}", "{y}年规上工业企业统计数据", "规上企业主要经济指标_{y}年"),
    "power": ("国网供电公司_用电量_{y}年", "{y}年度企业用电量（电力）", "用电明细{y}"),
    "env": ("{y}年主要污染物排放量（生态环境局）", "排污数据_{y}", "生态环境_排放统计{y}年"),
    "land": ("自然资源_工业用地_{y}", "{y}年度企业用地情况（自然资源和规划局）", "土地使用情况{y}"),
    "water": ("水务集团_年用水量_{y}", "{y}年企业用水量", "供水公司用水数据{y}"),
    "events": ("{y}年度认定与处罚名单", "事件名单_{y}", "{y}年企业名单汇总"),
}  # fmt: skip
SHEETS = {
    "register": ("企业名录", "Sheet1", "名录"), "tax": ("Sheet1", "税收", "{y}年"),
    "stats": ("规上企业", "Sheet1", "主要指标"), "power": ("用电明细", "Sheet1", "{y}"),
    "env": ("排放量", "Sheet1", "{y}年"), "land": ("用地", "Sheet1", "土地台账"),
    "water": ("Sheet1", "用水", "{y}"), "events": ("名单", "Sheet1", "{y}年名单"),
}  # fmt: skip
# CSV encodings by department, cycling over the years (GB18030 for tax, stats and land).
ENCODINGS = {
    "register": ("utf-8-sig", "utf-8", "utf-8-sig"), "tax": ("gb18030", "gb18030", "utf-8-sig"),
    "stats": ("gb18030", "utf-8-sig", "gb18030"), "power": ("utf-8", "gb18030", "utf-8"),
    "env": ("utf-8", "utf-8-sig", "utf-8"), "land": ("gb18030", "gb18030", "gb18030"),
    "water": ("utf-8-sig", "gb18030", "utf-8-sig"), "events": ("utf-8", "utf-8", "utf-8-sig"),
}  # fmt: skip
TITLES = {
    "register": ("{y}年度工业企业名录", "填报单位：市场监督管理局", "数据截至{y}年12月31日"),
    "tax": ("{y}年度企业税收实际贡献情况表", "填报单位：国家税务总局税务局", "数据来源：金税三期"),
    "stats": ("{y}年度规上工业企业主要指标", "填报单位：统计局", "数据截至{y}年12月"),
    "power": ("{y}年度工业企业用电量统计", "填报单位：国网供电公司", "统计期间：{y}年1-12月"),
    "env": ("{y}年度重点排污单位主要污染物排放量", "填报单位：生态环境分局"),
    "land": ("{y}年度工业企业用地情况", "填报单位：自然资源和规划局", "权属以不动产登记为准"),
    "water": ("{y}年度企业用水量", "填报单位：水务集团"),
    "events": ("{y}年度企业认定与处罚名单", "汇总单位：经济和信息化局"),
}  # fmt: skip
ENV_GROUPS = ("主要污染物排放量（吨）", "主要污染物排放量(吨)", "污染物排放量（吨）")
STATS_GROUPS = (
    ("主要经济指标", ("value_added", "revenue", "rd")),
    ("人员与能耗", ("employees", "energy")),
)


@dataclass
class Column:
    """One column as written: the field it carries, its header text(s) and unit."""

    field: str | None  # canonical field; None for a serial-number column (序号)
    text: str  # header cell (lower cell of a grouped column in a two-row header)
    group: str = ""  # upper merged cell over a grouped column, else ""
    unit: str | None = None  # unit of the values as written (canonical spelling)
    kind: str = "text"
    decimals: int = 0

    @property
    def name(self) -> str:
        """Column name as the ingest reports it: ``upper/lower`` or the non-empty one."""
        return (
            f"{self.group}/{self.text}" if self.group and self.text else (self.group or self.text)
        )


@dataclass
class Layout:
    """Every presentation choice of one department file in one year."""

    source: str
    year: int
    fmt: str  # xlsx | csv
    encoding: str | None
    path: str  # relative to the output directory, POSIX
    sheet: str | None
    columns: list[Column]
    title_rows: list[str]
    two_row: bool = False
    vmerge: int | None = None  # XLSX: one standalone column merged over both header rows
    title_merge: bool = False
    date_style: str = "iso"  # iso | slash | cn | compact | excel
    date_mix: str | None = None  # a second style used for ~15 % of rows
    flag: tuple[object, object] = ("是", "否")
    industry_letter: bool = True
    tenure_words: tuple[str, str] = ("自有", "租赁")
    thousands: float = 0.0  # share of numeric cells written with thousands separators
    spaces: float = 0.0  # share of cells padded with spaces
    blank_rows: int = 0
    totals: bool = False
    order: str = "random"  # random | uscc | county
    units: dict[str, str] = field(default_factory=dict)

    def column_of(self, name: str) -> int:
        """Index of the column carrying canonical field ``name``."""
        for j, col in enumerate(self.columns):
            if col.field == name:
                return j
        raise KeyError(name)


def _unit_text(rng: np.random.Generator, unit: str) -> str:
    spelled = {"千瓦时": ("千瓦时", "kWh", "度"), "吨标煤": ("吨标煤", "吨标准煤")}.get(
        unit, (unit,)
    )
    text = spelled[int(rng.integers(0, len(spelled)))]
    return f"（{text}）" if rng.random() < 0.5 else f"({text})"


def _alias(rng: np.random.Generator, source: str, name: str, plain: bool) -> str:
    """Pick an alias: the first one most years, another one sometimes."""
    options = ALIASES[source][name]
    if plain:  # a unit will be appended: avoid aliases that already end in parentheses
        options = tuple(a for a in options if "(" not in a) or options[:1]
    if len(options) > 1 and rng.random() < 0.45:
        return options[1 + int(rng.integers(0, len(options) - 1))]
    return options[0]


def _money_units(rng: np.random.Generator, n_years: int, units: tuple[str, ...]) -> list[str]:
    order = list(rng.permutation(units))
    return [str(order[k % len(order)]) for k in range(n_years)]


def choose_layouts(
    rng: np.random.Generator, source: str, years: tuple[int, ...], fmt: str
) -> list[Layout]:
    """One layout per year for ``source`` (``fmt``: xlsx, csv or mixed)."""
    n_y = len(years)
    tax_units = _money_units(rng, n_y, ("元", "千元", "万元"))
    stats_thousand = int(rng.integers(0, n_y))
    stats_two_row = int(rng.integers(0, n_y))
    land_mu_years = set(rng.permutation(n_y)[: max(1, n_y // 2)].tolist()) if n_y > 1 else set()
    # Industry codes alternate between C3670 and 3670, and the yes/no spelling changes, by year.
    letter_phase = bool(rng.random() < 0.5)
    flag_phase = int(rng.integers(0, 3))
    out = []
    for k, year in enumerate(years):
        back = n_y - 1 - k  # 0 for the latest year
        f = fmt if fmt in ("xlsx", "csv") else ("xlsx" if back == 0 else "csv")
        units: dict[str, str] = {}
        if source == "tax":
            units["tax_paid"] = tax_units[k]
        elif source == "stats":
            for m in ("value_added", "revenue", "rd"):
                units[m] = "千元" if k == stats_thousand else "万元"
            units.update(employees="人", energy="吨标煤")
        elif source == "power":
            units["electricity"] = "千瓦时"
        elif source == "env":
            units.update(dict.fromkeys(POLLUTANTS, "吨"))
        elif source == "land":
            units.update(area="亩" if k in land_mu_years else "平方米", floor_area="平方米")
        elif source == "water":
            units["water"] = "立方米"
        title_unit = source == "tax" and rng.random() < 0.4
        columns = _columns(rng, source, units, title_unit)
        two_row = source == "env" or (source == "stats" and k == stats_two_row)
        titles = [t.format(y=year) for t in TITLES[source]]
        n_titles = int(rng.choice([0, 1, 2, 3], p=[0.15, 0.35, 0.35, 0.15]))
        if title_unit:
            n_titles = max(n_titles, 1)
        titles = titles[: min(n_titles, len(titles))]
        if title_unit:
            titles.append(f"单位：{units['tax_paid']}")
        if two_row:
            _group_columns(rng, source, columns)
        ext = "xlsx" if f == "xlsx" else "csv"
        name = FILE_NAMES[source][k % len(FILE_NAMES[source])].format(y=year)
        sheet = SHEETS[source][k % len(SHEETS[source])].format(y=year) if f == "xlsx" else None
        styles = ["iso", "slash", "cn", "compact"] + (["excel", "excel"] if f == "xlsx" else [])
        date_style = str(rng.choice(styles))
        mix = str(rng.choice(["iso", "slash", "cn", "compact"])) if rng.random() < 0.5 else None
        flags = [("是", "否"), (1, 0) if f == "xlsx" else ("1", "0"), ("Y", "N")]
        layout = Layout(
            source=source,
            year=year,
            fmt=f,
            encoding=None if f == "xlsx" else ENCODINGS[source][k % 3],
            path=f"{year}/{name}.{ext}",
            sheet=sheet,
            columns=columns,
            title_rows=titles,
            two_row=two_row,
            title_merge=f == "xlsx" and rng.random() < 0.5,
            date_style=date_style,
            date_mix=mix if mix != date_style else None,
            flag=flags[(k + flag_phase) % 3],
            industry_letter=(k % 2 == 0) == letter_phase,
            tenure_words=(
                ("自有", "出让", "自用")[k % 3],
                ("租赁", "租用", "承租")[int(rng.integers(0, 3))],
            ),
            thousands=float(rng.choice([0.0, 0.02, 1.0] if f == "csv" else [0.0, 0.02])),
            spaces=float(rng.choice([0.0, 0.01])),
            blank_rows=int(rng.choice([0, 1, 2], p=[0.4, 0.4, 0.2])),
            totals=source in ("tax", "stats", "power"),
            order=str(rng.choice(["random", "uscc", "county"])),
            units=units,
        )
        if two_row and f == "xlsx":
            standalone = [j for j, c in enumerate(columns) if not c.group]
            layout.vmerge = int(rng.choice(standalone))
        out.append(layout)
    return out


def _columns(
    rng: np.random.Generator, source: str, units: dict[str, str], title_unit: bool
) -> list[Column]:
    cols = []
    for name in ALIASES[source]:
        unit = units.get(name)
        in_header = (
            unit is not None
            and not title_unit
            and (
                name in ("area",)
                or (name in MONEY and unit != "万元")
                or (source not in ("env",) and rng.random() < 0.6)
            )
        )
        text = _alias(rng, source, name, plain=in_header)
        if in_header and unit is not None:
            text += _unit_text(rng, unit)
        kind = KINDS.get(name, "number")
        decimals = DECIMALS.get((name, unit or ""), 4 if name in POLLUTANTS else 0)
        cols.append(Column(name, text, unit=unit, kind=kind, decimals=decimals))
    # Files with a totals row start with 序号 or the name, so 合计 never sits in the key column.
    first = rng.random()
    if source in ("tax", "stats", "power") or first < 0.3:
        if first < 0.5 or source not in ("tax", "stats", "power"):
            cols.insert(0, Column(None, "序号", kind="seq"))
        else:
            name_col = cols.pop(1)
            cols.insert(0, name_col)
    return cols


def _group_columns(rng: np.random.Generator, source: str, columns: list[Column]) -> None:
    """Mark grouped columns for a two-row header; group members are made adjacent."""
    groups = ((str(rng.choice(ENV_GROUPS)), POLLUTANTS),) if source == "env" else STATS_GROUPS
    for upper, members in groups:
        idx = [j for j, c in enumerate(columns) if c.field in members]
        block = [columns[j] for j in idx]
        for j in reversed(idx):
            columns.pop(j)
        for c in block:
            c.group = upper
        columns[min(idx) : min(idx)] = block

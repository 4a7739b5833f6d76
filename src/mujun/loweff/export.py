"""The Excel export of a year's low-efficiency list: one row per firm, codes written as text."""

from __future__ import annotations

from typing import Any

from mujun.loweff.cases import status_label
from mujun.loweff.rules import BUILTIN_INDICATORS
from mujun.xlsx import Column, xlsx_bytes

FIGURE_NAMES = {
    "tax_mu": ("亩均税收（万元/亩）", "Tax per mu (10k yuan/mu)"),
    "va_mu": ("亩均增加值（万元/亩）", "Value added per mu (10k yuan/mu)"),
    "va_energy": ("单位能耗增加值（万元/吨标煤）", "Value added per tce"),
    "va_emissions": ("单位排放增加值（万元/吨）", "Value added per t of emissions"),
    "labour": ("全员劳动生产率（万元/人）", "Labour productivity"),
    "rd_ratio": ("R&D经费支出占比", "R&D intensity"),
    "tax_electricity": ("单位电耗税收（万元/万千瓦时）", "Tax per 10k kWh"),
    **{
        k: (f"{name}（{unit}）" if unit else name, k.replace("_", " "))
        for k, (name, unit) in BUILTIN_INDICATORS.items()
        if k != "land_mu"
    },
}
# (key, 中文, English, width, text)
COLUMNS: list[tuple[str, str, str, int, bool]] = [
    ("case_id", "案件编号", "Case", 8, False),
    ("year", "年度", "Year", 6, False),
    ("uscc", "统一社会信用代码", "Credit code", 22, True),
    ("name", "企业名称", "Name", 34, False),
    ("county_name", "区县", "County", 12, False),
    ("county_code", "区县代码", "County code", 10, True),
    ("industry_code", "行业代码", "Industry", 10, True),
    ("size_label", "规模", "Size", 6, False),
    ("klass", "评价分类", "Class", 8, False),
    ("land_mu", "计亩面积（亩）", "Land (mu)", 12, False),
]
TAIL: list[tuple[str, str, str, int, bool]] = [
    ("hit_names", "认定依据", "Rules hit", 40, False),
    ("listed_label", "本年度", "This year", 10, False),
    ("status_label", "案件状态", "Case status", 14, False),
    ("status_date", "状态日期", "Status date", 12, False),
    ("land_freed_mu", "腾出土地（亩）", "Land freed (mu)", 12, False),
    ("first_year", "首次认定年度", "First listed", 10, False),
    ("years_listed", "列入年数", "Years listed", 8, False),
    ("run_id", "评价批次", "Run", 12, True),
]


def figure_keys(rows: list[dict[str, Any]]) -> list[str]:
    """Figure columns present in ``rows`` (land is its own column), in a stable order."""
    seen: dict[str, None] = {}
    for r in rows:
        for k in r["figures"]:
            if k != "land_mu":
                seen.setdefault(k, None)
    order = list(FIGURE_NAMES)
    return sorted(seen, key=lambda k: (order.index(k) if k in order else len(order), k))


def list_workbook(title: str, rows: list[dict[str, Any]], lang: str = "zh") -> bytes:
    """The list as an XLSX workbook (credit, county, industry codes and run ids as text)."""
    en = lang == "en"
    figs = figure_keys(rows)
    figure_columns = [(f"fig:{k}", *FIGURE_NAMES.get(k, (k, k)), 14, False) for k in figs]
    columns = [
        Column(en_name if en else zh, key, width, is_text)
        for key, zh, en_name, width, is_text in (*COLUMNS, *figure_columns, *TAIL)
    ]
    values = [
        {
            **row,
            "size_label": {
                "above": "Above" if en else "规上",
                "below": "Below" if en else "规下",
            }.get(row["size"] or "", row["size"] or ""),
            "listed_label": ("listed" if en else "在列")
            if row["listed"]
            else ("left the list" if en else "已出列"),
            "status_label": status_label(row["effective_status"], lang),
            "status_date": row["status_date"].isoformat() if row["status_date"] else None,
            **{f"fig:{k}": row["figures"].get(k) for k in figs},
        }
        for row in rows
    ]
    return xlsx_bytes(
        title, columns, values, frozen_columns=3, wrap_headers=True, float_format="0.00"
    )

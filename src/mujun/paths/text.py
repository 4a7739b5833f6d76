"""Paths in plain words, Chinese first with English, as the portrait and the API show them."""

from __future__ import annotations

import math
from typing import Any

NOTE_ZH = (
    "以上按本批次的基准值和分档线测算，其他条件不变；其他企业的数据变化时，基准值和分档线也会随之变化，"
    "仅供参考。"
)
NOTE_EN = (
    "Computed with this run's benchmarks and class cut-offs, everything else unchanged; they move "
    "when other firms' figures change, so this is a guide, not a promise."
)

FIRM_STATUS_ZH = {
    "best-class": "已是最高类别",
    "not-classified": "本批次未分类（不评或暂评），无升级路径",
    "landlord-class": "采用出租方（或合并评价）的分类，升级取决于出租方",
    "method-not-supported": "该规则的计分方法不支持路径测算",
}
FIRM_STATUS_EN = {
    "best-class": "already in the best class",
    "not-classified": "not classified in this run: no path",
    "landlord-class": "takes its landlord's class: its path is the landlord's",
    "method-not-supported": "the rule set's scoring method does not support paths",
}


def _n(x: float | None, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:,.{digits}f}"


def _pct(new: float, old: float) -> str:
    if old is None or new is None or old == 0 or math.isnan(old) or math.isnan(new):
        return ""
    return f"{100.0 * (new - old) / abs(old):+.1f}%"


INDICATOR_UNITS = {
    "tax_mu": ("亩均税收", "万元/亩"),
    "va_mu": ("亩均增加值", "万元/亩"),
    "va_energy": ("单位能耗增加值", "万元/吨标煤"),
    "va_emissions": ("单位排放增加值", "万元/吨"),
    "labour": ("全员劳动生产率", "万元/人"),
    "tax_electricity": ("单位电耗税收", "万元/万千瓦时"),
}


def lever_sentence(p: dict[str, Any], lang: str = "zh") -> str:
    """One lever's path as a sentence (p: a row of the firm_paths table)."""
    lever, status = p["lever"], p["status"]
    cur, new = p["current_value"], p["shown_value"]
    ind = INDICATOR_UNITS.get(p.get("indicator") or "", (p.get("indicator") or "", ""))
    if status != "reachable":
        why = p.get("reason") or ""
        if lang == "en":
            return f"{p['lever_name_en']}: not reachable by this lever alone ({why})"
        return f"仅靠{p['lever_name']}无法升至{p['target_class']}类：{why}"
    if lang == "en":
        return (
            f"{p['lever_name_en']}: {_n(cur)} → {_n(new, 0 if lever == 'staff' else 2)} "
            f"{p['unit']} ({_pct(new, cur)})"
        )
    pct = _pct(new, cur)
    if lever == "tax":
        return (
            f"{ind[0]}需提高到 {_n(p['indicator_new'])} {ind[1]}（实缴税金 {_n(new)} 万元，{pct}）"
        )
    if lever == "land":
        return f"或腾退 {_n(cur - new)} 亩土地（计亩用地降至 {_n(new)} 亩，{ind[0]} {_n(p['indicator_new'])} {ind[1]}）"
    if lever == "va":
        return f"工业增加值需提高到 {_n(new)} 万元（{pct}）"
    if lever == "staff":
        return (
            f"{ind[0]}需提高到 {_n(p['indicator_new'])} {ind[1]}（按现有增加值，从业人员 "
            f"{_n(new, 0)} 人，{pct}）"
        )
    verb = {"energy": "综合能耗", "emissions": "主要污染物排放量", "electricity": "用电量"}
    return f"{verb.get(lever, p['lever_name'])}需降至 {_n(new)} {p['unit']}（{pct}）"


def path_summary(rows: list[dict[str, Any]], lang: str = "zh") -> str:
    """The headline sentence: the class aimed at and every reachable lever, joined by 或."""
    reach = [r for r in rows if r["status"] == "reachable"]
    if not rows:
        return ""
    target = rows[0]["target_class"]
    if not reach:
        if lang == "en":
            return f"No single lever lifts the firm to class {target}."
        return f"单靠任何一项都无法升至{target}类。"
    parts = [lever_sentence(r, lang) for r in reach]
    if lang == "en":
        return f"To reach class {target}: " + "; or ".join(parts) + "."
    first, rest = parts[0], [p.removeprefix("或") for p in parts[1:]]
    return f"升至{target}类需：" + "，或".join([first, *rest]) + "。"

"""The published result workbooks (公示附件): one per county, one list sheet per category.

The internal variant carries every indicator, the total and the rank; the public variant
(``public=True``) keeps only identity, land area and class, because public annexes must not
disclose confidential figures such as tax (ux.md, Publication).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mujun.reference import industry_name
from mujun.reports.common import (
    CATEGORIES,
    RuleInfo,
    RunInfo,
    county_label,
    county_rules,
    load_run,
    new_workbook,
    region_counties,
    safe_filename,
    status_label,
)
from mujun.store import Store

RUN_STATUS_ZH = {"draft": "草稿", "final": "定稿", "published": "已公示"}
STATUS_ORDER = {"evaluated": 0, "provisional": 1, "not-evaluated": 2}
RESULT_FIELDS = (
    "uscc", "name", "industry_code", "category", "status", "land_mu", "total", "rank", "class",
    "class_name", "reasons", "adjust_reason", "limit_reason", "cohort",
)  # fmt: skip


@dataclass(frozen=True)
class Column:
    """One list column: header, width, kind (text, int, num, pct) and the row field it shows."""

    header: str
    width: float
    kind: str
    field: str


IDENTITY = [
    Column("序号", 6, "int", "_seq"),
    Column("统一社会信用代码", 22, "text", "uscc"),
    Column("企业名称", 36, "str", "name"),
    Column("所属乡镇", 12, "str", "town"),
    Column("行业代码", 10, "text", "industry_code"),
    Column("行业名称", 26, "str", "industry"),
    Column("用地面积（亩）", 12, "num", "land_mu"),
]
CLASS_COLUMNS = [Column("分类", 6, "str", "class"), Column("分类名称", 10, "str", "class_label")]


def list_columns(rules: RuleInfo, category: str, public: bool) -> list[Column]:
    """The columns of a category's list, in order; the public variant drops every figure."""
    if public:
        return [*IDENTITY, *CLASS_COLUMNS]
    indicators = [
        Column(
            f"{name}（{unit}）" if unit else name,
            max(14, len(name) * 2 + len(unit) + 4),
            "num" if unit else "pct",
            f"item:{code}",
        )
        for code, name, unit in rules.category_indicators(category)
    ]
    return [
        *IDENTITY,
        *indicators,
        Column("综合得分", 10, "num", "total"),
        Column("排名", 8, "int", "rank"),
        *CLASS_COLUMNS,
        Column("备注", 50, "str", "note"),
    ]


def _county_rows(store: Store, run: RunInfo, county: str) -> list[dict]:
    """Every firm of the county in the run, with town, industry name and indicator values."""
    rows = store.rows(
        f"SELECT {', '.join('r.' + c for c in RESULT_FIELDS)}, e.town "
        "FROM results r LEFT JOIN (SELECT uscc, min(town) AS town FROM enterprises "
        "WHERE year = ? GROUP BY uscc) e USING (uscc) "
        "WHERE r.run_id = ? AND r.county_code = ?",
        [run.year, run.run_id, county],
    )
    names = [*RESULT_FIELDS, "town"]
    firms = {r[0]: dict(zip(names, r, strict=True)) for r in rows}
    for uscc, code, value in store.rows(
        "SELECT i.uscc, i.indicator, i.value FROM result_items i JOIN results r "
        "ON r.run_id = i.run_id AND r.uscc = i.uscc WHERE i.run_id = ? AND r.county_code = ?",
        [run.run_id, county],
    ):
        firms[uscc][f"item:{code}"] = value
    for f in firms.values():
        f["industry"] = industry_name(f["industry_code"]) or ""
        f["class_label"] = f["class_name"] if f["class"] else status_label(f["status"], "")
        if not f["class"]:
            f["rank"] = None  # unclassed firms carry rank 0 in results; a list shows none
        f["note"] = _note(f)
    return list(firms.values())


def _note(f: dict) -> str:
    """备注: why a firm is unclassed, or what moved a classed firm away from its score's band."""
    if not f["class"]:
        return f["reasons"] or ""
    parts = [(f["adjust_reason"] or "").strip("；"), (f["limit_reason"] or "").strip("；")]
    return "；".join(p for p in parts if p)


def sort_firms(firms: list[dict], rules: RuleInfo) -> list[dict]:
    """Order of a published list: by class (best first), then rank; unclassed firms last."""
    return sorted(
        firms,
        key=lambda f: (
            rules.class_order(f["class"]),
            f["rank"] if f["class"] else 0,
            STATUS_ORDER.get(f["status"], 3),
            f["cohort"] or "",
            f["uscc"],
        ),
    )


def workbook_name(county: str, run: RunInfo, public: bool) -> str:
    """<县名>_<year>年度亩均效益评价结果_<run>[_公示版].xlsx"""
    stem = f"{safe_filename(county_label(county))}_{run.year}年度亩均效益评价结果_{run.run_id}"
    return stem + ("_公示版" if public else "") + ".xlsx"


def write_published_workbooks(
    store: Store, run_id: str, region: str, out_dir: Path, *, public: bool = False
) -> list[Path]:
    """Write one result workbook per county of ``region``; ``public`` drops confidential figures."""
    run = load_run(store, run_id)
    paths = []
    for county in region_counties(store, run_id, region):
        path = Path(out_dir) / workbook_name(county, run, public)
        _write_county_workbook(store, run, county, path, public)
        paths.append(path)
    return paths


def _write_county_workbook(
    store: Store, run: RunInfo, county: str, path: Path, public: bool
) -> None:
    rules = county_rules(store, run.run_id, county)
    firms = _county_rows(store, run, county)
    title = f"{county_label(county)}{run.year}年度工业企业亩均效益综合评价结果"
    wb = new_workbook(path, run, title + ("（公示版）" if public else ""))
    fmt = {
        "title": wb.add_format({"bold": True, "font_size": 14, "align": "center"}),
        "head": wb.add_format(
            {
                "bold": True,
                "bg_color": "#DDEBF7",
                "border": 1,
                "text_wrap": True,
                "valign": "vcenter",
            }
        ),
        "text": wb.add_format({"num_format": "@"}),
        "str": wb.add_format({}),
        "int": wb.add_format({"num_format": "0"}),
        "num": wb.add_format({"num_format": "0.00"}),
        "pct": wb.add_format({"num_format": "0.00%"}),
        "key": wb.add_format({"bold": True, "valign": "top"}),
        "wrap": wb.add_format({"num_format": "@", "text_wrap": True, "valign": "top"}),
    }
    _write_notes(wb, fmt, run, county, rules, firms, title, public)
    for category in CATEGORIES:
        rows = sort_firms([f for f in firms if f["category"] == category], rules)
        _write_list(wb, fmt, rules.category_label(category), rows, rules, category, title, public)
    wb.close()


def _write_list(wb, fmt, label, rows, rules, category, title, public) -> None:
    columns = list_columns(rules, category, public)
    ws = wb.add_worksheet(label)
    last = len(columns) - 1
    ws.merge_range(
        0, 0, 0, last, f"{title}——{label}" + ("（公示版）" if public else ""), fmt["title"]
    )
    for j, col in enumerate(columns):
        ws.write_string(1, j, col.header, fmt["head"])
        ws.set_column(j, j, col.width)
    ws.set_row(1, 30)
    for i, firm in enumerate(rows, start=1):
        r = i + 1
        for j, col in enumerate(columns):
            value = i if col.field == "_seq" else firm.get(col.field)
            if value is None or value == "":
                continue
            if col.kind in ("text", "str"):
                # Codes go out as text with the '@' format: Excel would show 9.13301E+17.
                ws.write_string(r, j, str(value), fmt[col.kind])
            else:
                ws.write_number(r, j, value, fmt[col.kind])
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, max(1, len(rows) + 1), last)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0, 1)


def class_counts(firms: list[dict], rules: RuleInfo) -> list[tuple[str, str, dict[str, int]]]:
    """Counts per category for each class, then 暂评, 不参评 and 未分类: (code, label, counts)."""
    out = []
    for code, name in rules.classes:
        by = {c: 0 for c in CATEGORIES}
        for f in firms:
            if f["class"] == code:
                by[f["category"]] += 1
        out.append((code, name, by))
    for status, label in (
        ("provisional", "暂评"),
        ("not-evaluated", "不参评"),
        ("evaluated", "未分类"),
    ):
        by = {c: 0 for c in CATEGORIES}
        for f in firms:
            if not f["class"] and f["status"] == status:
                by[f["category"]] += 1
        out.append(("", label, by))
    return out


def _write_notes(wb, fmt, run, county, rules, firms, title, public) -> None:
    ws = wb.add_worksheet("说明")
    ws.set_column(0, 0, 16)
    ws.set_column(1, 1, 12)
    ws.set_column(2, len(CATEGORIES) + 2, 16)
    ws.merge_range(
        0, 0, 0, len(CATEGORIES) + 2, title + ("（公示版）" if public else ""), fmt["title"]
    )
    items = [
        ("区县", f"{county_label(county)}（{county}）"),
        ("数据年度", f"{run.year}年度"),
        ("评价批次", f"{run.run_id}（{RUN_STATUS_ZH.get(run.status, run.status)}）"),
        ("评价规则", rules.name),
        ("规则版本", rules.version),
        ("规则依据", rules.source),
        ("规则哈希", rules.rules_hash),
        ("生成时间", run.created_at.strftime("%Y-%m-%d %H:%M:%S")),
        (
            "版本",
            "公示版：不含实缴税金、增加值、各项指标、得分与排名等企业涉密数据"
            if public
            else "内部版：含各项指标、综合得分与排名，不得公开",
        ),
    ]
    last = len(CATEGORIES) + 2
    for i, (key, value) in enumerate(items, start=2):
        ws.write_string(i, 0, key, fmt["key"])
        ws.merge_range(i, 1, i, last, value, fmt["wrap"])
        # Merged cells do not grow with their text: give long values (the rule source) room.
        ws.set_row(i, 15 * max(1, -(-len(value) // 70)))
    r = len(items) + 3
    ws.write_string(r, 0, "各类企业数量", fmt["key"])
    heads = ["分类", "分类名称", *(rules.category_label(c) for c in CATEGORIES), "合计"]
    ws.write_row(r + 1, 0, heads, fmt["head"])
    ws.set_row(r + 1, 45)
    totals = {c: 0 for c in CATEGORIES}
    for k, (code, label, by) in enumerate(class_counts(firms, rules), start=r + 2):
        ws.write_string(k, 0, code)
        ws.write_string(k, 1, label)
        for j, c in enumerate(CATEGORIES, start=2):
            ws.write_number(k, j, by[c], fmt["int"])
            totals[c] += by[c]
        ws.write_number(k, len(CATEGORIES) + 2, sum(by.values()), fmt["int"])
    k = r + 2 + len(rules.classes) + 3
    ws.write_string(k, 0, "合计", fmt["key"])
    for j, c in enumerate(CATEGORIES, start=2):
        ws.write_number(k, j, totals[c], fmt["int"])
    ws.write_number(k, len(CATEGORIES) + 2, sum(totals.values()), fmt["int"])

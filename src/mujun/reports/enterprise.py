"""The one-firm sheet (一企一单): a printable A4 workbook a firm receives before publication.

It shows who the firm is, its land, every source figure with unit, department and period, each
indicator against its cohort benchmark, the points, the class, the rank and — for a classed
firm — how many points it lacks for the next better class (ux.md, Enterprises).
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

from mujun.errors import InputError
from mujun.evaluation.inputs import EXEMPTION_FIELD
from mujun.reference import industry_name
from mujun.reports.common import (
    SIZE_ZH,
    STATUS_ZH,
    TENURE_ZH,
    RunInfo,
    cohort_label,
    county_label,
    load_run,
    new_workbook,
    region_counties,
    safe_filename,
    status_label,
)
from mujun.reports.sheet_data import FIGURES, Correction, FirmSheet, SheetBatch, gather_sheets
from mujun.store import Store

WIDTHS = (20, 15, 12, 14, 12, 10, 30)  # A–G: fits A4 portrait at about 85 % scale
LAST = len(WIDTHS) - 1
INDEX_MARK = "一企一单目录"
LAND_RULE_ZH = {
    "own": "按自有土地面积计",
    "own+leased": "自有与租赁土地面积合计",
    "leased-parcel-share": "按租赁土地面积计",
    "leased-floor-space": "按租赁厂房面积折算",
    "none": "无用地数据",
}
CORRECTED = "已更正"
OBJECTION = (
    "如对上述数据或结果有异议，请在公示期内通过所在乡镇（街道）或园区提交书面材料及证明，"
    "逾期不予受理。"
)


class _Sheet:
    """A cursor over one worksheet with the sheet's formats; writes rows top to bottom."""

    def __init__(self, wb, title: str) -> None:
        self.ws = wb.add_worksheet("一企一单")
        base = {"font_size": 12, "valign": "vcenter", "border": 1}
        self.f = {
            "title": wb.add_format({"bold": True, "font_size": 18, "align": "center"}),
            "sub": wb.add_format({"font_size": 11, "align": "center"}),
            "section": wb.add_format(
                {**base, "bold": True, "font_size": 13, "bg_color": "#DDEBF7"}
            ),
            "head": wb.add_format({**base, "bold": True, "bg_color": "#F2F2F2", "text_wrap": True}),
            "key": wb.add_format({**base, "bold": True}),
            "text": wb.add_format({**base, "num_format": "@", "text_wrap": True}),
            "big": wb.add_format({**base, "bold": True, "font_size": 16, "num_format": "@"}),
            "bignum": wb.add_format({**base, "bold": True, "font_size": 16, "num_format": "0.00"}),
            "note": wb.add_format({"font_size": 10, "text_wrap": True, "valign": "top"}),
        }
        self.nums: dict[str, object] = {}
        self.wb = wb
        self.r = 0
        for j, w in enumerate(WIDTHS):
            self.ws.set_column(j, j, w)
        self.ws.merge_range(0, 0, 0, LAST, title, self.f["title"])
        self.ws.set_row(0, 30)

    def num(self, num_format: str):
        """A bordered number format, made once per workbook."""
        if num_format not in self.nums:
            self.nums[num_format] = self.wb.add_format(
                {"font_size": 12, "valign": "vcenter", "border": 1, "num_format": num_format}
            )
        return self.nums[num_format]

    def cell(self, c: int, value, fmt="text", num_format: str = "0.00") -> None:
        """Write a text cell (always as text) or a number; None and NaN leave a bordered blank."""
        if isinstance(value, float) and math.isnan(value):
            value = None
        if value is None or isinstance(value, str):
            self.ws.write_string(self.r, c, value or "", self.f[fmt])
        else:
            style = self.f[fmt] if fmt == "bignum" else self.num(num_format)
            self.ws.write_number(self.r, c, value, style)

    def span(self, c0: int, c1: int, text: str, fmt: str = "text") -> None:
        """Text across columns c0..c1 (merged when more than one), row height grown to fit."""
        if not text:
            # Empty spans stay unmerged bordered blanks: merging costs more than it shows.
            for c in range(c0, c1 + 1):
                self.ws.write_blank(self.r, c, None, self.f[fmt])
            return
        if c1 > c0:
            self.ws.merge_range(self.r, c0, self.r, c1, text, self.f[fmt])
        else:
            self.ws.write_string(self.r, c0, text, self.f[fmt])
        width = sum(WIDTHS[c0 : c1 + 1])
        # CJK characters take two width units; estimate the wrapped lines for the row height.
        lines = math.ceil(sum(2 if ord(ch) > 0x2E80 else 1 for ch in text or "") / max(width, 1))
        if lines > 1:
            self.ws.set_row(self.r, 18 * lines)

    def section(self, text: str) -> None:
        """A section header after one blank row."""
        self.r += 1
        self.span(0, LAST, text, "section")
        self.r += 1

    def pair(self, key: str, value: str) -> None:
        """A label and a text value across the rest of the row."""
        self.cell(0, key, "key")
        self.span(1, LAST, value)
        self.r += 1

    def header(self, *cells: str | tuple[str, int]) -> None:
        """A table header row; a (text, n) cell spans n columns."""
        c = 0
        for cell in cells:
            text, n = cell if isinstance(cell, tuple) else (cell, 1)
            self.span(c, c + n - 1, text, "head")
            c += n
        self.r += 1


def render_sheet(path: Path, batch: SheetBatch, firm: FirmSheet) -> None:
    """Write one firm's sheet to ``path``."""
    run, res, rules = batch.run, firm.result, firm.rules
    wb = new_workbook(path, run, f"{res['name']} 一企一单")
    s = _Sheet(wb, f"{run.year}年度工业企业亩均效益综合评价 一企一单")
    s.r = 1
    subtitle = f"{county_label(res['county_code'])} · 评价批次 {run.run_id} · {rules.name}"
    s.span(0, LAST, f"{subtitle}（{rules.version}）", "sub")
    s.r = 2
    _write_identity(s, firm)
    _write_land(s, firm)
    _write_figures(s, batch, firm)
    _write_scores(s, firm)
    _write_outcome(s, firm)

    s.r += 1
    notes = [
        f"数据期间：{run.year}年度；评价批次 {run.run_id}；规则 {rules.name}（{rules.version}）。"
    ]
    if batch.data_changed_after_run:
        notes.append("注意：本批次评价后部门数据有更新，基础数据为当前数据，可能与评价时不同。")
    notes += _correction_notes(firm)
    notes.append(OBJECTION)
    s.ws.merge_range(s.r, 0, s.r, LAST, "\n".join(notes), s.f["note"])
    s.ws.set_row(s.r, 16 * (len(notes) + 1))

    ws = s.ws
    ws.set_portrait()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0, 1)
    ws.center_horizontally()
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.set_footer("&C第 &P 页，共 &N 页")
    ws.print_area(0, 0, s.r, LAST)
    wb.close()


def _write_identity(s: _Sheet, firm: FirmSheet) -> None:
    res = firm.result
    s.section("一、企业基本信息")
    code = res["industry_code"] or ""
    s.pair("企业名称", res["name"] or "")
    s.pair("统一社会信用代码", res["uscc"])
    s.pair("所属区县", f"{county_label(res['county_code'])}（{res['county_code']}）")
    s.pair("所属乡镇", firm.town or "")
    s.pair("所属行业", f"{code} {industry_name(code) or ''}".strip())
    s.pair("企业规模", SIZE_ZH.get(res["size"], res["size"] or ""))
    s.pair("评价类别", firm.rules.category_label(res["category"]))
    est = firm.established
    s.pair("成立日期", est.isoformat() if isinstance(est, date) else str(est or ""))
    status = STATUS_ZH.get(res["status"], res["status"])
    s.pair("评价状态", f"{status}（{res['status_reason']}）" if res["status_reason"] else status)


def _write_land(s: _Sheet, firm: FirmSheet) -> None:
    res = firm.result
    s.section("二、用地情况")
    if firm.parcels:
        s.header(("不动产权证号/地块", 2), "面积（亩）", "权属", "供地日期", ("出租方", 2))
        for p in firm.parcels:
            s.span(0, 1, p["parcel_id"] or "")
            s.cell(2, p["area_mu"], num_format="#,##0.00")
            s.cell(3, TENURE_ZH.get(p["tenure"], p["tenure"] or ""))
            d = p["supply_date"]
            s.cell(4, d.isoformat() if isinstance(d, date) else "")
            s.span(5, 6, " ".join(x for x in (p["lessor_name"], p["lessor_uscc"]) if x))
            s.r += 1
    else:
        s.span(0, LAST, "自然资源部门数据中无本企业用地记录")
        s.r += 1
    s.cell(0, "计亩面积（评价用）", "key")
    s.cell(1, res["land_mu"], num_format="#,##0.00")
    s.cell(2, "亩")
    s.span(3, LAST, LAND_RULE_ZH.get(res["land_rule"] or "", res["land_rule"] or ""))
    s.r += 1


def _write_figures(s: _Sheet, batch: SheetBatch, firm: FirmSheet) -> None:
    s.section("三、基础数据（来源部门与期间）")
    s.header("项目", "数值", "单位", "来源部门", "数据期间", ("说明", 2))
    for fig in FIGURES:
        corrected = firm.corrections.get(fig.field)
        if fig.source not in batch.sources and corrected is None:
            continue  # the department sent no file this year: nothing to confirm
        value = firm.facts.get(fig.field)
        present = bool(firm.facts.get(f"in_{fig.source}"))
        s.cell(0, fig.label, "key")
        s.cell(1, value, num_format=fig.num_format)
        s.cell(2, fig.unit)
        s.cell(3, batch.departments.get(fig.source, fig.source))
        s.cell(4, f"{batch.run.year}年度")
        if corrected is not None:
            original = _figure_text(corrected.original, fig.num_format, fig.unit)
            note = f"{CORRECTED}：原值 {original}（{_objection_ref(corrected)}）"
        else:
            note = "" if value is not None else ("无有效数值" if present else "部门数据中无本企业")
        s.span(5, 6, note)
        s.r += 1


def _figure_text(value: float | None, num_format: str, unit: str) -> str:
    """A figure as the sheet's number format shows it (``#,##0.00`` → 1,234.50), with its unit;
    a cleared figure is 空."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "空"
    decimals = len(num_format.split(".", 1)[1]) if "." in num_format else 0
    return f"{value:,.{decimals}f}{unit}"


def _objection_ref(c: Correction) -> str:
    """Where a correction comes from: 异议 #3 已采纳，批次 run-…"""
    return f"异议 #{c.confirmation_id} 已采纳，批次 {c.objection_run_id}"


def _correction_notes(firm: FirmSheet) -> list[str]:
    """The sheet's notes on corrections: that marked figures are the corrected ones the run was
    evaluated on, and corrections of what has no figure row (an exemption application)."""
    if not firm.corrections:
        return []
    notes = [f"标注“{CORRECTED}”的数据为采纳异议后的更正值，本批次按更正值评价。"]
    shown = {fig.field for fig in FIGURES}
    for name, c in sorted(firm.corrections.items()):
        if name in shown:
            continue
        label = "豁免申请" if name == EXEMPTION_FIELD else name
        state = ("予以豁免" if c.value else "不予豁免") if name == EXEMPTION_FIELD else c.value
        notes.append(f"{CORRECTED}：{label} {state}（{_objection_ref(c)}）。")
    return notes


def _write_scores(s: _Sheet, firm: FirmSheet) -> None:
    res = firm.result
    s.section("四、评价指标与得分")
    if not firm.items:
        s.span(0, LAST, f"未计分：{res['status_reason'] or res['reasons'] or ''}")
        s.r += 1
        return
    s.header("指标", "本企业数值", "单位", "队列基准值", "得分", "权重", "说明")
    for it in firm.items:
        # A unit-less indicator is a ratio (R&D intensity): shown as a percentage.
        fmt = "#,##0.00" if it["unit"] else "0.00%"
        s.cell(0, it["name"] or it["indicator"], "key")
        s.cell(1, it["value"], num_format=fmt)
        s.cell(2, it["unit"] or "%")
        s.cell(3, it["benchmark"], num_format=fmt)
        s.cell(4, it["score"])
        s.cell(5, it["weight"], num_format="0")
        s.cell(6, "缺少数据，取队列平均得分" if it["imputed"] else "")
        s.r += 1
    # adjust_reason lists bonuses with a + sign and penalties with − or none (leasing out).
    parts = [p for p in (res["adjust_reason"] or "").split("；") if p]
    for label, value, note in (
        ("指标得分小计", res["composite_total"], ""),
        ("加分", res["bonus"], "；".join(p for p in parts if "+" in p)),
        ("扣分", res["penalty"], "；".join(p for p in parts if "+" not in p)),
        ("合计（小计＋加分－扣分）", res["total"], ""),
    ):
        s.span(0, 3, label, "key")
        s.cell(4, value)
        s.span(5, 6, note)
        s.r += 1


def _write_outcome(s: _Sheet, firm: FirmSheet) -> None:
    res, rules = firm.result, firm.rules
    s.section("五、评价结果")
    klass = res["class"] or ""
    s.cell(0, "评价分类", "key")
    s.cell(1, klass or "—", "big")
    s.span(2, LAST, res["class_name"] if klass else status_label(res["status"], klass), "big")
    s.r += 1
    s.cell(0, "综合得分", "key")
    s.cell(1, res["total"], "bignum")
    s.span(2, LAST, "")
    s.r += 1
    if klass:
        s.pair(
            "队列排名",
            f"第 {res['rank']} / {res['cohort_size']} 名（{cohort_label(res['cohort'])}）",
        )
        if res["band_class"] and res["band_class"] != klass:
            s.pair("按得分分档", f"{res['band_class']}类；最终分类受下列限制调整")
        if res["limit_reason"]:
            s.pair("分类限制", res["limit_reason"].strip("；"))
        gap = firm.gap
        s.cell(0, "距上一档差距（分）", "key")
        if gap is not None:
            s.cell(1, gap.points)
            text = f"{gap.klass}类（{gap.class_name}）最低得分 {gap.lowest_total:.2f}，"
            text += (
                f"本企业还差 {gap.points:.2f} 分"
                if gap.points > 0
                else "本企业得分已达到，分类受限制或同分排序影响"
            )
            s.span(2, LAST, text)
        else:
            s.cell(1, None)
            s.span(2, LAST, "已为最高档" if rules.class_order(klass) == 0 else "不适用")
        s.r += 1
    s.pair("评价说明", res["reasons"] or "")


def sheet_filename(firm: FirmSheet) -> str:
    """<uscc>_<name>.xlsx"""
    return f"{firm.result['uscc']}_{safe_filename(firm.result['name'] or '')}.xlsx"


def write_enterprise_sheet(store: Store, run_id: str, uscc: str, out_path: Path) -> Path:
    """Write one firm's sheet to ``out_path`` (a folder gets ``<uscc>_<name>.xlsx``)."""
    run = load_run(store, run_id)
    code = (uscc or "").strip().upper()
    batch = gather_sheets(store, run, "r.uscc = ?", [code])
    if not batch.firms:
        raise InputError(
            f"firm {code} is not in run {run_id}",
            "check the credit code (`mujun uscc CODE`) and that the firm is in the register "
            f"of {run.year}",
        )
    path = Path(out_path)
    if path.is_dir() or path.suffix.lower() != ".xlsx":
        path = path / sheet_filename(batch.firms[0])
    render_sheet(path, batch, batch.firms[0])
    return path


def write_enterprise_sheets(store: Store, run_id: str, region: str, out_dir: Path) -> list[Path]:
    """Write every firm's sheet of ``region`` and an index per county; return every file written.

    A county goes straight into ``out_dir``; a city or the province gets one folder per county.
    Each county's index comes right after its sheets in the returned list.
    """
    run = load_run(store, run_id)
    counties = region_counties(store, run_id, region)
    written: list[Path] = []
    for county in counties:
        folder = Path(out_dir)
        if len(counties) > 1:
            folder = folder / f"{county}_{safe_filename(county_label(county))}"
        batch = gather_sheets(store, run, "r.county_code = ?", [county])
        files = []
        for firm in batch.firms:
            path = folder / sheet_filename(firm)
            render_sheet(path, batch, firm)
            files.append(path)
        written += [*files, _write_index(folder, run, county, batch, files)]
    return written


def index_name(county: str, run: RunInfo) -> str:
    """<县名>_<year>年度一企一单目录_<run>.xlsx"""
    return f"{safe_filename(county_label(county))}_{run.year}年度{INDEX_MARK}_{run.run_id}.xlsx"


def is_index(path: Path) -> bool:
    """Whether a file written by :func:`write_enterprise_sheets` is a county index."""
    return INDEX_MARK in Path(path).name


def _write_index(folder: Path, run: RunInfo, county: str, batch: SheetBatch, files) -> Path:
    path = folder / index_name(county, run)
    title = f"{county_label(county)}{run.year}年度一企一单目录（批次 {run.run_id}）"
    wb = new_workbook(path, run, title)
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    text = wb.add_format({"num_format": "@"})
    num = wb.add_format({"num_format": "0.00"})
    ws = wb.add_worksheet("目录")
    ws.merge_range(0, 0, 0, 9, title, wb.add_format({"bold": True, "font_size": 14}))
    heads = ["序号", "统一社会信用代码", "企业名称", "所属乡镇", "评价类别", "评价状态",
             "分类", "分类名称", "综合得分", "文件"]  # fmt: skip
    for j, (h, w) in enumerate(zip(heads, (6, 22, 36, 12, 24, 10, 6, 10, 10, 60), strict=True)):
        ws.write_string(1, j, h, head)
        ws.set_column(j, j, w)
    for i, (firm, file) in enumerate(zip(batch.firms, files, strict=True), start=1):
        res, r = firm.result, i + 1
        ws.write_number(r, 0, i)
        ws.write_string(r, 1, res["uscc"], text)
        ws.write_string(r, 2, res["name"] or "")
        ws.write_string(r, 3, firm.town or "")
        ws.write_string(r, 4, firm.rules.category_label(res["category"]))
        ws.write_string(r, 5, STATUS_ZH.get(res["status"], res["status"]))
        ws.write_string(r, 6, res["class"] or "")
        ws.write_string(r, 7, res["class_name"] or status_label(res["status"], res["class"]))
        if res["total"] is not None:
            ws.write_number(r, 8, res["total"], num)
        # A relative link keeps working when the folder is copied or zipped as a whole.
        ws.write_url(r, 9, f"external:{file.name}", string=file.name)
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, max(1, len(files) + 1), len(heads) - 1)
    wb.close()
    return path

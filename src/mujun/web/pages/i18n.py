"""Chinese-first labels of the pages, with an English switch (``?lang=en`` or the cookie)."""

from __future__ import annotations

from fastapi import Request

LANG_COOKIE = "mujun_lang"
LANGS = ("zh", "en")

# key: (中文, English). Templates call t("key"); an unknown key shows itself.
LABELS: dict[str, tuple[str, str]] = {
    "app": ("亩均评价平台", "Mujun evaluation platform"),
    "overview": ("总览", "Overview"),
    "rankings": ("企业排名", "Rankings"),
    "portrait": ("企业画像", "Enterprise portrait"),
    "quality": ("数据质量", "Data quality"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "username": ("用户名", "Username"),
    "password": ("口令", "Password"),
    "change_password": ("修改口令", "Change password"),
    "current_password": ("当前口令", "Current password"),
    "new_password": ("新口令", "New password"),
    "confirm_password": ("确认新口令", "Confirm new password"),
    "passwords_differ": ("两次输入的新口令不一致", "the two new passwords differ"),
    "save": ("保存", "Save"),
    "year": ("年度", "Year"),
    "region": ("地区", "Region"),
    "region_tree": ("行政区划", "Regions"),
    "all": ("全部", "All"),
    "query": ("查询", "Search"),
    "reset": ("重置", "Reset"),
    "export_excel": ("导出Excel", "Export Excel"),
    "no_runs": ("该年度暂无您可查看的评价结果", "No evaluation results visible to you"),
    "no_data_role": (
        "您的角色不查看评价数据",
        "Your role does not read evaluation data",
    ),
    "run": ("评价批次", "Run"),
    "firms_evaluated": ("参评企业", "Firms evaluated"),
    "firms_total": ("企业总数", "Firms"),
    "class_share": ("分类占比", "Class shares"),
    "tax_mu": ("亩均税收", "Tax per mu"),
    "va_mu": ("亩均增加值", "Value added per mu"),
    "a_share": ("A类占比", "Class A share"),
    "vs_last_year": ("较上年", "vs last year"),
    "no_last_year": ("上年无评价", "no run last year"),
    "totals_note": (
        "规上参评企业合计税收（增加值）÷ 合计用地",
        "sum of tax (value added) over sum of land, evaluated above-size firms",
    ),
    "map": ("区县地图", "County map"),
    "map_tiles_note": (
        "示意图：每个方块代表一个县级单位，按行政区划代码排布，非实际边界",
        "Schematic: one square per county-level unit, keyed by division code; not boundaries",
    ),
    "map_choropleth_note": (
        "边界数据由本部署提供",
        "Boundaries supplied by this deployment",
    ),
    "indicator": ("指标", "Indicator"),
    "class_by_area": ("分地区分类分布", "Classes by area"),
    "trends": ("历年趋势", "Trends over the years"),
    "charts_missing": (
        "图表组件未安装（在服务器上运行 make install 或 npm ci）",
        "Chart library not installed (run make install or npm ci on the server)",
    ),
    "uscc": ("统一社会信用代码", "Credit code"),
    "name": ("企业名称", "Name"),
    "county": ("区县", "County"),
    "city": ("地市", "City"),
    "industry": ("行业", "Industry"),
    "industry_division": ("行业大类", "Industry division"),
    "traditional": ("传统产业", "Traditional industry"),
    "size": ("规模", "Size"),
    "above": ("规上", "Above size"),
    "below": ("规下", "Below size"),
    "category": ("类别", "Category"),
    "status": ("状态", "Status"),
    "land_mu": ("用地（亩）", "Land (mu)"),
    "total": ("综合得分", "Total score"),
    "class": ("分类", "Class"),
    "unclassified": ("未分类", "Unclassified"),
    "rank": ("队列排名", "Rank in cohort"),
    "percentile": ("百分位", "Percentile"),
    "search": ("名称或信用代码", "Name or credit code"),
    "rows_total": ("共 {n} 条", "{n} rows"),
    "page": ("第 {p} / {n} 页", "Page {p} of {n}"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "page_size": ("每页", "Per page"),
    "identity": ("基本信息", "Identity"),
    "town": ("乡镇", "Town"),
    "established": ("成立日期", "Established"),
    "land_parcels": ("用地宗地", "Land parcels"),
    "parcel": ("宗地编号", "Parcel"),
    "area_mu": ("面积（亩）", "Area (mu)"),
    "tenure": ("权属", "Tenure"),
    "lessor": ("出租方", "Lessor"),
    "supply_date": ("供地日期", "Supply date"),
    "shared": ("共用", "Shared"),
    "conflict": ("冲突", "Conflict"),
    "indicators": ("指标与同组基准", "Indicators against the cohort benchmark"),
    "value": ("数值", "Value"),
    "unit": ("单位", "Unit"),
    "benchmark": ("基准值", "Benchmark"),
    "ratio": ("与基准之比", "Ratio to benchmark"),
    "score": ("得分", "Score"),
    "weight": ("权重", "Weight"),
    "imputed": ("估算", "Imputed"),
    "radar": ("同组百分位雷达图", "Percentile in cohort (radar)"),
    "result": ("评价结果", "Result"),
    "reasons": ("分类理由", "Reasons"),
    "bonus": ("加分", "Bonus"),
    "penalty": ("扣分", "Penalty"),
    "history": ("历年评价", "History"),
    "issues": ("数据质量问题", "Data-quality issues"),
    "no_issues": ("无", "None"),
    "download_sheet": ("下载一企一单", "Download the one-firm sheet"),
    "department": ("部门", "Department"),
    "code": ("问题代码", "Issue code"),
    "severity": ("级别", "Severity"),
    "error": ("错误", "Errors"),
    "warning": ("警告", "Warnings"),
    "info": ("提示", "Notes"),
    "count": ("条数", "Count"),
    "file": ("文件", "File"),
    "row_no": ("行号", "Row"),
    "column": ("列", "Column"),
    "message": ("说明", "Message"),
    "drill_down": ("查看明细", "Rows"),
    "issue_rows": ("问题明细", "Issue rows"),
    "cohort": ("队列", "Cohort"),
    "firms": ("家", "firms"),
    "lang_switch": ("English", "中文"),
    "role": ("角色", "Role"),
}

CLASS_NAMES: dict[str, tuple[str, str]] = {
    "A": ("A类 优先发展", "A (priority)"),
    "B": ("B类 提升发展", "B (upgrade)"),
    "C": ("C类 调控帮扶", "C (support)"),
    "D": ("D类 倒逼整治", "D (remediate)"),
}


def request_lang(request: Request) -> tuple[str, bool]:
    """The page language and whether it was chosen by ``?lang=`` (to be kept in the cookie)."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked, True
    cookie = request.cookies.get(LANG_COOKIE)
    return (cookie if cookie in LANGS else "zh"), False


def translator(lang: str):
    """``t(key, **fmt)`` for ``lang``: the label in that language, formatted."""
    index = 1 if lang == "en" else 0

    def t(key: str, **fmt: object) -> str:
        """The label of ``key``."""
        pair = LABELS.get(key)
        text = pair[index] if pair else key
        return text.format(**fmt) if fmt else text

    return t


def class_label(klass: str | None, lang: str) -> str:
    """'A类 优先发展' (or 'A (priority)'); empty or unknown classes as they are."""
    pair = CLASS_NAMES.get(klass or "")
    if pair is None:
        return klass if klass else translator(lang)("unclassified")
    return pair[1 if lang == "en" else 0]

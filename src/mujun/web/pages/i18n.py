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
    "loweff": ("低效企业整治", "Low-efficiency firms"),
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
    "robustness": ("分类稳健性", "Robustness of the class"),
    "p_class": ("维持本类别的概率", "Probability of keeping this class"),
    "fragile": ("脆弱", "fragile"),
    "fragile_only": ("仅脆弱分类", "Fragile classes only"),
    "rank_interval": ("排名5%–95%区间", "Rank, 5–95 % interval"),
    "draws": ("次模拟", "draws"),
    "no_robustness": (
        "本批次尚未做稳健性分析（mujun robustness）",
        "No robustness analysis for this run yet (mujun robustness)",
    ),
    "path_next": ("升级路径", "Path to the next class"),
    "lever": ("途径", "Lever"),
    "current": ("现值", "Now"),
    "needed": ("需达到", "Needed"),
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
    # workflow pages: runs and publication, confirmation, objections, upload
    "runs": ("评价批次与公示", "Runs and publication"),
    "run_a": ("批次甲", "Run A"),
    "run_b": ("批次乙", "Run B"),
    "compare": ("比较", "Compare"),
    "rules": ("规则", "Rules"),
    "created": ("创建时间", "Created"),
    "class_changes": ("分类变化", "Class changes"),
    "class_before": ("原分类", "Class before"),
    "class_after": ("新分类", "Class after"),
    "why": ("原因", "Why"),
    "no_changes": ("没有分类变化", "No class changes"),
    "base_run": ("依据批次", "Base run"),
    "confirmation_rounds": ("确认阶段", "Confirmation rounds"),
    "stage_land": ("用地面积确认", "Land confirmation"),
    "stage_sheet": ("一企一单确认", "Sheet confirmation"),
    "closes_on": ("截止", "closes"),
    "open_land": ("开放用地面积确认", "Open land confirmation"),
    "open_sheet": ("开放一企一单确认", "Open sheet confirmation"),
    "open_no_deadline": ("已开放", "open"),
    "actions": ("操作", "Actions"),
    "publish": ("发布公示", "Publish"),
    "notice_title": ("公示标题", "Notice title"),
    "default_title": ("默认：地区＋年度＋评价结果公示", "default: region, year and results"),
    "basis_documents": ("公示依据", "Basis documents"),
    "basis_title": ("文件名称", "Document title"),
    "doc_no": ("文号", "Document number"),
    "window_start": ("公示开始日期", "Window starts"),
    "window_end": ("公示结束日期", "Window ends"),
    "window_default": ("不填则为 {n} 天（含首日）", "default {n} days, first day included"),
    "contact_phone": ("联系电话", "Contact phone"),
    "procedure": ("异议方式", "How to object"),
    "finalise": ("公示期满，定稿", "Finalise"),
    "finalised_at": ("定稿于", "Finalised on"),
    "rerun": ("生成新草稿批次", "Make a new draft run"),
    "accepted_n": ("已采纳 {n} 条更正", "{n} accepted corrections"),
    "notice_basis": ("根据", "Under "),
    "notice_intro": (
        "现将工业企业亩均效益综合评价结果予以公示。",
        "the results of the evaluation are published for objection.",
    ),
    "notice_counts": ("本次共评价企业 {n} 家，其中：", "{n} firms evaluated: "),
    "notice_period": ("公示期：", "Objection window: "),
    "notice_procedure": ("异议方式：", "How to object: "),
    "window_open": ("公示中", "open"),
    "annexes": ("附件", "Annexes"),
    "done_published": ("已发布公示", "Published"),
    "done_final": ("已定稿", "Finalised"),
    "done_rerun": ("已生成新草稿批次", "New draft run made"),
    "done_open-land": ("已开放用地面积确认", "Land confirmation opened"),
    "done_open-sheet": ("已开放一企一单确认", "Sheet confirmation opened"),
    "done_confirmed": ("已确认", "Confirmed"),
    "done_contested": ("异议已提交，等待审核", "Objection filed; awaiting review"),
    "done_accept": ("已采纳", "Accepted"),
    "done_reject": ("已驳回", "Rejected"),
    "confirm": ("确认与异议", "Confirmation"),
    "nothing_to_confirm": ("目前没有需要确认的内容", "Nothing to confirm at the moment"),
    "land_first": ("一、用地面积", "1. Land area"),
    "sheet_figures": ("二、一企一单", "2. One-firm sheet"),
    "source_department": ("来源部门", "Source"),
    "period": ("期间", "Period"),
    "review_note": ("审核意见", "Review note"),
    "corrected_from": (
        "已更正：原值 {v} {u}（异议 #{cid} 已采纳，批次 {run}）",
        "Corrected: was {v} {u} (objection #{cid} accepted, run {run})",
    ),
    "corrected_exemption": (
        "已更正（异议 #{cid} 已采纳，批次 {run}）",
        "Corrected (objection #{cid} accepted, run {run})",
    ),
    "confirm_btn": ("确认", "Confirm"),
    "contest_btn": ("有异议", "Contest"),
    "exemption_apply": ("申请豁免", "Apply for exemption"),
    "reason": ("异议理由", "Reason"),
    "proposed_value": ("正确数值", "Proposed value"),
    "evidence": ("证明材料", "Evidence"),
    "submit": ("提交", "Submit"),
    "objections": ("异议处理", "Objections"),
    "objection": ("异议", "Objection"),
    "all_objections": ("全部异议", "All objections"),
    "no_objections": ("暂无异议", "No objections"),
    "figure": ("项目", "Figure"),
    "filed_at": ("提交时间", "Filed"),
    "phase": ("阶段", "Phase"),
    "phase_confirmation": ("公示前确认", "Confirmation"),
    "phase_publication": ("公示期异议", "Publication"),
    "decision": ("审核结果", "Decision"),
    "review": ("审核", "Review"),
    "accepted_value": ("采纳数值（默认企业提出的数值）", "Accepted value (default: proposed)"),
    "accept": ("采纳", "Accept"),
    "reject": ("驳回", "Reject"),
    "upload": ("数据上传", "Upload"),
    "upload_btn": ("上传并校验", "Upload and validate"),
    "uploading": ("正在上传和校验，请稍候……", "Uploading and validating…"),
    "recent_uploads": ("最近上传", "Recent uploads"),
    "upload_done": ("完成", "done"),
    "upload_failed": ("失败", "failed"),
    "upload_ingesting": ("导入中", "ingesting"),
    "validation_report": ("校验报告", "Validation report"),
    "rows_read": ("读取", "read"),
    "rows_stored": ("入库", "stored"),
    "rows_quarantined": ("隔离", "quarantined"),
    "rows_skipped": ("跳过", "skipped"),
    "first_problems": ("前若干条问题", "First problems"),
    "see_quality": ("查看数据质量", "See data quality"),
    "upload_step_queued": ("排队中", "Queued"),
    "upload_step_reading": ("读取文件", "Reading the file"),
    "upload_step_ingesting": ("导入数据", "Ingesting"),
    "upload_step_validating": ("校验年度数据", "Validating the year"),
    "upload_step_done": ("完成", "Done"),
    # run states (mujun.workflow.runs) and the states of filings
    "run_status_draft": ("草稿", "Draft"),
    "run_status_confirming": ("确认中", "In confirmation"),
    "run_status_published": ("公示中", "Published"),
    "run_status_final": ("定稿", "Final"),
    "run_status_superseded": ("已被取代", "Superseded"),
    "result_status_evaluated": ("参评", "Evaluated"),
    "result_status_provisional": ("暂评", "Provisional"),
    "result_status_not-evaluated": ("不参评", "Not evaluated"),
    "fig_state_open": ("待确认", "To confirm"),
    "fig_state_confirmed": ("已确认", "Confirmed"),
    "fig_state_contested": ("已提出异议，待审核", "Contested, awaiting review"),
    "fig_state_accepted": ("异议已采纳", "Objection accepted"),
    "fig_state_rejected": ("异议未采纳", "Objection rejected"),
    "obj_state_contested": ("待审核", "Awaiting review"),
    "obj_state_accepted": ("已采纳", "Accepted"),
    "obj_state_rejected": ("未采纳", "Rejected"),
    "obj_state_confirmed": ("已确认", "Confirmed"),
    "pub_state_open": ("公示期内", "window open"),
    "pub_state_upcoming": ("尚未开始", "window not open yet"),
    "pub_state_closed": ("公示期已结束，待定稿", "window closed, awaiting final results"),
    "pub_state_final": ("已定稿", "final"),
    "pub_state_superseded": ("已被取代", "superseded"),
    "pub_state_published": ("已公示", "published"),
    "run_in_force": ("现行结果", "In force"),
    "superseded_by": ("已被批次 {run} 取代（{date}）", "Superseded by run {run} on {date}"),
    "superseded_note": (
        "该批次及其公示保留在历史记录中；现行结果见新批次。",
        "This run and its notice are kept in the history; the results in force are the new run's.",
    ),
    "final_note": (
        "公示期满且异议已全部处理，本批次为该年度、该地区的最终结果。",
        "The window is over and every objection was reviewed: these are the final results for "
        "the year and region.",
    ),
    "publications_history": ("公示记录", "Publication history"),
    "published_at": ("发布时间", "Published"),
    "state": ("状态", "State"),
    "window_to": ("至", "to"),
    "no_publications": ("尚无公示", "No publications yet"),
    "per_mu_unit": ("（万元/亩）", " (10k yuan/mu)"),
    "year_period": ("{y}年度", "year {y}"),
}

# Terms the pages show that come from code or reference data, in English (Chinese is as stored).
DEPARTMENTS_EN = {
    "register": "Market regulation (register)",
    "tax": "Tax",
    "stats": "Statistics",
    "power": "Power supply",
    "env": "Ecology and environment",
    "land": "Natural resources",
    "water": "Water supply",
    "events": "Event lists",
}
INDICATORS_EN = {
    "tax_mu": "Tax per mu",
    "va_mu": "Value added per mu",
    "va_energy": "Value added per energy use",
    "va_emissions": "Value added per emissions",
    "labour": "Labour productivity",
    "rd_ratio": "R&D intensity",
    "tax_electricity": "Tax per electricity use",
    "revenue_mu": "Revenue per mu",
    "score": "Total score",
}
FIELDS_EN = {
    "land_own_mu": "Own land area",
    "land_leased_mu": "Leased land area",
    "tax_paid": "Tax paid",
    "value_added": "Industrial value added",
    "revenue": "Main business revenue",
    "employees": "Average employees",
    "energy": "Comprehensive energy use",
    "rd": "R&D spending",
    "electricity": "Electricity use",
    "water": "Water use",
    "cod": "COD emissions",
    "ammonia": "Ammonia nitrogen emissions",
    "so2": "SO2 emissions",
    "nox": "NOx emissions",
    "exemption": "Exemption application",
}
UNITS_EN = {
    "万元": "10k yuan",
    "亩": "mu",
    "人": "persons",
    "吨标煤": "tce",
    "吨": "t",
    "千瓦时": "kWh",
    "万千瓦时": "10 MWh",
    "立方米": "m³",
}
UNCLASSED_EN = {"暂评": "Provisional", "不参评": "Not evaluated", "未分类": "Unclassified"}

# SMS login, notifications, the audit log and the enterprise home page.
LABELS.update(
    {
        "sms_login": ("企业短信登录", "Enterprise SMS login"),
        "sms_login_hint": (
            "企业用户：用统一社会信用代码和发送到指定联系人手机的验证码登录",
            "Enterprises: log in with the credit code and a code sent to the designated phone",
        ),
        "password_login": ("账号口令登录", "Password login"),
        "credit_code": ("统一社会信用代码", "Credit code"),
        "sms_code": ("短信验证码", "SMS code"),
        "send_code": ("获取验证码", "Send code"),
        "notifications": ("消息", "Notifications"),
        "unread": ("未读", "unread"),
        "mark_all_read": ("全部标为已读", "Mark all read"),
        "mark_read": ("标为已读", "Mark read"),
        "no_notifications": ("暂无消息", "No notifications"),
        "audit_log": ("审计日志", "Audit log"),
        "actor": ("操作者", "Actor"),
        "action": ("操作", "Action"),
        "audit_result": ("结果", "Result"),
        "designated_phone": ("指定联系人手机", "Designated phone"),
        "object": ("对象", "Object"),
        "time_utc": ("时间（UTC）", "Time (UTC)"),
        "date_from": ("起始日期", "From"),
        "date_to": ("截止日期", "To"),
        "export_csv": ("导出CSV", "Export CSV"),
        "chain_ok": ("哈希链校验通过", "Hash chain verified"),
        "chain_broken": ("哈希链校验发现问题", "Hash chain problems"),
        "archives": ("归档记录", "Archives"),
        "retention": ("保存期限", "Retention"),
        "sms_outbox": ("短信发件箱", "SMS outbox"),
        "home": ("首页", "Home"),
        "my_class": ("评价类别", "Class"),
        "total_score": ("综合得分", "Total score"),
        "score_breakdown": ("得分明细", "Score breakdown"),
        "points": ("得分", "Points"),
        "go_confirm": ("确认或提出异议", "Confirm or contest"),
        "policy_and_path": ("政策兑现与升档路径", "Policies and the path to the next class"),
        "no_result": ("暂无已公示的评价结果", "No published result yet"),
    }
)

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


def state_label(prefix: str, value: str | None, lang: str) -> str:
    """The label of a state (``run_status``, ``fig_state``, …); an unknown one as it is."""
    key = f"{prefix}_{value}"
    return translator(lang)(key) if key in LABELS else (value or "")


def unit_label(unit: str | None, lang: str) -> str:
    """A unit as the page's language writes it: 万元/亩 or 10k yuan/mu."""
    if not unit or lang != "en":
        return unit or ""
    return "/".join(UNITS_EN.get(part, part) for part in unit.split("/"))


def term(table: dict[str, str], key: str | None, stored: str | None, lang: str) -> str:
    """A department, indicator or field name in ``lang``: English from ``table`` by key, else
    the stored (Chinese) name."""
    if lang == "en" and key in table:
        return table[key]
    return stored or key or ""


def count_label(entry: dict, lang: str) -> str:
    """The name of a class count in a notice: the class, or 暂评 / 不参评 / 未分类."""
    if entry.get("class"):
        return class_label(entry["class"], lang)
    name = entry.get("name") or ""
    return UNCLASSED_EN.get(name, name) if lang == "en" else name


def class_label(klass: str | None, lang: str) -> str:
    """'A类 优先发展' (or 'A (priority)'); empty or unknown classes as they are."""
    pair = CLASS_NAMES.get(klass or "")
    if pair is None:
        return klass if klass else translator(lang)("unclassified")
    return pair[1 if lang == "en" else 0]


# Differentiated policies (the ledger) and the what-if simulation.
LABELS.update(
    {
        "policy": ("差别化政策", "Differentiated policies"),
        "policy_ledger": ("政策台账", "Policy ledger"),
        "policy_set": ("政策", "Policy set"),
        "policy_preset": ("政策预设", "Policy preset"),
        "apply_policy": ("应用到本批次", "Apply to this run"),
        "applied_at": ("计算于", "computed"),
        "no_policy": ("本批次尚未应用差别化政策", "No policy has been applied to this run"),
        "policy_none_for_firm": (
            "本企业的分类不触发差别化政策",
            "The firm's class triggers no lever",
        ),
        "policy_sign_note": (
            "金额单位万元：正数为企业需缴纳（加价），负数为减免",
            "万元: positive = the firm pays (surcharge), negative = relieved",
        ),
        "policy_by_lever": ("按政策汇总", "Totals by lever"),
        "policy_by_area": ("按地区汇总（万元）", "Totals by area (万元)"),
        "policy_triggers": ("分类对应的差别化政策", "What the class triggers"),
        "lever": ("政策", "Lever"),
        "firms_concerned": ("涉及企业", "Firms"),
        "not_computed": ("缺数据未计算", "Not computed (no data)"),
        "amount_wan": ("金额（万元）", "Amount (万元)"),
        "quantity": ("数量", "Quantity"),
        "net_wan": ("合计（万元）", "Net (万元)"),
        "base_quantity": ("基数", "Base"),
        "rate": ("标准", "Rate"),
        "amount": ("金额/数量", "Amount"),
        "rule_applied": ("适用规则", "Rule applied"),
        "whatif": ("政策模拟", "What-if"),
        "whatif_note": (
            "调整权重、基准、封顶、分档或政策标准，即时查看分类变化和财政影响；不生成评价批次",
            "Change weights, benchmarks, caps, bands or rates: see class moves and the fiscal "
            "effect at once; no run is written",
        ),
        "benchmark_strategy": ("基准值方法", "Benchmark"),
        "bm_cohort-ratio-of-totals": ("队列合计比", "cohort totals ratio"),
        "bm_cohort-mean": ("队列平均", "cohort mean"),
        "bm_cohort-median": ("队列中位数", "cohort median"),
        "item_cap": ("单项封顶（倍）", "Item cap (×)"),
        "bands": ("分档比例", "Bands"),
        "policy_rates": ("政策标准", "Policy rates"),
        "simulate": ("模拟", "Simulate"),
        "firms_move": ("{n} 家企业分类变化（共 {total} 家）", "{n} of {total} firms move class"),
        "no_firm_moves": ("没有企业的分类发生变化", "No firm moves class"),
        "changes": ("调整", "Changes"),
        "none": ("无", "none"),
        "nothing_written": ("未写入任何数据", "nothing written"),
        "class_matrix": ("分类变化矩阵", "Class matrix"),
        "unclassed": ("未分类", "unclassed"),
        "moves_by_area": ("按地区", "By area"),
        "moves_by_industry": ("按行业大类", "By industry division"),
        "moved": ("变化", "Moved"),
        "fiscal_effect": ("财政影响", "Fiscal effect"),
        "before": ("调整前", "Before"),
        "after": ("调整后", "After"),
        "change": ("变化", "Change"),
        "movers": ("分类变化的企业（前20家）", "Firms that move (first 20)"),
    }
)

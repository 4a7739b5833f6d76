"""Low-efficiency tracking (低效企业整治) pages: the yearly list with the region tree, a query
bar, a paged table and its Excel export; the summary of cases by status and land freed per
area; one case across years with the status form for analysts of its region.

Scope as everywhere: analysts see their region (drafts only where their region covers the
run), an enterprise sees its own case in published runs and no list of others.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from mujun.auth.roles import PROVINCE_CODE, REGION_ROLES, Role
from mujun.auth.scope import covers, data_scope
from mujun.loweff.cases import (
    STATUS_LABELS,
    STATUSES,
    TRANSITIONS,
    EntryQuery,
    Transition,
    change_status,
    list_entries,
    list_years,
    status_label,
    summarise,
)
from mujun.loweff.export import FIGURE_NAMES, figure_keys, list_workbook
from mujun.store import Store
from mujun.web.db import Database
from mujun.web.deps import StoreDep
from mujun.web.errors import HttpError
from mujun.web.pages.common import (
    Viewer,
    ViewerDep,
    audit_read,
    render,
    require_result_reader,
    tree_for,
)
from mujun.web.pages.excel import xlsx_response
from mujun.web.pages.flow import PageRefusal, parse_id, refusals
from mujun.web.pages.i18n import LABELS, request_lang
from mujun.web.routers.loweff import case_in_scope, scoped
from mujun.workflow.runs import local_today

router = APIRouter(include_in_schema=False)

PAGE_SIZES = (20, 50, 100)
LOWEFF_LABELS: dict[str, tuple[str, str]] = {
    "loweff": ("低效企业整治", "Low-efficiency firms"),
    "loweff_list": ("低效企业名单", "Low-efficiency list"),
    "case": ("案件", "Case"),
    "case_status": ("案件状态", "Case status"),
    "on_list": ("本年度", "This year"),
    "listed": ("在列", "Listed"),
    "left_list": ("已出列", "Left the list"),
    "hits": ("认定依据", "Rules hit"),
    "first_year": ("首次认定", "First listed"),
    "years_listed": ("列入年数", "Years listed"),
    "land_freed": ("腾出土地（亩）", "Land freed (mu)"),
    "summary": ("整治进展（按年度、地区）", "Progress by year and area"),
    "summary_note": (
        "各年度名单中的案件按当前状态统计；腾出土地为这些案件兼并重组或腾退关停时腾出的土地",
        "Cases on each year's list by their current status; land freed by those merged or exited",
    ),
    "cases_on_list": ("在列案件", "Cases listed"),
    "new_cases": ("新认定", "New"),
    "subtotal": ("合计", "Total"),
    "no_lists": (
        "暂无您可查看的低效企业名单（分析员用 mujun loweff identify 或 API 认定）",
        "No low-efficiency list visible to you yet (identify with mujun loweff identify or the API)",
    ),
    "history_years": ("历年认定", "Year by year"),
    "events": ("状态变更记录", "Status changes"),
    "change_status": ("变更状态", "Change status"),
    "new_status": ("新状态", "New status"),
    "date": ("日期", "Date"),
    "note": ("说明（方案、文号等）", "Note (plan, document number…)"),
    "actor": ("操作人", "By"),
    "from_to": ("变更", "Change"),
    "done_status": ("状态已变更", "Status changed"),
    "run": ("评价批次", "Run"),
    "rules_used": ("认定规则", "Rules"),
    "closed": ("案件已办结", "The case is closed"),
    "rule": ("认定依据", "Rule"),
    "workflow_note": (
        "流程：已认定 → 已定整治方案 → 提升达标 / 兼并重组 / 腾退关停",
        "identified → plan agreed → upgraded / merged / exited",
    ),
    **{f"st_{k}": v for k, v in STATUS_LABELS.items()},
}


def loweff_translator(lang: str):
    """``t`` for these pages: the shared labels plus the low-efficiency ones."""
    index = 1 if lang == "en" else 0

    def t(key: str, **fmt: object) -> str:
        pair = LOWEFF_LABELS.get(key) or LABELS.get(key)
        text = pair[index] if pair else key
        return text.format(**fmt) if fmt else text

    return t


def _bad(name: str) -> HttpError:
    return HttpError(422, f"参数 {name} 不正确 / invalid parameter {name}")


def _region(request: Request, viewer: Viewer) -> str | None:
    asked = (request.query_params.get("region") or "").strip()
    if not asked:
        return None
    if not (len(asked) == 6 and asked.isdigit()):
        raise _bad("region")
    return asked


def parse_query(request: Request, years: list[int]) -> EntryQuery:
    """The list query from the URL (empty fields mean no filter; 422 for bad values)."""
    p = request.query_params
    get = lambda k: (p.get(k) or "").strip()  # noqa: E731
    year_text = get("year")
    if year_text and not (year_text.isdigit() and len(year_text) == 4):
        raise _bad("year")
    year = int(year_text) if year_text and int(year_text) in years else (years[0] if years else 0)
    status, listed, rule, size = get("status"), get("listed") or "yes", get("rule"), get("size")
    if status and status not in STATUSES:
        raise _bad("status")
    if listed not in ("yes", "no", "all"):
        raise _bad("listed")
    if rule and not (rule.replace("_", "").isalnum() and rule.isascii() and len(rule) <= 64):
        raise _bad("rule")
    if size and size not in ("above", "below"):
        raise _bad("size")
    page_text, size_text = get("page") or "1", get("page_size") or "50"
    if not page_text.isdigit() or not 1 <= int(page_text) <= 100_000:
        raise _bad("page")
    if not size_text.isdigit() or int(size_text) not in PAGE_SIZES:
        raise _bad("page_size")
    return EntryQuery(
        year=year,
        status=status or None,
        listed={"yes": True, "no": False, "all": None}[listed],
        rule=rule or None,
        size=size or None,
        q=get("q")[:100] or None,
        page=int(page_text),
        page_size=int(size_text),
    )


def _params(query: EntryQuery, region: str | None) -> dict[str, Any]:
    listed = {True: None, False: "no", None: "all"}[query.listed]
    return {
        "year": query.year or None,
        "region": region,
        "status": query.status,
        "listed": listed,
        "rule": query.rule,
        "size": query.size,
        "q": query.q,
        "page_size": query.page_size if query.page_size != 50 else None,
    }


def _rules_seen(store: Store, ids: list[int], year: int) -> list[tuple[str, str]]:
    """(code, name) of the rules of the year's visible lists, for the filter."""
    import json

    out: dict[str, str] = {}
    for (body,) in store.rows(
        "SELECT rules_body::VARCHAR FROM loweff_lists WHERE year = ? AND list_contains(?, list_id) "
        "ORDER BY list_id",
        [year, ids],
    ):
        for rule in json.loads(body)["rules"]:
            out.setdefault(rule["code"], rule["name"])
    return list(out.items())


@router.get("/loweff")
def loweff_page(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    """The year's list within the viewer's scope (only the table for htmx requests)."""
    require_result_reader(viewer)
    lang = request_lang(request)[0]
    region = _region(request, viewer)
    cond, params, ids = scoped(store, viewer.user, region)
    years = list_years(store, *scoped(store, viewer.user, None))
    query = parse_query(request, years)
    is_official = viewer.user.role in REGION_ROLES
    context: dict[str, Any] = {
        "t": loweff_translator(lang),
        "years": years,
        "query": query,
        "region": region or viewer.root,
        "params": _params(query, region),
        "tree": tree_for(viewer, query.year or None) if is_official else None,
        "tree_path": "/loweff",
        "choice": None,
        "page_sizes": PAGE_SIZES,
        "total": 0,
        "rows": [],
        "pages": 1,
        "statuses": STATUSES,
        "rules": [],
        "figure_names": FIGURE_NAMES,
        "figs": [],
        "summary": [],
        "status_label": lambda s: status_label(s, lang),
        "is_official": is_official,
    }
    if years:
        total, rows = list_entries(store, query, cond, params, ids)
        context.update(
            total=total,
            rows=rows,
            pages=max(1, -(-total // query.page_size)),
            rules=_rules_seen(store, ids, query.year),
            figs=figure_keys(rows),
        )
        if is_official:
            area = region or viewer.root or PROVINCE_CODE
            context["summary"] = summarise(store, cond, params, ids, area, query.year)
        audit_read(
            request,
            viewer,
            "loweff.read",
            f"pages/loweff?{request.url.query}",
            f"ok: {len(rows)} of {total}",
        )
    name = "_loweff_table.html" if request.headers.get("HX-Request") == "true" else "loweff.html"
    return render(request, name, context, viewer=viewer)


@router.get("/loweff.xlsx")
def loweff_export(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    """The current view (filters, every page) as an Excel workbook; codes as text."""
    require_result_reader(viewer)
    lang = request_lang(request)[0]
    region = _region(request, viewer)
    cond, params, ids = scoped(store, viewer.user, region)
    years = list_years(store, *scoped(store, viewer.user, None))
    if not years:
        raise HttpError(404, "暂无低效企业名单 / no low-efficiency list")
    query = parse_query(request, years)
    total, rows = list_entries(store, query, cond, params, ids, everything=True)
    title = f"低效企业{query.year}" if lang != "en" else f"Low-efficiency {query.year}"
    content = list_workbook(title, rows, lang)
    audit_read(
        request,
        viewer,
        "loweff.export",
        f"pages/loweff.xlsx?{request.url.query}",
        f"ok: {total} rows",
    )
    return xlsx_response(content, f"loweff-{query.year}.xlsx")


def may_change(viewer: Viewer, case: dict[str, Any]) -> bool:
    """Whether the viewer is an analyst whose region covers the case's county."""
    region = data_scope(viewer.user).region
    return (
        viewer.user.role in REGION_ROLES
        and region is not None
        and covers(region, case["county_code"] or PROVINCE_CODE)
    )


def _case_page(
    request: Request,
    store: Store,
    viewer: Viewer,
    case_id: int,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    require_result_reader(viewer)
    lang = request_lang(request)[0]
    case = case_in_scope(store, viewer.user, case_id)
    figs: dict[str, None] = {}
    for e in case["entries"]:
        for k in e["figures"]:
            if k != "land_mu":
                figs.setdefault(k, None)
    context = {
        "t": loweff_translator(lang),
        "case": case,
        "figs": list(figs),
        "figure_names": FIGURE_NAMES,
        "status_label": lambda s: status_label(s, lang),
        "next_statuses": TRANSITIONS.get(case["status"], ()),
        "may_change": may_change(viewer, case),
        "error": error,
        "done": request.query_params.get("done"),
        "today": local_today(request.app.state.clock()).isoformat(),
        "is_official": viewer.user.role != Role.ENTERPRISE,
    }
    audit_read(request, viewer, "loweff.read", f"loweff-case:{case_id}")
    return render(request, "loweff_case.html", context, viewer=viewer, status=status)


@router.get("/loweff/cases/{case_id}")
def case_page(request: Request, viewer: ViewerDep, store: StoreDep, case_id: str) -> Response:
    """One case across years, its status changes, and the status form for analysts."""
    return _case_page(request, store, viewer, parse_id(case_id))


@router.post("/loweff/cases/{case_id}/status")
def case_status(
    request: Request,
    viewer: ViewerDep,
    store: StoreDep,
    case_id: str,
    to: Annotated[str, Form()] = "",
    on: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    land_freed: Annotated[str, Form()] = "",
) -> Response:
    """Move the case to its next status (analysts of its region; audited)."""
    cid = parse_id(case_id)
    if viewer.user.role not in REGION_ROLES:
        raise HttpError(403, "您的角色无权变更案件状态 / your role may not change a case")
    case = case_in_scope(store, viewer.user, cid)
    if not may_change(viewer, case):
        raise HttpError(403, "案件不在您的地区 / the case lies outside your region")
    db: Database = request.app.state.db
    try:
        try:
            day = date.fromisoformat(on.strip())
        except ValueError:
            raise PageRefusal(400, "请填写日期（YYYY-MM-DD）/ a date is required") from None
        land = None
        if land_freed.strip():
            try:
                land = float(land_freed.strip())
            except ValueError:
                raise PageRefusal(400, "腾出土地须为数字 / land freed must be a number") from None
        if len(note) > 2000:
            raise PageRefusal(400, "说明过长 / the note is too long")
        with refusals(), db.writer() as w:
            change_status(
                w,
                cid,
                Transition(to=to, on=day, note=note, land_freed_mu=land),
                actor=viewer.actor(request),
                now=request.app.state.clock(),
            )
    except PageRefusal as exc:
        return _case_page(request, store, viewer, cid, error=exc.message, status=exc.status)
    return RedirectResponse(f"/loweff/cases/{cid}?done=status", status_code=303)

"""Rankings (企业排名): a server-side paged, sorted, filtered list of a run's firms, and its
Excel export of the current view."""

from __future__ import annotations

import functools
import re
from typing import Any

from fastapi import APIRouter, Request, Response

from mujun.reference.industries import industry_name
from mujun.web.deps import StoreDep
from mujun.web.errors import HttpError
from mujun.web.pages.common import (
    ViewerDep,
    audit_read,
    choose_year,
    region_in_view,
    render,
    require_official,
    tree_for,
)
from mujun.web.pages.data import RANKING_SORTS, RankingQuery, ranking_choices, ranking_rows
from mujun.web.pages.excel import Column, xlsx_bytes, xlsx_response
from mujun.web.pages.i18n import class_label, request_lang, translator

router = APIRouter(include_in_schema=False)

PAGE_SIZES = (20, 50, 100)
# Reference data: the same name for a code every time (the filter lists them on every page).
_industry_name = functools.lru_cache(maxsize=4096)(industry_name)
_INDUSTRY = re.compile(r"^[A-T]\d{0,4}$")


def _bad(name: str) -> HttpError:
    return HttpError(422, f"参数 {name} 不正确 / invalid parameter {name}")


def parse_query(request: Request, region: str | None) -> RankingQuery:
    """The rankings query from the URL (empty fields mean no filter; 422 for bad values)."""
    p = request.query_params
    get = lambda k: (p.get(k) or "").strip()  # noqa: E731
    industry, klass, size, sort, order = (
        get(k) for k in ("industry", "class", "size", "sort", "order")
    )
    if industry and not _INDUSTRY.match(industry):
        raise _bad("industry")
    if klass and klass not in ("A", "B", "C", "D", "none"):
        raise _bad("class")
    if size and size not in ("above", "below"):
        raise _bad("size")
    sort = sort or "total"
    if sort not in RANKING_SORTS:
        raise _bad("sort")
    order = order or ("desc" if sort in ("total", "land_mu", "tax_mu") else "asc")
    if order not in ("asc", "desc"):
        raise _bad("order")
    page_text, size_text = get("page") or "1", get("page_size") or "50"
    if not page_text.isdigit() or not 1 <= int(page_text) <= 100_000:
        raise _bad("page")
    if not size_text.isdigit() or int(size_text) not in PAGE_SIZES:
        raise _bad("page_size")
    q, traditional = get("q")[:100], get("traditional")[:50]
    fragile = get("fragile")
    if fragile not in ("", "0", "1"):
        raise _bad("fragile")
    return RankingQuery(
        region=region,
        industry=industry or None,
        traditional=traditional or None,
        klass=klass or None,
        size=size or None,
        q=q or None,
        sort=sort,
        order=order,
        page=int(page_text),
        page_size=int(size_text),
        fragile=fragile == "1",
    )


def _params(query: RankingQuery, year: int | None, region_param: str | None) -> dict[str, Any]:
    """The URL parameters of a view (defaults left out)."""
    return {
        "year": year,
        "region": region_param,
        "industry": query.industry,
        "traditional": query.traditional,
        "class": query.klass,
        "size": query.size,
        "q": query.q,
        "sort": query.sort if query.sort != "total" else None,
        "order": query.order if query.sort != "total" or query.order != "desc" else None,
        "page_size": query.page_size if query.page_size != 50 else None,
        "fragile": 1 if query.fragile else None,
    }


@router.get("/rankings")
def rankings(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    """The rankings page (only the table for htmx requests)."""
    require_official(viewer)
    choice = choose_year(request, store, viewer.scope)
    region = region_in_view(request, viewer)
    query = parse_query(request, region)
    region_param = request.query_params.get("region") or None
    params = _params(query, choice.year, region_param)
    context: dict[str, Any] = {
        "choice": choice,
        "region": region,
        "tree": tree_for(viewer, choice.year),
        "query": query,
        "params": params,
        "page_sizes": PAGE_SIZES,
        "total": 0,
        "rows": [],
        "pages": 0,
        "choices": {"industries": [], "traditional": []},
        "industry_name": _industry_name,
        "sorts": RANKING_SORTS,
    }
    if choice.run is not None:
        total, rows = ranking_rows(store, choice.run.run_id, viewer.scope, query)
        context.update(
            total=total,
            rows=rows,
            pages=max(1, -(-total // query.page_size)),
            choices=ranking_choices(store, choice.run.run_id, viewer.scope),
        )
        audit_read(
            request,
            viewer,
            "results.read",
            f"pages/rankings?run={choice.run.run_id}&{request.url.query}",
            f"ok: {len(rows)} of {total}",
        )
    name = (
        "_rankings_table.html" if request.headers.get("HX-Request") == "true" else "rankings.html"
    )
    return render(request, name, context, viewer=viewer)


def ranking_columns(lang: str) -> list[Column]:
    """The columns of the rankings export."""
    t = translator(lang)
    return [
        Column(t("uscc"), "uscc", 22, text=True),
        Column(t("name"), "name", 36),
        Column(t("county"), "county_name", 12),
        Column(t("industry"), "industry_code", 10, text=True),
        Column(t("traditional"), "traditional_industry", 14),
        Column(t("size"), "size_label", 8),
        Column(t("land_mu"), "land_mu", 12),
        Column(f"{t('tax_mu')}（万元/亩）", "tax_mu", 14),
        Column(t("total"), "total", 10),
        Column(t("class"), "class_label", 16),
        Column(t("rank"), "rank_label", 12),
    ]


@router.get("/rankings.xlsx")
def rankings_export(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    """The current view (filters and sort, every page) as an Excel workbook."""
    require_official(viewer)
    choice = choose_year(request, store, viewer.scope)
    if choice.run is None:
        raise HttpError(404, "该年度暂无评价结果 / no run for this year")
    query = parse_query(request, region_in_view(request, viewer))
    lang = request_lang(request)[0]
    t = translator(lang)
    total, rows = ranking_rows(store, choice.run.run_id, viewer.scope, query, everything=True)
    for r in rows:
        r["size_label"] = t(r["size"]) if r["size"] in ("above", "below") else r["size"]
        r["class_label"] = class_label(r["klass"], lang)
        r["rank_label"] = f"{r['rank']}/{r['cohort_size']}" if r["rank"] else ""
    content = xlsx_bytes(t("rankings"), ranking_columns(lang), rows)
    audit_read(
        request,
        viewer,
        "results.export",
        f"pages/rankings.xlsx?run={choice.run.run_id}&{request.url.query}",
        f"ok: {total} rows",
    )
    return xlsx_response(content, f"rankings-{choice.run.run_id}.xlsx")

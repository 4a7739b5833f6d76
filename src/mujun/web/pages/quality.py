"""Data quality (数据质量): validation issues by department and code, drilling down to the rows;
for the province, analysts (issues naming firms in their region) and each department's uploader
(its own department's issues)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from mujun.reports.common import departments
from mujun.web.deps import StoreDep
from mujun.web.errors import HttpError, forbidden
from mujun.web.pages.common import ViewerDep, audit_read, render, tree_for
from mujun.web.pages.data import QUALITY_ROLES, issue_rows, issue_summary, issue_years
from mujun.web.pages.excel import Column, xlsx_bytes, xlsx_response
from mujun.web.pages.i18n import request_lang, translator

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


def _check_role(viewer) -> None:
    if viewer.user.role not in QUALITY_ROLES:
        raise forbidden("您的角色无权查看数据质量报告 / your role may not read validation reports")


def _year(request: Request, years: list[int]) -> int | None:
    asked = request.query_params.get("year", "")
    return int(asked) if asked.isdigit() and int(asked) in years else (years[0] if years else None)


def _filters(request: Request) -> tuple[str | None, str | None, int]:
    p = request.query_params
    source = (p.get("source") or "")[:40] or None
    code = (p.get("code") or "")[:60] or None
    page = p.get("page") or "1"
    if not page.isdigit() or not 1 <= int(page) <= 100_000:
        raise HttpError(422, "参数 page 不正确 / invalid parameter page")
    return source, code, int(page)


@router.get("/quality")
def quality(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    """Issue counts by department and code, and (with ``source``/``code``) a page of rows."""
    _check_role(viewer)
    years = issue_years(store, viewer.user)
    year = _year(request, years)
    source, code, page = _filters(request)
    summary = issue_summary(store, viewer.user, year) if year else []
    total, rows = (
        issue_rows(store, viewer.user, year, source, code, page, PAGE_SIZE)
        if year and (source or code)
        else (0, [])
    )
    context: dict[str, Any] = {
        "choice": {"years": years, "year": year},
        "params": {"year": year, "source": source, "code": code},
        "tree": tree_for(viewer, year),
        "summary": summary,
        "departments": departments(),
        "source": source,
        "code": code,
        "rows": rows,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
    }
    if source or code:
        audit_read(request, viewer, "issues.read", f"pages/quality?{request.url.query}")
    name = "_quality_rows.html" if request.headers.get("HX-Request") == "true" else "quality.html"
    return render(request, name, context, viewer=viewer)


@router.get("/quality.xlsx")
def quality_export(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    """The issue rows of the current view (all of them) as a workbook; the summary without a
    department or code."""
    _check_role(viewer)
    t = translator(request_lang(request)[0])
    year = _year(request, issue_years(store, viewer.user))
    source, code, _ = _filters(request)
    names = departments()
    if year is None:
        rows: list[dict] = []
    elif source or code:
        rows = issue_rows(store, viewer.user, year, source, code, None, 0)[1]
    else:
        rows = issue_summary(store, viewer.user, year)
    for r in rows:
        r["department"] = names.get(r["source"], r["source"])
    if source or code:
        columns = [
            Column(t("department"), "department", 12),
            Column(t("file"), "file", 28),
            Column(t("row_no"), "row_no", 8),
            Column(t("column"), "column_name", 16),
            Column(t("value"), "value", 20, text=True),
            Column(t("code"), "code", 20),
            Column(t("severity"), "severity", 10),
            Column(t("message"), "message", 50),
            Column(t("uscc"), "uscc", 22, text=True),
        ]
    else:
        columns = [
            Column(t("department"), "department", 12),
            Column(t("code"), "code", 22),
            Column(t("error"), "errors", 10),
            Column(t("warning"), "warnings", 10),
            Column(t("info"), "infos", 10),
            Column(t("count"), "n", 10),
        ]
    content = xlsx_bytes(t("quality"), columns, rows)
    audit_read(request, viewer, "issues.export", f"pages/quality.xlsx?{request.url.query}")
    return xlsx_response(content, f"quality-{year or 'none'}.xlsx")

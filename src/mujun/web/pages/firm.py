"""The enterprise portrait (企业画像): identity, land, indicators against the cohort, the class
and its reasons, history, data-quality issues, and the one-firm sheet (一企一单) to download."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam

from mujun.reference.divisions import division_name
from mujun.reference.industries import industry_name
from mujun.reports import write_enterprise_sheet
from mujun.reports.common import departments
from mujun.web.deps import StoreDep
from mujun.web.errors import not_found
from mujun.web.pages.common import ViewerDep, audit_read, render, require_result_reader
from mujun.web.pages.data import (
    firm_history,
    firm_issues,
    firm_items,
    firm_land,
    firm_register,
    firm_row,
)
from mujun.web.pages.excel import xlsx_response
from mujun.web.pages.i18n import INDICATORS_EN, request_lang, term
from mujun.web.pages.robustness import robustness_context
from mujun.web.queries import visible_run, visible_runs

router = APIRouter(include_in_schema=False)

Uscc = Annotated[str, PathParam(pattern=r"^[0-9A-Z]{18}$", description="统一社会信用代码")]


def _not_found(uscc: str):
    return not_found(f"企业 {uscc}（或不在您的权限范围内）", f"firm {uscc} (or outside your scope)")


@router.get("/firm/{uscc}")
def portrait(request: Request, viewer: ViewerDep, store: StoreDep, uscc: Uscc) -> Response:
    """One firm's portrait in the newest visible run of the selected year (404 outside scope)."""
    require_result_reader(viewer)
    run_ids = [
        r.run_id
        for r, n in visible_runs(store, viewer.scope, in_force_first=True)
        if r.kind == "evaluation"
    ]
    history = firm_history(store, run_ids, viewer.scope, uscc)
    # Each year shows the run in force (published or final) before drafts and superseded runs.
    standing = {run_id: i for i, run_id in enumerate(run_ids)}
    history.sort(key=lambda h: (-h["year"], standing[h["run_id"]]))
    if not history:
        audit_read(request, viewer, "result.read", f"pages/firm/{uscc}", "denied: not visible")
        raise _not_found(uscc)
    by_year: dict[int, dict] = {}
    for h in history:
        by_year.setdefault(h["year"], h)
    years = sorted(by_year, reverse=True)
    asked = request.query_params.get("year", "")
    year = int(asked) if asked.isdigit() and int(asked) in by_year else years[0]
    run_id = by_year[year]["run_id"]
    row = firm_row(store, run_id, viewer.scope, uscc)
    if row is None:  # history is scoped the same way; kept as a guard
        raise _not_found(uscc)
    items = firm_items(store, run_id, uscc, row.get("cohort"))
    register = firm_register(store, year, uscc) or {}
    lang = request_lang(request)[0]
    radar = [
        {
            "name": term(INDICATORS_EN, i["indicator"], i["name"] or i["indicator"], lang),
            "value": round(100 * i["percentile"], 1),
        }
        for i in items
        if i["percentile"] is not None
    ]
    context: dict[str, Any] = {
        "uscc": uscc,
        "row": row,
        "items": items,
        "register": register,
        "land": firm_land(store, year, uscc),
        "history": history,  # every visible run, in force first within a year
        "issues": firm_issues(store, uscc),
        "departments": departments(),
        "county_name": division_name(row["county_code"]) if row.get("county_code") else "",
        "city_name": division_name(row["city_code"]) if row.get("city_code") else "",
        "industry_label": industry_name(row.get("industry_code")) or "",
        "run_id": run_id,
        "choice": {"years": years, "year": year},
        "params": {"year": year},
        "tree": None,
        "radar_json": json.dumps({"radar": radar}, ensure_ascii=False),
        **robustness_context(store, run_id, uscc, request_lang(request)[0]),
    }
    audit_read(request, viewer, "result.read", f"pages/firm/{uscc}?run={run_id}")
    return render(request, "firm.html", context, viewer=viewer)


@router.get("/firm/{uscc}/sheet.xlsx")
def firm_sheet(
    request: Request,
    viewer: ViewerDep,
    store: StoreDep,
    uscc: Uscc,
    run: Annotated[str, Query(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")],
) -> Response:
    """The firm's one-firm sheet (一企一单) of ``run`` as a workbook."""
    require_result_reader(viewer)
    if visible_run(store, viewer.scope, run) is None or not firm_row(
        store, run, viewer.scope, uscc
    ):
        audit_read(request, viewer, "sheet.export", f"pages/firm/{uscc}/sheet?run={run}", "denied")
        raise _not_found(uscc)
    with tempfile.TemporaryDirectory(prefix="mujun-sheet-") as tmp:
        path = write_enterprise_sheet(store, run, uscc, Path(tmp))
        content, name = path.read_bytes(), path.name
    audit_read(request, viewer, "sheet.export", f"pages/firm/{uscc}/sheet?run={run}")
    return xlsx_response(content, name)

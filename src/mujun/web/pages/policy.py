"""The policy ledger pages (差别化政策): totals by area, class and lever, the paged ledger and its
Excel export, applying a preset, and the two partials the portrait and the overview load."""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse

from mujun.auth.audit import record
from mujun.auth.roles import REGION_ROLES
from mujun.auth.scope import covers, region_condition, region_level, scope_condition
from mujun.errors import MujunError
from mujun.policy.ledger import (
    apply_policy,
    latest_application,
    ledger_rows,
    ledger_totals,
    write_ledger_workbook,
)
from mujun.policy.spec import load_policy
from mujun.web.deps import StoreDep
from mujun.web.errors import HttpError, forbidden
from mujun.web.pages.common import (
    ViewerDep,
    audit_read,
    choose_year,
    region_in_view,
    render,
    require_official,
    require_result_reader,
    tree_for,
)
from mujun.web.pages.excel import xlsx_response
from mujun.web.queries import visible_run
from mujun.web.routers.policy import policy_presets
from mujun.workflow.runs import get_run

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
Uscc = Annotated[str, PathParam(pattern=r"^[0-9A-Z]{18}$")]
RunQ = Annotated[str, Query(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]


def _where(viewer, region: str | None) -> tuple[str, list]:
    cond, params = scope_condition(viewer.scope)
    if region:
        c, p = region_condition(region)
        cond, params = f"({cond}) AND {c}", [*params, *p]
    return cond, params


def summarise_levers(totals: list[dict]) -> list[dict]:
    """Totals per lever over classes (firms, not computed, 万元 or quantity)."""
    out: dict[str, dict] = {}
    for t in totals:
        s = out.setdefault(
            t["lever"],
            {
                "lever": t["lever"],
                "lever_name": t["lever_name"],
                "kind": t["kind"],
                "firms": 0,
                "not_computed": 0,
                "amount_wan": None,
                "amount": None,
                "amount_unit": t["amount_unit"],
                "classes": [],
            },
        )
        s["firms"] += t["firms"]
        s["not_computed"] += t["not_computed"]
        if t["class"] not in s["classes"]:
            s["classes"].append(t["class"])
        for key in ("amount_wan", "amount"):
            if t[key] is not None:
                s[key] = (s[key] or 0.0) + t[key]
    return list(out.values())


def by_area(totals: list[dict]) -> list[dict]:
    """Rows per area: firms concerned and the net 万元 per lever."""
    areas: dict[str, dict] = {}
    for t in totals:
        a = areas.setdefault(t["area"], {"area": t["area"], "levers": {}, "net": 0.0})
        lv = a["levers"].setdefault(t["lever"], {"firms": 0, "amount_wan": None, "amount": None})
        lv["firms"] += t["firms"]
        for key in ("amount_wan", "amount"):
            if t[key] is not None:
                lv[key] = (lv[key] or 0.0) + t[key]
        if t["amount_wan"] is not None:
            a["net"] += t["amount_wan"]
    return list(areas.values())


@router.get("/policy")
def policy_page(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    """The ledger of the selected year's run in the region in view."""
    require_official(viewer)
    choice = choose_year(request, store, viewer.scope)
    region = region_in_view(request, viewer)
    page_text = request.query_params.get("page", "1")
    page = int(page_text) if page_text.isdigit() and 0 < int(page_text) <= 100_000 else 1
    klass = (request.query_params.get("class") or "")[:8] or None
    context: dict[str, Any] = {
        "choice": choice,
        "region": region,
        "tree": tree_for(viewer, choice.year),
        "params": {"year": choice.year, "region": request.query_params.get("region") or None},
        "app": None,
        "presets": list(policy_presets()),
        "can_apply": False,
        "klass": klass,
        "page": page,
        "pages": 0,
        "total": 0,
        "rows": [],
        "levers": [],
        "areas": [],
        "lever_names": {},
    }
    if choice.run is None:
        return render(request, "policy.html", context, viewer=viewer)
    run = choice.run
    run_region = run.region or "330000"
    context["can_apply"] = viewer.user.role in REGION_ROLES and covers(
        viewer.root or "", run_region
    )
    app = latest_application(store, run.run_id)
    context["app"] = app
    if app is not None:
        where, params = _where(viewer, region)
        by = "city_code" if region_level(region or "330000") == "province" else "county_code"
        totals = ledger_totals(store, [run.run_id], by=by, where=where, params=params)
        if klass:
            where, params = f'{where} AND "class" = ?', [*params, klass]
        total, rows = ledger_rows(
            store, run.run_id, where=where, params=params, limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )  # fmt: skip
        levers = summarise_levers(totals)
        context.update(
            total=total,
            rows=rows,
            pages=max(1, -(-total // PAGE_SIZE)),
            levers=levers,
            areas=by_area(totals),
            lever_names={lv["lever"]: lv["lever_name"] for lv in levers},
            class_totals=totals,
        )
    audit_read(request, viewer, "policy.read", f"pages/policy?run={run.run_id}&{request.url.query}")
    return render(request, "policy.html", context, viewer=viewer)


@router.post("/policy/apply")
def policy_apply(
    request: Request,
    viewer: ViewerDep,
    store: StoreDep,
    run: Annotated[str, Form(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")],
    preset: Annotated[str, Form(pattern=r"^[A-Za-z0-9_.-]{1,64}$")],
) -> Response:
    """Apply a preset to a run the analyst may act on, then show the ledger."""
    if viewer.user.role not in REGION_ROLES:
        raise forbidden("您的角色不能应用政策 / your role may not apply policies")
    found = visible_run(store, viewer.scope, run)
    if found is None:
        raise HttpError(404, f"未找到评价批次 {run} / run {run} not found")
    ref = get_run(store, run)
    if not covers(viewer.root or "", ref.region):
        raise forbidden(f"批次 {run} 的范围超出您的权限 / the run is beyond your region")
    path = policy_presets().get(preset)
    if path is None:
        raise HttpError(422, f"未知政策预设 {preset} / unknown preset")
    db = request.app.state.db
    try:
        with db.writer() as w:
            summary = apply_policy(w, run, load_policy(path), applied_by=viewer.user.username)
            record(w, viewer.actor(request), request.app.state.clock(), "policy.apply",
                   f"runs/{run}/policy", f"ok: {preset}", after={"rows": summary["rows"]})  # fmt: skip
    except MujunError as exc:
        raise HttpError(422, exc.message) from exc
    return RedirectResponse(f"/policy?year={ref.year}", status_code=303)


@router.get("/policy.xlsx")
def policy_export(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    """The ledger of the region in view (totals, then every row) as a workbook."""
    require_official(viewer)
    choice = choose_year(request, store, viewer.scope)
    if choice.run is None or latest_application(store, choice.run.run_id) is None:
        raise HttpError(404, "该年度暂无政策台账 / no policy ledger for this year")
    region = region_in_view(request, viewer)
    run_id = choice.run.run_id
    app = latest_application(store, run_id)
    assert app is not None
    where, params = _where(viewer, region)
    _, rows = ledger_rows(store, run_id, where=where, params=params)
    totals = ledger_totals(store, [run_id], by="county_code", where=where, params=params)
    buffer = io.BytesIO()
    write_ledger_workbook(buffer, rows, totals, f"{app['name']} · {run_id} · {region or ''}")
    audit_read(request, viewer, "policy.export", f"pages/policy.xlsx?run={run_id}&region={region}")
    return xlsx_response(buffer.getvalue(), f"policy-ledger-{run_id}-{region}.xlsx")


@router.get("/policy/firm/{uscc}")
def firm_policy(
    request: Request, viewer: ViewerDep, store: StoreDep, uscc: Uscc, run: RunQ
) -> Response:
    """The portrait's policy panel: what the firm's class triggers, lever by lever."""
    require_result_reader(viewer)
    cond, params = scope_condition(viewer.scope)
    if visible_run(store, viewer.scope, run) is None or not store.scalar(
        f"SELECT count(*) FROM results WHERE run_id = ? AND uscc = ? AND {cond}",
        [run, uscc, *params],
    ):
        raise HttpError(404, f"未找到企业 {uscc} / firm {uscc} not found")
    app = latest_application(store, run)
    _, rows = ledger_rows(store, run, where="uscc = ?", params=[uscc])
    audit_read(request, viewer, "policy.read", f"pages/policy/firm/{uscc}?run={run}")
    net = sum(r["amount_wan"] for r in rows if r["amount_wan"] is not None)
    return render(
        request, "_firm_policy.html", {"app": app, "rows": rows, "net": net}, viewer=viewer
    )


@router.get("/policy/overview")
def overview_policy(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    """The overview's policy panel: totals per lever in the region in view."""
    require_official(viewer)
    choice = choose_year(request, store, viewer.scope)
    region = region_in_view(request, viewer)
    app = latest_application(store, choice.run.run_id) if choice.run else None
    levers: list[dict] = []
    if app is not None and choice.run is not None:
        where, params = _where(viewer, region)
        levers = summarise_levers(
            ledger_totals(store, [choice.run.run_id], by="", where=where, params=params)
        )
    net = sum(lv["amount_wan"] for lv in levers if lv["amount_wan"] is not None)
    params_out = {"year": choice.year, "region": request.query_params.get("region") or None}
    return render(
        request,
        "_overview_policy.html",
        {"app": app, "levers": levers, "net": net, "params": params_out, "choice": choice},
        viewer=viewer,
    )

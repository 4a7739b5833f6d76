"""The overview (总览) of the viewer's region: key figures, the county map, classes by area and
trends over the years, from the newest visible run of each year."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from mujun.auth.roles import Role
from mujun.auth.scope import region_level
from mujun.reference.divisions import counties, division_name
from mujun.web.deps import SettingsDep, StoreDep
from mujun.web.errors import HttpError, not_found
from mujun.web.pages.common import (
    ViewerDep,
    audit_read,
    choose_year,
    region_in_view,
    render,
    require_official,
    tree_for,
)
from mujun.web.pages.data import CLASSES, evaluation_runs_by_year, region_stats
from mujun.web.pages.excel import Column, xlsx_bytes, xlsx_response
from mujun.web.pages.i18n import class_label, request_lang, translator
from mujun.web.pages.tiles import GRID_COLUMNS, GRID_ROWS, TILES

router = APIRouter(include_in_schema=False)

MAP_INDICATORS = ("a_share", "tax_mu", "va_mu", "evaluated")
GEOJSON_URL = "/geo/counties.geojson"


def load_boundaries(folder: Path | None) -> dict | None:
    """The deployment's county boundaries: the first ``*.geojson``/``*.json`` file in
    ``folder`` whose features carry a 6-digit division code (``code`` or ``adcode``), with the
    code normalised into ``properties.code``; None when there is none."""
    if folder is None or not Path(folder).is_dir():
        return None
    for path in sorted(Path(folder).iterdir()):
        if path.suffix.lower() not in (".geojson", ".json") or not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        features = data.get("features") if isinstance(data, dict) else None
        keyed = []
        for feature in features or []:
            props = feature.get("properties") or {}
            code = str(props.get("code") or props.get("adcode") or "")
            if len(code) == 6 and code.isdigit():
                keyed.append({**feature, "properties": {**props, "code": code}})
        if keyed:
            return {"type": "FeatureCollection", "features": keyed}
    return None


def script_json(data: Any) -> str:
    """JSON safe inside a ``<script type="application/json">`` element."""
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")


def chart_labels(lang: str) -> dict[str, str]:
    """Series and axis names of the overview charts in ``lang``."""
    t = translator(lang)
    labels = {k: t(k) for k in ("a_share", "tax_mu", "va_mu", "firms_evaluated", "year")}
    labels.update({k: class_label(k, lang) for k in CLASSES})
    labels["evaluated"] = labels["firms_evaluated"]
    return labels


def _delta(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return (now - before) / before


def map_data(stats_by_county: dict[str, dict], indicator: str, boundaries: dict | None) -> dict:
    """The map's data: one entry per current county code, valued where the viewer sees data."""
    tiles = []
    for d in counties():
        x, y = TILES[d.code]
        s = stats_by_county.get(d.code)
        tiles.append(
            {
                "code": d.code,
                "name": d.name,
                "city": d.parent,
                "x": x,
                "y": y,
                "value": s.get(indicator) if s else None,
                "in_scope": s is not None,
            }
        )
    return {
        "mode": "choropleth" if boundaries else "tiles",
        "geojson_url": GEOJSON_URL if boundaries else None,
        "indicator": indicator,
        "columns": GRID_COLUMNS,
        "rows": GRID_ROWS,
        "tiles": tiles,
    }


@router.get("/")
def overview(
    request: Request, viewer: ViewerDep, store: StoreDep, settings: SettingsDep
) -> Response:
    """The overview of the region in view for the selected year."""
    role = viewer.user.role
    if role == Role.ENTERPRISE:
        return RedirectResponse("/home", status_code=303)
    if role == Role.DEPARTMENT_UPLOADER:
        return RedirectResponse("/quality", status_code=303)
    if not viewer.reads_results:
        return render(request, "overview.html", {"choice": None, "tree": None}, viewer=viewer)
    choice = choose_year(request, store, viewer.scope)
    region = region_in_view(request, viewer)
    indicator = request.query_params.get("indicator", "a_share")
    if indicator not in MAP_INDICATORS:
        indicator = "a_share"
    context: dict[str, Any] = {
        "choice": choice,
        "region": region,
        "tree": tree_for(viewer, choice.year),
        "indicator": indicator,
        "indicators": MAP_INDICATORS,
        "params": {"year": choice.year, "region": region if region != viewer.root else None},
    }
    if choice.run is None:
        return render(request, "overview.html", context, viewer=viewer)
    # Each county counts from its own latest run of the year (counties may use other rules).
    year_runs = evaluation_runs_by_year(store, viewer.scope)
    runs = year_runs.get(choice.year or 0, [choice.run.run_id])
    run_id = ",".join(runs)
    whole = region_stats(store, runs, viewer.scope, region).get("", None)
    prev_runs = year_runs.get(choice.year - 1) if choice.year else None
    prev = region_stats(store, prev_runs, viewer.scope, region).get("") if prev_runs else None
    by = "city_code" if region_level(region or "") == "province" else "county_code"
    areas = region_stats(store, runs, viewer.scope, region, by=by)
    by_county = region_stats(store, runs, viewer.scope, None, by="county_code")
    boundaries = load_boundaries(settings.geojson_dir)
    trends = []
    for year in sorted(year_runs):
        s = region_stats(store, year_runs[year], viewer.scope, region).get("")
        if s:
            trends.append({"year": year, "shares": s["shares"], "tax_mu": s["tax_mu"]})
    charts = {
        "map": map_data(by_county, indicator, boundaries),
        "areas": [
            {"code": code, "name": division_name(code) or code or "—", "classes": s["classes"]}
            for code, s in areas.items()
        ],
        "trends": trends,
        "region": region,
        "year": choice.year,
        "labels": chart_labels(request_lang(request)[0]),
    }
    deltas = (
        {k: _delta(whole[k], prev[k]) for k in ("tax_mu", "va_mu", "a_share")}
        if whole and prev
        else None
    )
    context.update(
        whole=whole,
        prev=prev,
        prev_year=choice.year - 1 if prev else None,
        combined_runs=runs,
        deltas=deltas,
        areas=areas,
        charts_json=script_json(charts),
        map_mode=charts["map"]["mode"],
    )
    audit_read(request, viewer, "overview.read", f"overview?run={run_id}&region={region}")
    return render(request, "overview.html", context, viewer=viewer)


@router.get("/geo/counties.geojson")
def county_boundaries(viewer: ViewerDep, settings: SettingsDep) -> Response:
    """The deployment's county boundaries for the choropleth (404 when none is configured)."""
    boundaries = load_boundaries(settings.geojson_dir)
    if boundaries is None:
        raise not_found("区县边界数据", "county boundaries")
    return JSONResponse(boundaries, headers={"Cache-Control": "private, max-age=3600"})


@router.get("/overview.xlsx")
def overview_export(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    """The overview's table of areas (counts by class, per-mu totals) as a workbook."""
    require_official(viewer)
    choice = choose_year(request, store, viewer.scope)
    if choice.run is None:
        raise HttpError(404, "该年度暂无评价结果 / no run for this year")
    region = region_in_view(request, viewer)
    by = "city_code" if region_level(region or "") == "province" else "county_code"
    lang = request_lang(request)[0]
    t = translator(lang)
    runs = evaluation_runs_by_year(store, viewer.scope).get(choice.year or 0, [choice.run.run_id])
    rows = []
    for code, s in region_stats(store, runs, viewer.scope, region, by=by).items():
        rows.append(
            {
                "code": code,
                "name": division_name(code) or code,
                "firms": s["firms"],
                "evaluated": s["evaluated"],
                **{k: s["classes"][k] for k in CLASSES},
                "tax_mu": s["tax_mu"],
                "va_mu": s["va_mu"],
            }
        )
    columns = [
        Column("代码" if lang == "zh" else "Code", "code", 10, text=True),
        Column(t("region"), "name", 14),
        Column(t("firms_total"), "firms", 10),
        Column(t("firms_evaluated"), "evaluated", 10),
        *[Column(class_label(k, lang), k, 14) for k in CLASSES],
        Column(f"{t('tax_mu')}（万元/亩）", "tax_mu", 16),
        Column(f"{t('va_mu')}（万元/亩）", "va_mu", 16),
    ]
    audit_read(request, viewer, "overview.export", f"pages/overview.xlsx?run={choice.run.run_id}")
    name = f"overview-{choice.run.run_id}-{region}.xlsx"
    return xlsx_response(xlsx_bytes(t("overview"), columns, rows), name)

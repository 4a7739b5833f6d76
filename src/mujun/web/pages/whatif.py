"""The what-if page (政策模拟): controls for weights, benchmark strategy, item caps, bands and
policy rates; each change re-scores in memory (htmx) and shows who moves class and the fiscal
effect in the region in view. Nothing is written.

The base (the run's firms scored under its rule sets, with its accepted corrections) is built
once per run and kept in memory, so each change takes about a second on a province.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from fastapi import APIRouter, Request, Response

from mujun.errors import MujunError
from mujun.policy.ledger import latest_application
from mujun.policy.spec import PolicySet, class_table, load_policy, parse_policy
from mujun.reference.divisions import division_name
from mujun.reference.industries import industry_name
from mujun.store import Store
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
from mujun.web.routers.policy import policy_presets
from mujun.whatif import (
    Change,
    WhatIfBase,
    base_for_run,
    class_matrix,
    fiscal_effect,
    moves_by,
    simulate,
)

router = APIRouter(include_in_schema=False)
STRATEGIES = ("cohort-ratio-of-totals", "cohort-mean", "cohort-median")
CACHE_SIZE = 2
_lock = threading.Lock()


def _run_policy(store: Store, run_id: str) -> PolicySet | None:
    """The policy set last applied to the run, else the default preset."""
    app = latest_application(store, run_id)
    if app is not None:
        body = store.scalar(
            "SELECT body::VARCHAR FROM policy_sets WHERE policy_hash = ?", [app["policy_hash"]]
        )
        return parse_policy(json.loads(body), f"policy {app['name']}")
    path = policy_presets().get("zhejiang-default")
    return load_policy(path) if path else None


def cached_base(request: Request, store: Store, run_id: str) -> WhatIfBase:
    """The run's what-if base, built once and kept (the newest few) in the app's memory."""
    app = latest_application(store, run_id)
    key = (run_id, app["policy_hash"] if app else "")
    with _lock:
        cache: OrderedDict = getattr(request.app.state, "whatif_bases", None) or OrderedDict()
        request.app.state.whatif_bases = cache
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        base = base_for_run(store, run_id, _run_policy(store, run_id))
        cache[key] = base
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
        return base


def _region_mask(base: WhatIfBase, region: str | None) -> np.ndarray:
    if not region or region.endswith("0000"):
        return np.ones(base.firms.n, bool)
    if region.endswith("00"):
        return np.char.startswith(base.counties, region[:4])
    return base.counties == region


def controls(base: WhatIfBase) -> dict[str, Any]:
    """The base values the form starts from (first rule set; policy of the base)."""
    rules = base.groups[0].rules
    sizes = {}
    for size in ("above", "below"):
        sr = rules.size_rules(size)
        if sr is None:
            continue
        caps = [
            s.cap
            for s in sr.composite.steps
            if getattr(s, "method", None) == "ratio-to-benchmark" and s.cap is not None
        ]
        strategies = [
            s.benchmark.strategy
            for s in sr.composite.steps
            if getattr(s, "method", None) == "ratio-to-benchmark" and s.benchmark is not None
        ]
        sizes[size] = {
            "weights": [(i.code, i.name or i.code, i.weight) for i in sr.composite.indicators],
            "bands": ",".join(f"{b:g}" for b in sr.bands),
            "cap": f"{caps[0]:g}" if caps else "",
            "benchmark": strategies[0] if strategies else "",
        }
    levers = []
    if base.policy is not None:
        for lv in base.policy.levers:
            if lv.kind == "measure":
                continue
            table = class_table(lv)
            levers.append(
                {
                    "code": lv.code,
                    "name": lv.name,
                    "classes": [
                        (k, ",".join(f"{x:g}" for x in (v if isinstance(v, list) else [v])))
                        for k, v in table.items()
                    ],
                }
            )
    return {"sizes": sizes, "levers": levers, "classes": [c.code for c in rules.classes]}


def changes_from_form(request: Request, ctl: dict[str, Any]) -> list[Change]:
    """The settings that differ from the base values, from the form's query parameters."""
    q = request.query_params
    out: list[Change] = []

    def differs(text: str, base: str) -> bool:
        try:
            return [float(x) for x in text.split(",")] != [float(x) for x in base.split(",")]
        except ValueError:
            raise HttpError(422, f"数值不正确 / not a number: {text[:40]}") from None

    for size, s in ctl["sizes"].items():
        for code, _, weight in s["weights"]:
            v = (q.get(f"w_{size}_{code}") or "").strip()
            if v and differs(v, f"{weight:g}"):
                out.append(Change(f"weights.{size}.{code}", v))
        for key in ("bands", "cap"):
            v = (q.get(f"{key}_{size}") or "").strip()
            if v and differs(v, s[key] or "nan"):
                out.append(Change(f"{key}.{size}", v))
        v = (q.get(f"benchmark_{size}") or "").strip()
        if v and v != s["benchmark"]:
            if v not in STRATEGIES:
                raise HttpError(422, f"基准方法不正确 / unknown benchmark strategy {v[:40]}")
            out.append(Change(f"benchmark.{size}", v))
    for lv in ctl["levers"]:
        for klass, rate in lv["classes"]:
            v = (q.get(f"p_{lv['code']}_{klass}") or "").strip()
            if v and differs(v, rate):
                out.append(Change(f"policy.{lv['code']}.{klass}", v))
    return out


@router.get("/whatif")
def whatif_page(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    """The what-if page for the selected year's run (the result for the form's settings)."""
    require_official(viewer)
    choice = choose_year(request, store, viewer.scope)
    region = region_in_view(request, viewer)
    context: dict[str, Any] = {
        "choice": choice,
        "region": region,
        "tree": tree_for(viewer, choice.year),
        "params": {"year": choice.year, "region": request.query_params.get("region") or None},
        "ctl": None,
        "strategies": STRATEGIES,
    }
    if choice.run is not None:
        base = cached_base(request, store, choice.run.run_id)
        ctl = controls(base)
        context.update(ctl=ctl, **_result(request, viewer, base, ctl, region))
        audit_read(request, viewer, "whatif.read", f"pages/whatif?run={choice.run.run_id}")
    return render(request, "whatif.html", context, viewer=viewer)


@router.get("/whatif/result")
def whatif_result(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    """The result panel for the form's settings (htmx swaps it into the page)."""
    require_official(viewer)
    choice = choose_year(request, store, viewer.scope)
    if choice.run is None:
        raise HttpError(404, "该年度暂无评价结果 / no run for this year")
    region = region_in_view(request, viewer)
    base = cached_base(request, store, choice.run.run_id)
    context = _result(request, viewer, base, controls(base), region)
    context.update(choice=choice, region=region)
    audit_read(
        request,
        viewer,
        "whatif.read",
        f"pages/whatif/result?run={choice.run.run_id}&{request.url.query}",
    )
    return render(request, "_whatif_result.html", context, viewer=viewer)


def _result(request: Request, viewer, base: WhatIfBase, ctl: dict, region: str | None) -> dict:
    changes = changes_from_form(request, ctl)
    try:
        result = simulate(base, changes)
    except MujunError as exc:
        return {"error": exc.message, "changes": [str(c) for c in changes]}
    mask = _region_mask(base, region)
    by = base.counties if not region or region.endswith("00") else None
    areas = moves_by(result, by, mask) if by is not None else []
    industries = moves_by(result, base.firms["industry_code"].astype("U3"), mask)
    moved = np.flatnonzero(result.moved & mask)
    names = base.firms["name"]
    movers = [
        {
            "uscc": str(base.firms["uscc"][i]),
            "name": names[i],
            "county": division_name(str(base.counties[i])) or str(base.counties[i]),
            "before": str(result.base_classes[i]),
            "after": str(result.classes[i]),
            "total_before": float(result.base_totals[i]),
            "total_after": float(result.totals[i]),
        }
        for i in moved[:20].tolist()
    ]
    return {
        "result": result,
        "changes": result.changes,
        "n_moved": int(moved.size),
        "n_firms": int(mask.sum()),
        "matrix": class_matrix(result, mask),
        "areas": sorted(areas, key=lambda r: (-r["moved"], r["key"]))[:20],
        "industries": sorted(industries, key=lambda r: (-r["moved"], r["key"]))[:15],
        "movers": movers,
        "fiscal": fiscal_effect(base.amounts, result.amounts, mask),
        "seconds": result.seconds,
        "industry_name": industry_name,
        "division_name": division_name,
    }

"""Low-efficiency tracking through the JSON API and the pages: scoping by role and region,
status changes (and refusals) by analysts with CSRF, the summary, identification, the Excel
export, and the English switch. Hand-made firms from tests/loweff_world.py."""

from __future__ import annotations

import io
import shutil
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from python_calamine import CalamineWorkbook

from mujun.auth import Actor, Role, create_user
from mujun.loweff import identify, load_loweff_rules
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.testing import FakeClock, logged_in_client, post

from .conftest import ROOT
from .loweff_world import USCC, build_world

PASSWORD = "Loweff-pass-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
PRESETS = ROOT / "rules" / "low-efficiency"
ERROR_KEYS = {"ok", "error", "errors", "status"}
NAME = {v: k for k, v in USCC.items()}
ACCOUNTS = {
    "prov": (Role.PROVINCE_ADMIN, {}),
    "huzhou": (Role.CITY_ANALYST, {"scope": "330500"}),
    "wuxing": (Role.COUNTY_ANALYST, {"scope": "330502"}),
    "nanxun": (Role.COUNTY_ANALYST, {"scope": "330503"}),
    "ent_a1": (Role.ENTERPRISE, {"uscc": USCC["A1"]}),
    "ent_h1": (Role.ENTERPRISE, {"uscc": USCC["H1"]}),
    "sysadmin": (Role.SYSTEM_ADMIN, {}),
    "uploader": (Role.DEPARTMENT_UPLOADER, {"department": "tax"}),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Lists: tax under 1万元/亩 for 2022 (province), then Huzhou's 三低 for 2022, 2023 and
    2024 (2024 from a draft run); one account per kind of viewer."""
    base = tmp_path_factory.mktemp("loweff-api")
    db, runs = build_world(base)
    clock = FakeClock(datetime(2025, 6, 1, 2, 0))
    settings = WebSettings(db=db, **FAST_HASH)
    actor = Actor("setup", "cli")
    with open_store(db) as store:
        identify(
            store, 2022, load_loweff_rules(PRESETS / "tax-under-1.yaml"), actor=actor, now=clock()
        )
        huzhou = load_loweff_rules(PRESETS / "huzhou-three-low.yaml")
        for year in (2022, 2023, 2024):
            identify(store, year, huzhou, actor=actor, now=clock())
        cases = {
            NAME[u]: int(c)
            for u, c in store.rows("SELECT uscc, max(case_id) FROM loweff_cases GROUP BY 1")
        }
        for name, (role, attrs) in ACCOUNTS.items():
            create_user(
                store,
                username=name,
                role=role,
                now=clock(),
                actor=actor,
                settings=settings,
                password=PASSWORD,
                must_change_password=False,
                **attrs,
            )
    app = create_app(settings, clock=clock)
    yield {"app": app, "db": db, "cases": cases, "runs": runs, "clock": clock}
    app.state.db.close()


@pytest.fixture(scope="module")
def clients(world):
    out = {}
    for name in ACCOUNTS:
        out[name] = logged_in_client(world["app"], name, PASSWORD)
    return out


@pytest.fixture
def scratch(world, tmp_path):
    """Clients on a throwaway copy of the store, for writes."""
    with world["app"].state.db.writer() as w:
        w.execute("CHECKPOINT")
    db = tmp_path / "copy.duckdb"
    shutil.copy(world["db"], db)
    app = create_app(WebSettings(db=db, **FAST_HASH), clock=FakeClock(datetime(2025, 6, 1, 2)))

    def client_for(name: str) -> TestClient:
        return logged_in_client(app, name, PASSWORD)

    yield client_for
    app.state.db.close()


def listed(client, year: int, **params) -> set[str]:
    res = client.get("/api/v1/loweff/entries", params={"year": year, **params})
    assert res.status_code == 200, res.json()
    return {NAME[r["uscc"]] for r in res.json()["rows"]}


def test_each_role_sees_the_list_within_its_scope(clients):
    assert listed(clients["prov"], 2022) == {"A1", "A3", "B1", "B2", "H1"}
    assert listed(clients["huzhou"], 2022) == {"A1", "A3", "B1", "B2"}
    assert listed(clients["wuxing"], 2022) == {"A1", "A3", "B1"}
    assert listed(clients["nanxun"], 2022) == {"B2"}
    assert listed(clients["ent_a1"], 2022) == {"A1"}
    assert listed(clients["ent_h1"], 2022) == {"H1"}
    assert listed(clients["wuxing"], 2023, listed="false") == {"A1"}
    for name in ("sysadmin", "uploader"):
        res = clients[name].get("/api/v1/loweff/entries?year=2022")
        assert res.status_code == 403 and set(res.json()) == ERROR_KEYS


def test_a_list_from_a_draft_run_is_seen_only_where_the_region_covers_the_run(clients):
    # 2024 was identified from a province draft: the province sees it, a county does not.
    assert listed(clients["prov"], 2024) == {"A2", "A3", "B1"}
    assert listed(clients["huzhou"], 2024) == set()
    assert listed(clients["ent_a1"], 2024) == set()
    years = clients["huzhou"].get("/api/v1/loweff/lists").json()["years"]
    assert years == [2023, 2022]


def test_a_case_is_read_only_within_scope_and_an_enterprise_sees_only_its_own(world, clients):
    a1 = world["cases"]["A1"]
    body = clients["ent_a1"].get(f"/api/v1/loweff/cases/{a1}").json()["case"]
    assert body["uscc"] == USCC["A1"] and body["effective_status"] == "upgraded_by_data"
    assert [(e["year"], e["listed"]) for e in body["entries"]] == [(2022, True), (2023, False)]
    for name, case in (("ent_a1", "A3"), ("nanxun", "A1"), ("wuxing", "B2"), ("ent_h1", "A1")):
        res = clients[name].get(f"/api/v1/loweff/cases/{world['cases'][case]}")
        assert res.status_code == 404 and set(res.json()) == ERROR_KEYS
    assert clients["sysadmin"].get(f"/api/v1/loweff/cases/{a1}").status_code == 403


def test_region_filters_outside_the_scope_are_refused(clients):
    res = clients["wuxing"].get("/api/v1/loweff/entries?year=2022&region=330503")
    assert res.status_code == 403 and set(res.json()) == ERROR_KEYS
    assert listed(clients["huzhou"], 2022, region="330503") == {"B2"}
    assert clients["ent_a1"].get("/api/v1/loweff/summary").status_code == 403


def test_the_summary_counts_cases_per_county_of_the_city(clients):
    rows = clients["huzhou"].get("/api/v1/loweff/summary?year=2022").json()["rows"]
    by = {r["area"]: r for r in rows}
    assert set(by) == {None, "330502", "330503"}
    assert (by[None]["cases"], by["330502"]["cases"], by["330503"]["cases"]) == (4, 3, 1)
    # A1 and B2 left the list in 2023; A3 and B1 are still listed.
    assert (by[None]["identified"], by[None]["upgraded_by_data"]) == (2, 2)


def test_analysts_change_a_case_in_their_region_and_illegal_moves_are_refused(world, scratch):
    b1, b2 = world["cases"]["B1"], world["cases"]["B2"]
    wuxing = scratch("wuxing")
    step = {"to": "plan_agreed", "date": "2025-01-10", "note": "整治方案已批复"}
    res = post(wuxing, f"/api/v1/loweff/cases/{b2}/status", step)
    assert res.status_code == 404  # Nanxun's firm is not Wuxing's business
    res = post(
        wuxing, f"/api/v1/loweff/cases/{b1}/status", {**step, "to": "exited", "land_freed_mu": 12}
    )
    assert res.status_code == 409 and set(res.json()) == ERROR_KEYS
    assert "只能改为「已定整治方案」" in res.json()["error"]
    res = wuxing.post(f"/api/v1/loweff/cases/{b1}/status", json=step)  # no CSRF header
    assert res.status_code == 403
    res = post(wuxing, f"/api/v1/loweff/cases/{b1}/status", step)
    assert res.status_code == 200, res.json()
    assert res.json()["case"]["status"] == "plan_agreed"
    res = post(
        wuxing,
        f"/api/v1/loweff/cases/{b1}/status",
        {"to": "exited", "date": "2025-03-01", "note": "腾退", "land_freed_mu": 13},
    )
    assert res.status_code == 400 and "exceeds the firm's land" in res.json()["error"]
    res = post(
        wuxing,
        f"/api/v1/loweff/cases/{b1}/status",
        {"to": "exited", "date": "2025-03-01", "note": "腾退", "land_freed_mu": 12},
    )
    assert res.status_code == 200 and res.json()["case"]["land_freed_mu"] == 12
    summary = wuxing.get("/api/v1/loweff/summary?year=2023").json()["rows"]
    assert next(r for r in summary if r["area"] is None)["land_freed_mu"] == 12
    audit = scratch("prov")  # the province administrator reads nothing of the audit log here
    for name in ("ent_a1", "sysadmin", "uploader"):
        assert post(scratch(name), f"/api/v1/loweff/cases/{b1}/status", step).status_code == 403
    assert audit.get(f"/api/v1/loweff/cases/{b1}").json()["case"]["events"][1]["actor"] == "wuxing"


def test_identification_through_the_api_needs_a_region_covering_the_list(scratch):
    body = {"year": 2023, "rules": "huzhou-three-low"}
    assert post(scratch("wuxing"), "/api/v1/loweff/identify", body).status_code == 403
    res = post(scratch("huzhou"), "/api/v1/loweff/identify", body)
    assert res.status_code == 201, res.json()
    report = res.json()["report"]
    assert (report["region"], report["listed"], report["new_cases"]) == ("330500", 3, 0)
    res = post(scratch("huzhou"), "/api/v1/loweff/identify", {"year": 2023, "rules": "nope"})
    assert res.status_code == 400 and "huzhou-three-low.yaml" in res.json()["error"]


def test_the_page_lists_the_scope_and_exports_it_with_codes_as_text(clients):
    page = clients["wuxing"].get("/loweff?year=2022", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "低效企业名单" in page.text and "导出Excel" in page.text
    shown = {n for n, u in USCC.items() if u in page.text}
    assert shown == {"A1", "A3", "B1"}
    assert 'id="loweff-summary"' in page.text and "吴兴区" in page.text
    res = clients["wuxing"].get("/loweff.xlsx?year=2022&listed=all")
    assert res.status_code == 200
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(res.content)).get_sheet_by_name(
        "低效企业2022"
    )
    rows = sheet.to_python()
    head = rows[0]
    codes = [r[head.index("统一社会信用代码")] for r in rows[1:]]
    assert sorted(codes) == sorted(USCC[k] for k in ("A1", "A3", "B1"))
    assert all(isinstance(c, str) for c in codes)
    a3 = next(r for r in rows[1:] if r[2] == USCC["A3"])
    assert a3[head.index("亩均税收（万元/亩）")] == pytest.approx(0.8)
    en = clients["wuxing"].get("/loweff?year=2022&lang=en", headers={"accept": "text/html"})
    assert "Low-efficiency list" in en.text and "Export Excel" in en.text


def test_an_enterprise_page_shows_its_own_case_only(world, clients):
    page = clients["ent_a1"].get("/loweff?year=2022", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert {n for n, u in USCC.items() if u in page.text} == {"A1"}
    assert 'id="loweff-summary"' not in page.text
    case = clients["ent_a1"].get(f"/loweff/cases/{world['cases']['A1']}")
    assert (
        case.status_code == 200
        and "数据达标出列" in case.text
        and 'id="status-form"' not in case.text
    )
    assert clients["ent_a1"].get(f"/loweff/cases/{world['cases']['A3']}").status_code == 404


def test_the_status_form_posts_with_the_csrf_field_and_shows_refusals(world, scratch):
    client = scratch("huzhou")
    case = world["cases"]["B2"]
    page = client.get(f"/loweff/cases/{case}", headers={"accept": "text/html"})
    assert 'id="status-form"' in page.text
    token = client.cookies["mujun_csrf"]
    form = {"csrf_token": token, "to": "upgraded", "on": "2025-02-01", "note": "x"}
    res = client.post(f"/loweff/cases/{case}/status", data=form, follow_redirects=False)
    assert res.status_code == 409 and "只能改为「已定整治方案」" in res.text
    res = client.post(
        f"/loweff/cases/{case}/status", data={**form, "to": "plan_agreed"}, follow_redirects=False
    )
    assert res.status_code == 303
    res = client.post(f"/loweff/cases/{case}/status", data={**form, "csrf_token": ""})
    assert res.status_code == 403
    page = client.get(f"/loweff/cases/{case}?done=status", headers={"accept": "text/html"})
    assert "状态已变更" in page.text and "已定整治方案" in page.text

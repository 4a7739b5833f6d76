"""The server-rendered pages: login, overview with the county map, rankings with filters and
Excel export, enterprise portraits, data quality, scoping, the English switch, and no CDN."""

from __future__ import annotations

import io
import json
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from python_calamine import CalamineWorkbook

from mujun.auth import Actor, Role, create_user
from mujun.reference import counties
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.demo import busiest_county
from mujun.web.pages import mount_vendor
from mujun.web.pages.tiles import TILES
from mujun.web.security import CSRF_COOKIE
from mujun.web.testing import FakeClock, form_login, logged_in_client

PASSWORD = "Pages-pass-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
YEARS = (2022, 2023)


def _build_store(db, data_dir) -> dict[int, str]:
    """A small province, ingested, validated and evaluated for two years; the run per year."""
    from mujun.demo import generate_province
    from mujun.evaluation import evaluate
    from mujun.ingest import ingest_directory, load_profiles
    from mujun.rules import load_rules
    from mujun.settings import default_rules_dir
    from mujun.validate import validate_year

    rules_dir = default_rules_dir()
    generate_province(data_dir, enterprises=1000, years=YEARS, seed=11, fmt="csv")
    profiles = load_profiles(rules_dir / "sources")
    rule_set = load_rules(rules_dir / "zhejiang-default.yaml")
    runs = {}
    with open_store(db) as store:
        for year in YEARS:
            ingest_directory(store, data_dir / str(year), year, profiles)
            validate_year(store, year, profiles)
            runs[year] = evaluate(store, year, rules=rule_set).run_id
    return runs


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("pages")
    db = base / "p.duckdb"
    runs = _build_store(db, base / "data")
    settings = WebSettings(db=db, **FAST_HASH)
    clock = FakeClock()
    with open_store(db) as store:
        store.execute("UPDATE runs SET status = 'published'")
        county, city = busiest_county(store, 2023)
        own = store.scalar(
            "SELECT min(uscc) FROM results WHERE run_id = ? AND class <> '' AND county_code = ?",
            [runs[2023], county],
        )
        other = store.scalar(
            "SELECT min(uscc) FROM results WHERE run_id = ? AND county_code <> ?",
            [runs[2023], county],
        )
        accounts = [
            ("prov", Role.PROVINCE_ADMIN, {}),
            ("county", Role.COUNTY_ANALYST, {"scope": county}),
            ("uploader", Role.DEPARTMENT_UPLOADER, {"department": "land"}),
            ("sysadmin", Role.SYSTEM_ADMIN, {}),
            (own, Role.ENTERPRISE, {"uscc": own}),
        ]
        for name, role, attrs in accounts:
            create_user(
                store,
                username=name,
                role=role,
                now=clock(),
                actor=Actor("setup", "cli"),
                settings=settings,
                password=PASSWORD,
                must_change_password=False,
                **attrs,
            )
        create_user(
            store,
            username="newcomer",
            role=Role.COUNTY_ANALYST,
            now=clock(),
            actor=Actor("setup", "cli"),
            settings=settings,
            scope=county,
            password=PASSWORD,
            must_change_password=True,
        )
    app = create_app(settings, clock=clock)
    clients = {
        name: logged_in_client(app, name, PASSWORD, form=True)
        for name in ("prov", "county", "uploader", "sysadmin", own)
    }
    yield {
        "app": app,
        "runs": runs,
        "county": county,
        "city": city,
        "own": own,
        "other": other,
        "clients": clients,
        "settings": settings,
    }
    app.state.db.close()


def _sql(world, sql, params=None):
    world["app"].state.db.flush_audit()  # the reads logged so far (audit_delay_ms) first
    with world["app"].state.db.reader() as r:
        return r.rows(sql, params)


def _get(world, user, path, **params):
    res = world["clients"][user].get(path, params=params)
    assert res.status_code == 200, (path, res.status_code, res.text[:500])
    return res


def _charts(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="charts-data">(.*?)</script>', html)
    assert found, "no chart data on the page"
    return json.loads(found.group(1))


def _firm_codes(html: str) -> set[str]:
    return set(re.findall(r'href="/firm/([0-9A-Z]{18})', html))


def _xlsx_rows(content: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()


def test_pages_send_a_visitor_without_a_session_to_the_login_page(world):
    client = TestClient(world["app"])
    for path in ("/", "/rankings?class=A", "/quality", f"/firm/{world['own']}"):
        res = client.get(path, follow_redirects=False)
        assert res.status_code == 303 and res.headers["location"].startswith("/login"), path
    assert client.get("/rankings?class=A").url.path == "/login"
    assert (
        "next=/rankings%3Fclass%3DA"
        in client.get("/rankings?class=A", follow_redirects=False).headers["location"]
    )


def test_the_login_form_shows_a_wrong_password_and_refuses_a_missing_csrf_token(world):
    client = TestClient(world["app"])
    page = client.get("/login")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text and "登录" in page.text
    wrong = form_login(client, "county", "Not-the-password-1")
    assert wrong.status_code == 401 and "用户名或口令错误" in wrong.text
    no_token = client.post("/login", data={"username": "county", "password": PASSWORD})
    assert no_token.status_code == 403
    ok = form_login(client, "county", PASSWORD, next="/rankings")
    assert ok.status_code == 303 and ok.headers["location"] == "/rankings"
    assert (
        form_login(
            TestClient(world["app"]), "county", PASSWORD, next="https://evil.example/"
        ).headers["location"]
        == "/"
    )


def test_a_forced_password_change_comes_before_every_page(world):
    client = TestClient(world["app"])
    res = form_login(client, "newcomer", PASSWORD)
    assert res.headers["location"] == "/password"
    assert client.get("/rankings", follow_redirects=False).headers["location"] == "/password"
    form = client.get("/password")
    assert form.status_code == 200 and "修改口令" in form.text
    token = client.cookies[CSRF_COOKIE]
    differ = client.post(
        "/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "Brand-new-pass-2031",
            "confirm_password": "Other-pass-2031",
        },
    )
    assert differ.status_code == 400 and "不一致" in differ.text
    done = client.post(
        "/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "Brand-new-pass-2031",
            "confirm_password": "Brand-new-pass-2031",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert client.get("/rankings").status_code == 200


def test_every_page_renders_for_a_county_analyst_in_chinese_with_only_its_county(world):
    county, run = world["county"], world["runs"][2023]
    overview = _get(world, "county", "/").text
    assert "总览" in overview and "参评企业" in overview and "行政区划" in overview
    assert "退出" in overview and "县级分析员" in overview
    rankings = _get(world, "county", "/rankings", page_size=100).text
    assert "查询" in rankings and "重置" in rankings and "导出Excel" in rankings
    want = {
        r[0]
        for r in _sql(
            world,
            "SELECT uscc FROM results WHERE run_id = ? AND county_code = ? "
            "ORDER BY total DESC NULLS LAST, uscc LIMIT 100",
            [run, county],
        )
    }
    assert _firm_codes(rankings) == want
    everywhere = {
        r[0] for r in _sql(world, "SELECT uscc FROM results WHERE county_code <> ?", [county])
    }
    assert not _firm_codes(rankings) & everywhere
    # The region tree holds the county alone.
    assert re.findall(r'class="lvl-(\w+)', overview) == ["county"]
    portrait = _get(world, "county", f"/firm/{world['own']}").text
    assert "企业画像" in portrait and "同组" in portrait and "一企一单" in portrait
    quality = _get(world, "county", "/quality").text
    assert "数据质量" in quality and "导出Excel" in quality


def test_a_county_analyst_cannot_open_another_county_or_its_firms(world):
    client = world["clients"]["county"]
    other_county = next(d.code for d in counties() if d.code != world["county"])
    assert client.get("/", params={"region": other_county}).status_code == 403
    assert client.get("/rankings", params={"region": world["city"]}).status_code == 403
    assert client.get(f"/firm/{world['other']}").status_code == 404
    sheet = client.get(f"/firm/{world['other']}/sheet.xlsx", params={"run": world["runs"][2023]})
    assert sheet.status_code == 404


def test_an_enterprise_opens_its_own_portrait_and_nothing_else(world):
    client = world["clients"][world["own"]]
    home = client.get("/", follow_redirects=False)
    assert home.headers["location"] == "/home"
    own = client.get(f"/firm/{world['own']}")
    assert (
        own.status_code == 200 and world["own"] in own.text and 'class="regiontree"' not in own.text
    )
    assert client.get(f"/firm/{world['other']}").status_code == 404
    assert client.get("/rankings").status_code == 403
    assert client.get("/quality").status_code == 403
    sheet = client.get(f"/firm/{world['own']}/sheet.xlsx", params={"run": world["runs"][2023]})
    assert sheet.status_code == 200 and sheet.content[:2] == b"PK"
    rows = _xlsx_rows(sheet.content)
    assert any(world["own"] in [str(c) for c in row] for row in rows)


def test_the_overview_map_holds_exactly_the_90_current_county_codes(world):
    data = _charts(_get(world, "prov", "/").text)
    codes = [t["code"] for t in data["map"]["tiles"]]
    assert len(codes) == len(set(codes)) == 90
    assert set(codes) == {d.code for d in counties()} == set(TILES)
    assert "330103" not in codes and "330104" not in codes
    assert data["map"]["mode"] == "tiles"
    county_view = _charts(_get(world, "county", "/").text)["map"]["tiles"]
    assert [t["code"] for t in county_view if t["in_scope"]] == [world["county"]]
    assert all(t["value"] is None for t in county_view if not t["in_scope"])


def test_the_overview_compares_totals_over_totals_with_last_year(world):
    html = _get(world, "prov", "/", year=2023).text
    for year, run in world["runs"].items():
        tax, land = _sql(
            world,
            "SELECT sum(f.tax_paid), sum(r.land_mu) FROM results r JOIN facts f "
            "ON f.year = r.year AND f.uscc = r.uscc WHERE r.run_id = ? AND r.status = 'evaluated' "
            "AND r.size = 'above' AND r.land_mu > 0 AND f.tax_paid IS NOT NULL",
            [run],
        )[0]
        assert f"{tax / land:,.2f}" in html, year
    assert "较上年（2022" in html
    trends = _charts(html)["trends"]
    assert [t["year"] for t in trends] == [2022, 2023]
    cities = [a["name"] for a in _charts(html)["areas"] if a["code"]]
    assert len(cities) == 11 and all(name.endswith("市") for name in cities)


def test_rankings_filters_and_pages_return_what_sql_counts(world):
    run, county = world["runs"][2023], world["county"]
    tradition = _sql(
        world,
        "SELECT e.traditional_industry FROM results r JOIN enterprises e "
        "ON e.year = r.year AND e.uscc = r.uscc WHERE r.run_id = ? "
        "AND e.traditional_industry IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
        [run],
    )[0][0]
    cases = [
        ({}, "TRUE", []),
        ({"region": county}, "r.county_code = ?", [county]),
        ({"industry": "C17"}, "r.industry_code LIKE 'C17%'", []),
        ({"traditional": tradition}, "e.traditional_industry = ?", [tradition]),
        ({"class": "A", "size": "above"}, "r.class = 'A' AND r.size = 'above'", []),
        ({"class": "none"}, "r.class = ''", []),
    ]
    for query, cond, params in cases:
        want = _sql(
            world,
            "SELECT count(*) FROM results r LEFT JOIN enterprises e "
            f"ON e.year = r.year AND e.uscc = r.uscc WHERE r.run_id = ? AND {cond}",
            [run, *params],
        )[0][0]
        html = _get(world, "prov", "/rankings", page_size=20, **query).text
        total = int(re.search(r'id="rankings-table" data-total="(\d+)"', html).group(1))
        assert total == want > 0, query
        assert len(_firm_codes(html)) == min(20, want)
    # Paging by htmx: pages do not overlap and cover the list in order.
    client = world["clients"]["prov"]
    seen = []
    for page in (1, 2, 3):
        part = client.get(
            "/rankings", params={"page": page, "page_size": 20}, headers={"HX-Request": "true"}
        )
        assert part.status_code == 200 and "<html" not in part.text
        seen += re.findall(r'href="/firm/([0-9A-Z]{18})', part.text)
    want = [
        r[0]
        for r in _sql(
            world,
            "SELECT uscc FROM results WHERE run_id = ? ORDER BY total DESC NULLS LAST, uscc LIMIT 60",
            [run],
        )
    ]
    assert seen == want
    names = re.findall(
        r'<td><a href="/firm/[^"]+">([^<]+)</a>', _get(world, "prov", "/rankings", sort="name").text
    )
    assert names == sorted(names)


def test_the_excel_export_of_a_filtered_view_has_exactly_those_rows_with_codes_as_text(world):
    run = world["runs"][2023]
    res = _get(world, "prov", "/rankings.xlsx", **{"class": "B", "size": "below"})
    assert res.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = _xlsx_rows(res.content)
    assert rows[0][0] == "统一社会信用代码"
    want = {
        r[0]
        for r in _sql(
            world,
            "SELECT uscc FROM results WHERE run_id = ? AND class = 'B' AND size = 'below'",
            [run],
        )
    }
    codes = [r[0] for r in rows[1:]]
    assert len(codes) == len(want) and set(codes) == want
    assert all(isinstance(c, str) and len(c) == 18 for c in codes)
    assert {r[9] for r in rows[1:]} == {"B类 提升发展"}
    with world["app"].state.db.reader() as r:
        entry = r.rows(
            "SELECT result FROM audit_log WHERE actor = 'prov' AND action = 'results.export' "
            "ORDER BY seq DESC LIMIT 1"
        )
    assert entry and entry[0][0] == f"ok: {len(want)} rows"


def test_no_page_loads_a_script_or_stylesheet_from_another_site(world):
    pages = [
        ("prov", "/"),
        ("prov", "/rankings"),
        ("prov", "/quality"),
        ("prov", f"/firm/{world['own']}"),
        ("county", "/"),
        (world["own"], f"/firm/{world['own']}"),
    ]
    htmls = [_get(world, user, path).text for user, path in pages]
    htmls.append(TestClient(world["app"]).get("/login").text)
    for html in htmls:
        for tag in re.findall(r"<(?:script|link)\b[^>]*>", html):
            assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", tag), tag
    assert "/assets/app/app.js" in htmls[0]


def test_the_installed_front_end_libraries_are_served_locally_when_present(world):
    vendor = world["app"].state.vendor_assets
    client = world["clients"]["prov"]
    for url in (u for u in vendor.values() if u):
        assert client.get(url).status_code == 200
    assert client.get("/assets/app/app.css").status_code == 200


def test_pages_say_where_charts_would_be_without_node_modules(world, tmp_path):
    assert mount_vendor(FastAPI(), tmp_path) == {"echarts": None, "htmx": None}
    state = world["app"].state
    installed, state.vendor_assets = state.vendor_assets, mount_vendor(FastAPI(), tmp_path)
    try:
        html = _get(world, "prov", "/").text
    finally:
        state.vendor_assets = installed
    assert "图表组件未安装" in html and "/assets/vendor/" not in html


def test_a_configured_geojson_directory_switches_the_map_to_a_choropleth(world, tmp_path):
    def square(code, x):
        ring = [[x, 30], [x + 0.2, 30], [x + 0.2, 30.2], [x, 30.2], [x, 30]]
        return {
            "type": "Feature",
            "properties": {"code": code},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }

    geo = {
        "type": "FeatureCollection",
        "features": [
            square(c, 120 + i) for i, c in enumerate(("330102", "330105", world["county"]))
        ],
    }
    (tmp_path / "counties.geojson").write_text(json.dumps(geo), encoding="utf-8")
    assert _charts(_get(world, "prov", "/").text)["map"]["mode"] == "tiles"
    assert world["clients"]["prov"].get("/geo/counties.geojson").status_code == 404
    state = world["app"].state
    state.settings = world["settings"].model_copy(update={"geojson_dir": tmp_path})
    try:
        html = _get(world, "prov", "/").text
        served = _get(world, "prov", "/geo/counties.geojson").json()
    finally:
        state.settings = world["settings"]
    data = _charts(html)["map"]
    assert data["mode"] == "choropleth" and data["geojson_url"] == "/geo/counties.geojson"
    assert "边界数据由本部署提供" in html
    assert [f["properties"]["code"] for f in served["features"]] == [
        "330102",
        "330105",
        world["county"],
    ]
    assert (
        TestClient(world["app"]).get(data["geojson_url"], follow_redirects=False).status_code == 303
    )


def test_the_english_switch_changes_the_chrome_and_the_column_headers(world):
    client = logged_in_client(world["app"], "prov", PASSWORD, form=True)
    zh = client.get("/rankings").text
    assert "统一社会信用代码" in zh and "企业名称" in zh
    en = client.get("/rankings", params={"lang": "en"}).text
    assert "Credit code" in en and "Name" in en and "Log out" in en and "Rankings" in en
    assert "统一社会信用代码" not in en
    # The choice is kept in a cookie for the next pages.
    assert "Overview" in client.get("/").text
    assert "总览" in client.get("/", params={"lang": "zh"}).text


def test_the_quality_page_drills_down_from_department_and_code_to_rows(world):
    summary = _get(world, "uploader", "/quality").text
    assert "自然资源" in summary and "统计" not in summary.split('id="quality-summary"')[1]
    code, n = _sql(
        world,
        "SELECT code, count(*) FROM issues WHERE year = 2023 AND source = 'land' "
        "GROUP BY code ORDER BY count(*) DESC, code LIMIT 1",
    )[0]
    rows = _get(world, "uploader", "/quality", source="land", code=code, year=2023).text
    assert f'id="issue-table" data-total="{n}"' in rows
    export = _get(world, "uploader", "/quality.xlsx", source="land", code=code, year=2023)
    assert len(_xlsx_rows(export.content)) == n + 1
    assert world["clients"]["sysadmin"].get("/quality").status_code == 403


def test_an_administrator_sees_the_chrome_but_no_evaluation_data(world):
    html = _get(world, "sysadmin", "/").text
    assert "您的角色不查看评价数据" in html and "charts-data" not in html
    assert world["clients"]["sysadmin"].get("/rankings").status_code == 403


def test_the_tile_layout_places_each_current_county_on_its_own_square():
    assert set(TILES) == {d.code for d in counties()}
    assert len(set(TILES.values())) == len(TILES) == 90

"""The overview of a city or the province combines, per county, that county's latest visible run
of the year, even when counties evaluated with different rule sets in different runs."""

from __future__ import annotations

import json
import re

import pytest

from mujun.auth import Actor, Role, create_user
from mujun.evaluation import evaluate
from mujun.rules import load_rules
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.demo import build_demo_store, busiest_county
from mujun.web.testing import FakeClock, logged_in_client

from .conftest import ROOT

PASSWORD = "Combine-pass-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
PER_MU = "r.status = 'evaluated' AND r.size = 'above' AND r.land_mu > 0"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A province-wide published run, then two counties of one city evaluated again, each with
    its own rule set (the default, and a variant with another name and version), published."""
    base = tmp_path_factory.mktemp("combined")
    db = base / "c.duckdb"
    province_run = build_demo_store(db, base / "data", enterprises=800)
    default = ROOT / "rules" / "zhejiang-default.yaml"
    variant = base / "variant.yaml"
    variant.write_text(
        default.read_text(encoding="utf-8")
        .replace('version: "2023.1"', 'version: "2023.1-variant"')
        .replace("name: 浙江省工业企业亩均效益综合评价（默认规则）", "name: 某县亩均评价细则"),
        encoding="utf-8",
    )
    settings = WebSettings(db=db, **FAST_HASH)
    clock = FakeClock()
    with open_store(db) as store:
        k1, city = busiest_county(store)
        k2 = store.scalar(
            "SELECT county_code FROM results WHERE run_id = ? AND city_code = ? "
            "AND county_code <> ? GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
            [province_run, city, k1],
        )
        run1 = evaluate(store, 2023, rules=load_rules(default), region=k1).run_id
        run2 = evaluate(store, 2023, rules=load_rules(variant), region=k2).run_id
        store.execute("UPDATE runs SET status = 'published'")
        for name, role, attrs in (
            ("prov", Role.PROVINCE_ADMIN, {}),
            ("city", Role.CITY_ANALYST, {"scope": city}),
        ):
            create_user(
                store,
                username=name,
                role=role,
                now=clock(),
                actor=Actor("test", "cli"),
                settings=settings,
                password=PASSWORD,
                must_change_password=False,
                **attrs,
            )
    app = create_app(settings, clock=clock)
    clients = {}
    for name in ("prov", "city"):
        clients[name] = logged_in_client(app, name, PASSWORD)
    yield {
        "app": app,
        "clients": clients,
        "runs": {"province": province_run, "k1": run1, "k2": run2},
        "regions": {"k1": k1, "k2": k2, "city": city},
    }
    app.state.db.close()


def _sql(world, sql, params=None):
    with world["app"].state.db.reader() as r:
        return r.rows(sql, params)


def _charts(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="charts-data">(.*?)</script>', html)
    assert found, "no chart data on the page"
    return json.loads(found.group(1))


def _combined(world, where: str, params: list) -> list[tuple]:
    """Per county: firms, evaluated, classes A–D and per-mu totals from its own run (k1 and
    k2 from their county runs, every other county from the province run)."""
    runs, regions = world["runs"], world["regions"]
    return _sql(
        world,
        "WITH picked AS (SELECT * FROM results r WHERE (r.run_id = ? AND r.county_code = ?) "
        "OR (r.run_id = ? AND r.county_code = ?) "
        "OR (r.run_id = ? AND r.county_code IS DISTINCT FROM ? "
        "AND r.county_code IS DISTINCT FROM ?)) "
        "SELECT count(*), count(*) FILTER (r.status = 'evaluated'), "
        "count(*) FILTER (r.class = 'A'), count(*) FILTER (r.class = 'B'), "
        "count(*) FILTER (r.class = 'C'), count(*) FILTER (r.class = 'D'), "
        f"sum(f.tax_paid) FILTER ({PER_MU} AND f.tax_paid IS NOT NULL), "
        f"sum(r.land_mu) FILTER ({PER_MU} AND f.tax_paid IS NOT NULL), "
        f"sum(f.value_added) FILTER ({PER_MU} AND f.value_added IS NOT NULL), "
        f"sum(r.land_mu) FILTER ({PER_MU} AND f.value_added IS NOT NULL) "
        "FROM picked r LEFT JOIN facts f ON f.year = r.year AND f.uscc = r.uscc "
        f"WHERE {where}",
        [
            runs["k1"],
            regions["k1"],
            runs["k2"],
            regions["k2"],
            runs["province"],
            regions["k1"],
            regions["k2"],
            *params,
        ],
    )[0]


def test_the_two_county_runs_use_different_rule_sets(world):
    hashes = _sql(
        world,
        "SELECT DISTINCT rules_hash FROM runs WHERE run_id IN (?, ?)",
        [world["runs"]["k1"], world["runs"]["k2"]],
    )
    assert len(hashes) == 2


@pytest.mark.parametrize(("user", "region"), [("city", "city"), ("prov", None)])
def test_the_overview_combines_each_countys_latest_run(world, user, region):
    code = world["regions"]["city"] if region else None
    params = {"region": code} if code else {}
    res = world["clients"][user].get("/", params=params)
    assert res.status_code == 200, res.text[:300]
    html = res.text
    where, args = ("r.city_code = ?", [code]) if code else ("TRUE", [])
    firms, evaluated, a, b, c, d, tax, tax_land, va, va_land = _combined(world, where, args)
    # Firms of k1 and k2 are counted once, from their own county's run.
    assert f'<span class="big">{evaluated}</span>' in html
    assert re.search(rf'<span class="muted">[^<]* {firms}</span>', html)
    assert f"{tax / tax_land:,.2f}" in html
    assert f"{va / va_land:,.2f}" in html
    charts = _charts(html)
    by_area = {area["code"]: area["classes"] for area in charts["areas"]}
    if code:  # a city's areas are its counties, each from its own run
        for key in ("k1", "k2"):
            county = world["regions"][key]
            want = _sql(
                world,
                "SELECT count(*) FILTER (class = 'A'), count(*) FILTER (class = 'B'), "
                "count(*) FILTER (class = 'C'), count(*) FILTER (class = 'D') FROM results "
                "WHERE run_id = ? AND county_code = ?",
                [world["runs"][key], county],
            )[0]
            assert tuple(by_area[county][k] for k in "ABCD") == want
    else:
        total = {k: sum(classes[k] for classes in by_area.values()) for k in "ABCD"}
        assert tuple(total.values()) == (a, b, c, d)
    # The map colours k1 and k2 by their own runs.
    tiles = {t["code"]: t for t in charts["map"]["tiles"]}
    for key in ("k1", "k2"):
        county = world["regions"][key]
        ca, cb, cc, cd = _sql(
            world,
            "SELECT count(*) FILTER (class = 'A'), count(*) FILTER (class = 'B'), "
            "count(*) FILTER (class = 'C'), count(*) FILTER (class = 'D') FROM results "
            "WHERE run_id = ? AND county_code = ?",
            [world["runs"][key], county],
        )[0]
        classified = ca + cb + cc + cd
        assert tiles[county]["in_scope"]
        assert tiles[county]["value"] == pytest.approx(ca / classified if classified else None)


def test_the_overview_export_combines_the_same_runs(world):
    from io import BytesIO

    from python_calamine import CalamineWorkbook

    code = world["regions"]["city"]
    res = world["clients"]["city"].get("/overview.xlsx", params={"region": code})
    assert res.status_code == 200
    rows = CalamineWorkbook.from_filelike(BytesIO(res.content)).get_sheet_by_index(0).to_python()
    firms = {str(r[0]): r[2] for r in rows[1:] if r and r[0]}
    for key in ("k1", "k2"):
        county = world["regions"][key]
        want = _sql(
            world,
            "SELECT count(*) FROM results WHERE run_id = ? AND county_code = ?",
            [world["runs"][key], county],
        )[0][0]
        assert firms[county] == want

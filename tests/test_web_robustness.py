"""Robustness on the web: the portrait's uncertainty chart and path, the rankings' fragile
filter, and the JSON API, each within the viewer's scope (real server app, real store)."""

from __future__ import annotations

import re

import pytest

from mujun.auth import Actor, Role, create_user
from mujun.paths import compute_paths
from mujun.robustness.analysis import RobustnessSettings, analyse
from mujun.robustness.runscore import load_run_scoring
from mujun.robustness.tables import write_analysis
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.demo import build_demo_store, busiest_county
from mujun.web.testing import FakeClock, logged_in_client

PASSWORD = "Robust-pass-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("webrobust")
    db = base / "w.duckdb"
    run = build_demo_store(db, base / "data", enterprises=800, seed=3)
    settings = WebSettings(db=db, **FAST_HASH)
    clock = FakeClock()
    with open_store(db) as store:
        store.execute("UPDATE runs SET status = 'published'")
        rs = load_run_scoring(store, run)
        res = analyse(rs, RobustnessSettings(draws=80, spread=0.4, sobol_n=8))
        write_analysis(store, rs, res, compute_paths(rs))
        county, _ = busiest_county(store, 2023)
        # The enterprise: a fragile firm with a reachable path, in the busiest county.
        own = store.scalar(
            "SELECT min(f.uscc) FROM robustness_firms f JOIN results r USING (run_id, uscc) "
            "WHERE f.fragile AND r.county_code = ? AND f.uscc IN "
            "(SELECT uscc FROM firm_paths WHERE status = 'reachable')",
            [county],
        )
        assert own is not None
        for name, role, attrs in (
            ("prov", Role.PROVINCE_ADMIN, {}),
            ("county", Role.COUNTY_ANALYST, {"scope": county}),
            (own, Role.ENTERPRISE, {"uscc": own}),
        ):
            create_user(
                store, username=name, role=role, now=clock(), actor=Actor("setup", "cli"),
                settings=settings, password=PASSWORD, must_change_password=False, **attrs,
            )  # fmt: skip
    app = create_app(settings, clock=clock)
    clients = {
        name: logged_in_client(app, name, PASSWORD, form=True) for name in ("prov", "county", own)
    }
    yield {"app": app, "run": run, "county": county, "own": own, "clients": clients}
    app.state.db.close()


def _sql(world, sql, params=None):
    with world["app"].state.db.reader() as r:
        return r.rows(sql, params)


def test_portrait_shows_the_uncertainty_chart_and_the_path_in_words(world):
    own = world["own"]
    res = world["clients"][own].get(f"/firm/{own}")
    assert res.status_code == 200
    html = res.text
    assert 'id="robustness-chart"' in html and "/assets/app/robustness.js" in html
    assert "脆弱" in html  # the firm is fragile: the badge shows
    p_class = _sql(world, "SELECT p_class FROM robustness_firms WHERE uscc = ?", [own])[0][0]
    assert f"{round(100 * p_class, 1)}%" in html
    summary = re.search(r'<p id="path-summary">(.*?)</p>', html).group(1)
    assert summary.startswith("升至") and "需" in summary
    assert "基准值和分档线" in html
    js = world["clients"][own].get("/assets/app/robustness.js")
    assert js.status_code == 200 and "echarts.init" in js.text and "http" not in js.text
    en = world["clients"][own].get(f"/firm/{own}", params={"lang": "en"})
    assert "To reach class" in en.text or "not reachable" in en.text


def test_rankings_fragile_filter_lists_exactly_the_fragile_firms_in_scope(world):
    county = world["county"]
    expected = {
        r[0]
        for r in _sql(
            world,
            "SELECT f.uscc FROM robustness_firms f JOIN results r USING (run_id, uscc) "
            "WHERE f.fragile AND r.county_code = ?",
            [county],
        )
    }
    assert expected
    res = world["clients"]["county"].get(
        "/rankings", params={"fragile": "1", "page_size": "100", "year": "2023"}
    )
    assert res.status_code == 200
    listed = set(re.findall(r'<td class="code">([0-9A-Z]{18})</td>', res.text))
    assert listed == expected
    assert 'name="fragile" value="1" checked' in res.text
    everyone = world["clients"]["county"].get("/rankings", params={"page_size": "100"})
    assert int(re.search(r'data-total="(\d+)"', everyone.text).group(1)) > len(expected)
    assert world["clients"]["county"].get("/rankings", params={"fragile": "yes"}).status_code == 422


def test_api_lists_fragile_firms_least_robust_first_within_scope(world):
    run = world["run"]
    res = world["clients"]["prov"].get(f"/api/v1/runs/{run}/robustness/firms?page_size=500")
    assert res.status_code == 200
    body = res.json()
    n = _sql(world, "SELECT count(*) FROM robustness_firms WHERE fragile")[0][0]
    assert body["total"] == n and len(body["rows"]) == n and all(r["fragile"] for r in body["rows"])
    p = [r["p_class"] for r in body["rows"]]
    assert p == sorted(p) and max(p) < 0.8
    assert abs(sum(body["rows"][0]["probs"].values()) - 1) < 1e-3
    own = world["own"]
    mine = world["clients"][own].get(f"/api/v1/runs/{run}/robustness/firms").json()
    assert [r["uscc"] for r in mine["rows"]] == [own]


def test_api_gives_a_firm_its_robustness_and_path_and_hides_others(world):
    run, own = world["run"], world["own"]
    res = world["clients"][own].get(f"/api/v1/runs/{run}/results/{own}/robustness")
    assert res.status_code == 200
    body = res.json()
    assert body["firm"]["fragile"] is True and body["path"]["status"] == "paths"
    reach = [lv for lv in body["path"]["levers"] if lv["status"] == "reachable"]
    assert reach and all(lv["text"] for lv in reach)
    assert body["path"]["note"].startswith("以上按本批次")
    other = _sql(world, "SELECT max(uscc) FROM results WHERE uscc <> ?", [own])[0][0]
    denied = world["clients"][own].get(f"/api/v1/runs/{run}/results/{other}/robustness")
    assert denied.status_code == 404 and denied.json()["ok"] is False


def test_enterprise_home_page_gives_the_path_to_the_next_class_in_words(world):
    run, own = world["run"], world["own"]
    api = world["clients"][own].get(f"/api/v1/runs/{run}/results/{own}/robustness").json()
    home = world["clients"][own].get("/home", params={"lang": "zh"})  # earlier tests chose English
    assert home.status_code == 200
    text = re.search(r'<p id="path-text">(.*?)</p>', home.text, re.S).group(1)
    # The same summary and note as the API gives, in one paragraph.
    assert text.startswith(api["path"]["summary"]) and text.endswith(api["path"]["note"])
    en = world["clients"][own].get("/home", params={"lang": "en"})
    en_text = re.search(r'<p id="path-text">(.*?)</p>', en.text, re.S).group(1)
    assert "To reach class" in en_text or "not reachable" in en_text


def test_the_read_model_answers_as_the_store_does_for_every_firm(world):
    """The portrait reads robustness and paths from the in-memory model; for every firm of the
    run (and one unknown code) it gives what the SQL readers give, in both languages."""
    from mujun.robustness.tables import firm_paths, firm_robustness
    from mujun.web.readmodel import run_robustness

    run = world["run"]
    with world["app"].state.db.reader() as r:
        firms = [u for (u,) in r.rows("SELECT uscc FROM results WHERE run_id = ?", [run])]
        model = run_robustness(r, run)
        assert model.analysis is not None and len(firms) > 100
        with_paths = 0
        for uscc in [*firms, "91330000000000000X"]:
            assert model.firm(uscc) == firm_robustness(r, run, uscc)
            for lang in ("zh", "en"):
                path = model.path(uscc, lang)
                assert path == firm_paths(r, run, uscc, lang)
            with_paths += path is not None and path["status"] == "paths"
        assert with_paths > 10
        # A run without an analysis: nothing, as from the store.
        assert run_robustness(r, "no-such-run").firm(firms[0]) is None

"""Runs and results through the API: pagination, sorting, filters, one firm, the region tree, and
the audit of every confidential read."""

from __future__ import annotations

import pytest

from mujun.auth import Actor, Role, create_user, list_audit
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.demo import build_demo_store, busiest_county
from mujun.web.testing import FakeClock, logged_in_client

PASSWORD = "Results-pass-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("results")
    db = base / "r.duckdb"
    run = build_demo_store(db, base / "data", enterprises=1000)
    settings = WebSettings(db=db, **FAST_HASH)
    clock = FakeClock()
    with open_store(db) as store:
        # Published, so that analysts below the province see it (a draft stays with its region).
        store.execute("UPDATE runs SET status = 'published' WHERE run_id = ?", [run])
        county, city = busiest_county(store)
        for name, role, scope in (
            ("prov", Role.PROVINCE_ADMIN, None),
            ("city", Role.CITY_ANALYST, city),
            ("county", Role.COUNTY_ANALYST, county),
        ):
            create_user(
                store,
                username=name,
                role=role,
                now=clock(),
                actor=Actor("setup", "cli"),
                settings=settings,
                scope=scope,
                password=PASSWORD,
                must_change_password=False,
            )
    app = create_app(settings, clock=clock)
    clients = {}
    for name in ("prov", "city", "county"):
        clients[name] = logged_in_client(app, name, PASSWORD)
    yield {"app": app, "run": run, "county": county, "city": city, "clients": clients}
    app.state.db.close()


def _sql(world, sql, params=None):
    with world["app"].state.db.reader() as r:
        return r.rows(sql, params)


def _results(world, user="prov", **query):
    res = world["clients"][user].get(f"/api/v1/runs/{world['run']}/results", params=query)
    assert res.status_code == 200, res.json()
    return res.json()


def test_pages_cover_every_firm_once_with_the_total_count(world):
    first = _results(world, page_size=300)
    assert first["total"] == 1000
    seen = []
    for page in range(1, 5):
        seen += [r["uscc"] for r in _results(world, page_size=300, page=page)["rows"]]
    assert len(seen) == len(set(seen)) == 1000
    assert _results(world, page_size=300, page=5)["rows"] == []


def test_results_sort_by_total_rank_and_name(world):
    rows = _results(world, page_size=500)["rows"]
    totals = [r["total"] for r in rows if r["total"] is not None]
    assert totals == sorted(totals, reverse=True) and rows[0]["total"] == max(totals)
    ranks = [r["rank"] for r in _results(world, sort="rank", page_size=500)["rows"]]
    assert ranks == sorted(ranks)
    names = [r["name"] for r in _results(world, sort="name", order="desc", page_size=500)["rows"]]
    assert names == sorted(names, reverse=True)


def test_filters_narrow_the_list_as_sql_does(world):
    run, county = world["run"], world["county"]
    cases = [
        ({"region": county}, "county_code = ?", [county]),
        ({"region": world["city"]}, "city_code = ?", [world["city"]]),
        ({"industry": "C17"}, "industry_code LIKE 'C17%'", []),
        ({"class": "A"}, "class = 'A'", []),
        ({"size": "below"}, "size = 'below'", []),
        ({"class": "B", "size": "above"}, "class = 'B' AND size = 'above'", []),
    ]
    for query, cond, params in cases:
        want = _sql(
            world, f"SELECT count(*) FROM results WHERE run_id = ? AND {cond}", [run, *params]
        )
        body = _results(world, page_size=500, **query)
        assert body["total"] == want[0][0] > 0, query
        assert len(body["rows"]) == min(500, body["total"])


def test_search_finds_a_firm_by_name_or_by_credit_code_prefix(world):
    uscc, name = _sql(world, "SELECT uscc, name FROM results ORDER BY uscc LIMIT 1")[0]
    assert uscc in {r["uscc"] for r in _results(world, q=name)["rows"]}
    assert [r["uscc"] for r in _results(world, q=uscc)["rows"]] == [uscc]
    assert _results(world, q=uscc[:12])["total"] >= 1


def test_one_firm_comes_with_its_indicator_items(world):
    uscc = _sql(
        world,
        "SELECT uscc FROM results WHERE run_id = ? AND class <> '' ORDER BY uscc LIMIT 1",
        [world["run"]],
    )[0][0]
    res = world["clients"]["prov"].get(f"/api/v1/runs/{world['run']}/results/{uscc}")
    body = res.json()
    assert res.status_code == 200
    assert body["result"]["uscc"] == uscc and body["result"]["class"] in "ABCD"
    assert body["result"]["reasons"]
    codes = {i["indicator"] for i in body["items"]}
    assert "tax_mu" in codes and all(i["name"] for i in body["items"])


def test_a_county_analyst_sees_only_its_county_in_lists_and_counts(world):
    body = _results(world, "county", page_size=500)
    want = _sql(
        world,
        "SELECT count(*) FROM results WHERE run_id = ? AND county_code = ?",
        [world["run"], world["county"]],
    )[0][0]
    assert body["total"] == want
    assert {r["county_code"] for r in body["rows"]} == {world["county"]}
    assert all(r["county_name"] for r in body["rows"])


def test_every_confidential_read_is_audited_with_what_was_asked(world):
    client = world["clients"]["county"]
    client.get(f"/api/v1/runs/{world['run']}/results", params={"q": "纺织", "page_size": 20})
    world["app"].state.db.flush_audit()  # reads are logged within MUJUN_AUDIT_DELAY_MS
    with world["app"].state.db.reader() as r:
        entry = list_audit(r, actor="county", action="results.read", limit=1)[1][0]
    assert entry.role == "county_analyst"
    assert entry.object.startswith(f"runs/{world['run']}/results?")
    assert "page_size=20" in entry.object and "q=" in entry.object
    assert entry.result.startswith("ok: ")


def test_a_refused_read_is_audited_as_denied(world):
    other_firm = _sql(
        world,
        "SELECT min(uscc) FROM results WHERE run_id = ? AND county_code <> ?",
        [world["run"], world["county"]],
    )[0][0]
    res = world["clients"]["county"].get(f"/api/v1/runs/{world['run']}/results/{other_firm}")
    assert res.status_code == 404
    world["app"].state.db.flush_audit()
    with world["app"].state.db.reader() as r:
        entry = list_audit(r, actor="county", action="result.read", limit=1)[1][0]
    assert entry.result.startswith("denied") and other_firm in entry.object


def test_region_trees_follow_the_scope(world):
    tree = world["clients"]["prov"].get("/api/v1/divisions").json()["tree"]
    assert tree["code"] == "330000" and len(tree["children"]) == 11
    assert sum(len(c["children"]) for c in tree["children"]) == 90
    city = world["clients"]["city"].get("/api/v1/divisions").json()["tree"]
    assert city["code"] == world["city"] and city["level"] == "city"
    assert world["county"] in {c["code"] for c in city["children"]}
    county = world["clients"]["county"].get("/api/v1/divisions").json()["tree"]
    assert (county["code"], county["children"]) == (world["county"], [])


def test_unknown_runs_and_bad_parameters_are_refused_cleanly(world):
    client = world["clients"]["prov"]
    assert client.get("/api/v1/runs/E1999-0001/results").status_code == 404
    assert client.get(f"/api/v1/runs/{world['run']}/results?sort=tax").status_code == 422
    assert client.get(f"/api/v1/runs/{world['run']}/results?region=33").status_code == 422
    assert client.get(f"/api/v1/runs/{world['run']}/results/not-a-code").status_code == 422

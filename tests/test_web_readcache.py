"""The figures the pages keep in memory (mujun.web.cache, mujun.web.readmodel): they answer
exactly as the SQL they replace, for every scope, filter and sort, and a write that changes data
(a new run, a publication, an accepted correction) shows on the next request. Also the audit
group commit (every read still gets its own chained entry) and the session cache."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from mujun.auth import Actor, Role, create_user, list_audit
from mujun.auth.audit import verify_audit_chain
from mujun.auth.scope import DataScope, region_condition, scope_condition
from mujun.evaluation import evaluate
from mujun.rules import load_rules
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.demo import build_demo_store, busiest_county
from mujun.web.pages.data import (
    RankingQuery,
    firm_history,
    firm_issues,
    firm_items,
    firm_land,
    firm_register,
    firm_row,
    ranking_choices,
    ranking_rows,
    region_stats,
)
from mujun.web.queries import visible_runs
from mujun.web.testing import FakeClock, csrf_headers, logged_in_client, post

from .conftest import ROOT

PASSWORD = "Cache-pass-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PER_MU = "r.status = 'evaluated' AND r.size = 'above' AND r.land_mu > 0"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 600-firm province (one published run) with a county analyst, a city analyst, the
    province admin and an enterprise of the busiest county."""
    base = tmp_path_factory.mktemp("readcache")
    db = base / "c.duckdb"
    run = build_demo_store(db, base / "data", enterprises=600)
    # On-demand computation is what this module pins down (counts of computed entries); the
    # background warming after writes is tested in test_web_warm.py.
    settings = WebSettings(db=db, warm_read_models=False, **FAST_HASH)
    clock = FakeClock()
    with open_store(db) as store:
        store.execute("UPDATE runs SET status = 'published'")
        county, city = busiest_county(store)
        # An above-size firm on its own land, below class A: a much smaller area must lift it.
        firm = store.scalar(
            "SELECT r.uscc FROM results r JOIN result_items i ON i.run_id = r.run_id AND "
            "i.uscc = r.uscc AND i.indicator = 'tax_mu' WHERE r.run_id = ? AND r.county_code = ? "
            "AND r.class NOT IN ('A', '') AND r.size = 'above' AND r.land_rule = 'own' "
            "AND r.tenant_of = '' AND "
            "i.score < 0.5 * i.weight AND NOT EXISTS (SELECT 1 FROM results t WHERE "
            "t.run_id = r.run_id AND t.tenant_of = r.uscc) ORDER BY r.total, r.uscc LIMIT 1",
            [run, county],
        )
        for name, role, attrs in (
            ("prov", Role.PROVINCE_ADMIN, {}),
            ("city", Role.CITY_ANALYST, {"scope": city}),
            ("county", Role.COUNTY_ANALYST, {"scope": county}),
            ("ent", Role.ENTERPRISE, {"uscc": firm}),
            ("auditor", Role.AUDIT_ADMIN, {}),
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
    app.state.workflow_settings = app.state.workflow_settings.model_copy(
        update={"publish_dir": base / "published"}
    )

    def client(name: str) -> TestClient:
        return logged_in_client(app, name, PASSWORD)

    yield {
        "app": app,
        "db": app.state.db,
        "client": client,
        "run": run,
        "county": county,
        "city": city,
        "firm": firm,
        "rules": load_rules(ROOT / "rules" / "zhejiang-default.yaml"),
    }
    app.state.db.close()


def _sql(world, sql, params=None):
    with world["db"].reader() as r:
        return r.rows(sql, params)


def _scopes(world) -> list[DataScope]:
    return [
        DataScope("all", "330000"),
        DataScope("region", world["city"]),
        DataScope("region", world["county"]),
        DataScope("enterprise", uscc=world["firm"]),
        DataScope("none"),
    ]


# -- the same answers as SQL -------------------------------------------------------------------

SQL_SORTS = {
    "total": "r.total",
    "rank": "r.rank",
    "name": "r.name",
    "land_mu": "r.land_mu",
    "tax_mu": "t.value",
    "county": "r.county_code",
}


def _rankings_by_sql(store, run_id, scope, q: RankingQuery) -> tuple[int, list[tuple]]:
    """The rankings as the SQL before the read models computed them (the reference)."""
    s_cond, s_args = scope_condition(scope, "r")
    where, args = ["r.run_id = ?", s_cond], [run_id, *s_args]
    if q.region:
        c, p = region_condition(q.region, "r")
        where.append(c)
        args += p
    if q.industry:
        where.append("starts_with(r.industry_code, ?)")
        args.append(q.industry)
    if q.traditional:
        where.append("e.traditional_industry = ?")
        args.append(q.traditional)
    if q.klass == "none":
        where.append("coalesce(r.class, '') = ''")
    elif q.klass:
        where.append("r.class = ?")
        args.append(q.klass)
    if q.size:
        where.append("r.size = ?")
        args.append(q.size)
    if q.q:
        where.append("(contains(r.name, ?) OR starts_with(r.uscc, ?))")
        args += [q.q, q.q.upper()]
    frm = (
        "FROM results r LEFT JOIN enterprises e ON e.year = r.year AND e.uscc = r.uscc "
        "LEFT JOIN result_items t ON t.run_id = r.run_id AND t.uscc = r.uscc "
        "AND t.indicator = 'tax_mu' "
    )
    w = " AND ".join(where)
    total = store.scalar(f"SELECT count(*) {frm} WHERE {w}", args)
    direction = "DESC" if q.order == "desc" else "ASC"
    rows = store.rows(
        f"SELECT r.uscc, t.value, r.total, r.class {frm} WHERE {w} "
        f"ORDER BY {SQL_SORTS[q.sort]} {direction} NULLS LAST, r.uscc "
        f"LIMIT {q.page_size} OFFSET {(q.page - 1) * q.page_size}",
        args,
    )
    return total, rows


def test_rankings_match_the_sql_for_every_scope_sort_and_filter(world):
    with world["db"].reader() as r:
        some = r.rows(
            "SELECT industry_code, name FROM results WHERE run_id = ? AND county_code = ? "
            "AND industry_code IS NOT NULL ORDER BY uscc LIMIT 1",
            [world["run"], world["county"]],
        )[0]
        traditional = r.scalar(
            "SELECT min(traditional_industry) FROM enterprises WHERE traditional_industry <> ''"
        )
        filters = [
            {},
            {"klass": "A"},
            {"klass": "C", "size": "below"},
            {"klass": "none"},
            {"size": "above", "industry": some[0][:3]},
            {"traditional": traditional},
            {"region": world["county"]},
            {"region": world["city"]},
            {"q": some[1][1:3]},
            {"q": world["firm"][:6].lower()},
        ]
        every_sort = [(sort, order, 1) for sort in SQL_SORTS for order in ("asc", "desc")]
        some_sorts = [("total", "desc", 1), ("tax_mu", "asc", 2), ("name", "asc", 3)]
        cases = [
            (scope, f, views)
            for scope in _scopes(world)
            for f in filters
            for views in [every_sort if f in ({}, {"klass": "C", "size": "below"}) else some_sorts]
        ]
        checked = 0
        for scope, f, views in cases:
            for sort, order, page in views:
                q = RankingQuery(sort=sort, order=order, page=page, page_size=20, **f)
                total, rows = ranking_rows(r, world["run"], scope, q)
                want_total, want = _rankings_by_sql(r, world["run"], scope, q)
                got = [(x["uscc"], x["tax_mu"], x["total"], x["klass"]) for x in rows]
                assert (total, got) == (want_total, want), (scope, f, sort, order, page)
                checked += total > 0
        assert checked > 60  # most combinations select firms


def test_ranking_choices_match_the_sql(world):
    with world["db"].reader() as r:
        for scope in _scopes(world):
            s_cond, s_args = scope_condition(scope, "r")
            divisions = [
                x[0]
                for x in r.rows(
                    "SELECT DISTINCT substr(r.industry_code, 1, 3) AS d FROM results r WHERE "
                    f"r.run_id = ? AND {s_cond} AND length(r.industry_code) >= 3 ORDER BY d",
                    [world["run"], *s_args],
                )
            ]
            traditional = [
                x[0]
                for x in r.rows(
                    "SELECT DISTINCT e.traditional_industry AS t FROM results r JOIN enterprises e "
                    f"ON e.year = r.year AND e.uscc = r.uscc WHERE r.run_id = ? AND {s_cond} "
                    "AND e.traditional_industry IS NOT NULL ORDER BY t",
                    [world["run"], *s_args],
                )
            ]
            got = ranking_choices(r, world["run"], scope)
            assert got == {"industries": divisions, "traditional": traditional}


@pytest.mark.parametrize("by", [None, "city_code", "county_code"])
def test_region_stats_are_the_totals_over_totals_of_the_sql(world, by):
    key = f"r.{by}" if by else "''"
    with world["db"].reader() as r:
        for scope in _scopes(world)[:3]:
            for region in (None, world["city"], world["county"]):
                s_cond, s_args = scope_condition(scope, "r")
                r_cond, r_args = region_condition(region, "r") if region else ("TRUE", [])
                want = {
                    (k or ""): (n, a, c, tax / land if land else None)
                    for k, n, a, c, tax, land in r.rows(
                        f"SELECT {key} AS k, count(*), count(*) FILTER (r.class = 'A'), "
                        "count(*) FILTER (r.class = 'C'), "
                        f"sum(f.tax_paid) FILTER ({PER_MU} AND f.tax_paid IS NOT NULL), "
                        f"sum(r.land_mu) FILTER ({PER_MU} AND f.tax_paid IS NOT NULL) "
                        "FROM results r LEFT JOIN facts f ON f.year = r.year AND f.uscc = r.uscc "
                        f"WHERE r.run_id = ? AND {s_cond} AND {r_cond} GROUP BY k ORDER BY k",
                        [world["run"], *s_args, *r_args],
                    )
                }
                got = region_stats(r, world["run"], scope, region, by=by)
                assert list(got) == list(want)
                for k, (n, a, c, tax_mu) in want.items():
                    s = got[k]
                    assert (s["firms"], s["classes"]["A"], s["classes"]["C"]) == (n, a, c)
                    if tax_mu is None:
                        assert s["tax_mu"] is None
                    else:
                        assert s["tax_mu"] == pytest.approx(tax_mu, rel=1e-12)


def test_a_firms_items_rows_and_percentiles_match_the_sql(world):
    run = world["run"]
    with world["db"].reader() as r:
        firms = [
            u
            for (u,) in r.rows(
                "SELECT uscc FROM results WHERE run_id = ? ORDER BY hash(uscc) LIMIT 25", [run]
            )
        ]
        for uscc in firms:
            row = firm_row(r, run, DataScope("all", "330000"), uscc)
            assert (
                row
                == r.arrow(
                    "SELECT * FROM results WHERE run_id = ? AND uscc = ?", [run, uscc]
                ).to_pylist()[0]
            )
            want = {
                ind: (p, n)
                for ind, p, n in r.rows(
                    "SELECT i.indicator, count(*) FILTER (o.value <= i.value) / count(*), "
                    "count(*) FROM result_items i JOIN result_items o ON o.run_id = i.run_id "
                    "AND o.indicator = i.indicator JOIN results c ON c.run_id = o.run_id AND "
                    "c.uscc = o.uscc AND c.cohort = ? WHERE i.run_id = ? AND i.uscc = ? "
                    "AND i.value IS NOT NULL AND o.value IS NOT NULL GROUP BY i.indicator",
                    [row["cohort"] or "", run, uscc],
                )
            }
            items = firm_items(r, run, uscc, row["cohort"])
            assert [i["indicator"] for i in items] == [
                x[0]
                for x in r.rows(
                    "SELECT indicator FROM result_items WHERE run_id = ? AND uscc = ? "
                    "ORDER BY indicator",
                    [run, uscc],
                )
            ]
            for item in items:
                p, n = want.get(item["indicator"], (None, 0))
                assert (item["percentile"], item["cohort_n"]) == (pytest.approx(p), n)
            year = row["year"]
            register = r.arrow(
                "SELECT uscc, name, county_code, city_code, town, industry_code, "
                "traditional_industry, above_size, established FROM enterprises "
                "WHERE year = ? AND uscc = ?",
                [year, uscc],
            ).to_pylist()
            assert firm_register(r, year, uscc) == (register[0] if register else None)
            assert (
                firm_land(r, year, uscc)
                == r.arrow(
                    "SELECT parcel_id, area_mu, tenure, lessor_uscc, lessor_name, floor_area, "
                    "supply_date, shared_parcel, conflict FROM land WHERE year = ? AND uscc = ? "
                    "ORDER BY parcel_id",
                    [year, uscc],
                ).to_pylist()
            )
            issues = firm_issues(r, uscc)
            assert (
                issues
                == r.arrow(
                    "SELECT year, source, file, row_no, column_name, value, code, severity, message "
                    "FROM issues WHERE uscc = ? ORDER BY year DESC, source, row_no NULLS FIRST, code",
                    [uscc],
                ).to_pylist()[:200]
            )


def test_a_row_outside_the_scope_is_not_found(world):
    run, firm = world["run"], world["firm"]
    with world["db"].reader() as r:
        other = r.scalar(
            "SELECT min(uscc) FROM results WHERE run_id = ? AND city_code <> ?",
            [run, world["city"]],
        )
        county, city = DataScope("region", world["county"]), DataScope("region", world["city"])
        assert firm_row(r, run, county, firm)["uscc"] == firm
        assert firm_row(r, run, county, other) is None
        assert firm_row(r, run, city, other) is None
        assert firm_row(r, run, DataScope("enterprise", uscc=firm), other) is None
        assert firm_row(r, run, DataScope("none"), firm) is None
        assert firm_row(r, run, county, "9" * 18) is None
        assert firm_history(r, [run], county, other) == []


# -- writes show at once -----------------------------------------------------------------------


def _a_count(world, run: str) -> int:
    return _sql(
        world,
        "SELECT count(*) FROM results WHERE run_id = ? AND county_code = ? AND class = 'A'",
        [run, world["county"]],
    )[0][0]


def test_a_new_run_and_its_publication_show_on_the_next_request(world, tmp_path):
    db, county = world["db"], world["county"]
    analyst, ent = world["client"]("county"), world["client"]("ent")
    with db.writer() as w:  # a fresh generation: nothing computed yet
        w.execute("SELECT 1")
    computed = db.cache.computed
    first = analyst.get("/rankings", params={"class": "A"})
    again = analyst.get("/rankings", params={"class": "A"})
    assert first.status_code == again.status_code == 200
    assert db.cache.computed > computed  # the first request filled the cache ...
    filled = db.cache.computed
    analyst.get("/rankings", params={"class": "B"})
    assert db.cache.computed == filled  # ... and other views reuse it

    # A county run under rules that cap every firm below 1000 万元/亩 at D: a new draft.
    variant = tmp_path / "variant.yaml"
    variant.write_text(
        (ROOT / "rules" / "zhejiang-default.yaml")
        .read_text(encoding="utf-8")
        .replace("indicator: tax_mu, below: 1.0, cap: D", "indicator: tax_mu, below: 1000, cap: D"),
        encoding="utf-8",
    )
    generation = db.generation
    with db.writer() as w:
        new = evaluate(w, 2023, rules=load_rules(variant), region=county).run_id
    assert db.generation == generation + 1
    assert f'data-total="{_a_count(world, world["run"])}"' in first.text
    assert _a_count(world, new) == 0 < _a_count(world, world["run"])
    # A draft does not displace the published run in force on the pages ...
    page = analyst.get("/rankings", params={"class": "A"}).text
    assert f'data-total="{_a_count(world, world["run"])}"' in page
    # ... and the enterprise does not see it at all ...
    history = ent.get(f"/firm/{world['firm']}").text
    assert new not in history
    # ... until it is published: then every page shows it at once.
    res = post(
        analyst,
        f"/api/v1/runs/{new}/publish",
        {"basis": [{"title": "实施办法", "doc_no": "演示〔2030〕2号"}], "contact_phone": "0576-1"},
    )
    assert res.status_code == 201, res.json()
    assert new in ent.get(f"/firm/{world['firm']}").text
    page = analyst.get("/rankings", params={"class": "A"}).text
    assert 'data-total="0"' in page
    assert new in analyst.get("/").text  # the overview now counts the county from the new run


def test_an_accepted_correction_shows_in_the_new_runs_figures_at_once(world):
    db, firm = world["db"], world["firm"]
    analyst, ent = world["client"]("county"), world["client"]("ent")
    with db.writer() as w:
        run = evaluate(w, 2023, rules=world["rules"], region=world["county"]).run_id
    before = analyst.get(f"/firm/{firm}").text  # warms the caches with the draft
    assert run in before
    land = _sql(world, "SELECT land_mu FROM results WHERE run_id = ? AND uscc = ?", [run, firm])
    corrected = round(land[0][0] / 20, 4)
    assert post(analyst, f"/api/v1/runs/{run}/confirmation/land", {}).status_code == 200
    filed = ent.post(
        f"/api/v1/confirmations/{run}/land_own_mu/contest",
        data={"reason": "土地证面积有误", "proposed_value": str(corrected)},
        files={"evidence": ("land.pdf", PDF, "application/pdf")},
        headers=csrf_headers(ent),
    )
    assert filed.status_code == 201, filed.json()
    filing = filed.json()["filing"]["confirmation_id"]
    assert post(analyst, f"/api/v1/objections/{filing}/accept", {"note": "采纳"}).status_code == 200
    res = post(analyst, f"/api/v1/runs/{run}/rerun")
    assert res.status_code == 201, res.json()
    new = res.json()["run_id"]
    # The corrected run is in force once published (a draft never displaces a published run).
    res = post(
        analyst,
        f"/api/v1/runs/{new}/publish",
        {"basis": [{"title": "实施办法", "doc_no": "演示〔2030〕3号"}], "contact_phone": "0576-1"},
    )
    assert res.status_code == 201, res.json()
    total, klass = _sql(
        world, 'SELECT total, "class" FROM results WHERE run_id = ? AND uscc = ?', [new, firm]
    )[0]
    page = analyst.get(f"/firm/{firm}").text
    assert new in page and f"{total:,.2f}" in page
    rankings = analyst.get("/rankings", params={"q": firm}).text
    assert f"{total:,.2f}" in rankings and f"cls-{klass}" in rankings


# -- reads are audited, each once, in one chain -------------------------------------------------


def test_concurrent_reads_each_get_one_entry_in_an_intact_chain(world):
    db = world["db"]
    clients = [world["client"]("county") for _ in range(2)]  # (logging in is audited too)
    db.flush_audit()  # reads of earlier tests still queued (audit_delay_ms)
    with db.reader() as r:
        start = r.scalar("SELECT count(*) FROM audit_log")
    errors: list[BaseException] = []

    def reader(i: int) -> None:
        try:
            for j in range(15):
                db.audit(
                    Actor(f"t{i}", "county_analyst"), datetime(2030, 1, 7), "test.read", f"{j}"
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for c in clients:  # pages audit through the same path, interleaved with the threads
        for _ in range(5):
            assert c.get("/rankings").status_code == 200
    for t in threads:
        t.join()
    assert not errors
    db.flush_audit()
    with db.reader() as r:
        assert verify_audit_chain(r) == []
        assert r.scalar("SELECT count(*) FROM audit_log") == start + 8 * 15 + 10
        assert r.scalar("SELECT count(DISTINCT seq), max(seq) - min(seq) + 1 FROM audit_log") == (
            r.scalar("SELECT count(*) FROM audit_log")
        )
        per = dict(
            r.rows(
                "SELECT actor, count(*) FROM audit_log WHERE action = 'test.read' GROUP BY actor"
            )
        )
        assert per == {f"t{i}": 15 for i in range(8)}
        _, entries = list_audit(r, action="results.read", limit=10)
        assert all(e.actor == "county" for e in entries)


def test_a_read_entry_written_after_another_write_continues_the_chain(world):
    db = world["db"]
    db.audit(Actor("a", "province_admin"), datetime(2030, 1, 7), "test.read", "1")
    with db.writer(data=False) as w:  # another writer appends behind the group commit's back
        from mujun.auth.audit import record

        record(w, Actor("b", "province_admin"), datetime(2030, 1, 7), "test.write", "2")
    db.audit(Actor("c", "province_admin"), datetime(2030, 1, 7), "test.read", "3")
    db.flush_audit()  # a's entry was committed by the write block, before b's
    with db.reader() as r:
        assert verify_audit_chain(r) == []
        assert [a for (a,) in r.rows("SELECT actor FROM audit_log ORDER BY seq DESC LIMIT 3")] == [
            "c",
            "b",
            "a",
        ]


# -- the cache itself --------------------------------------------------------------------------


def test_the_cache_computes_an_entry_once_for_concurrent_requests(world):
    cache = world["db"].cache
    calls: list[int] = []
    gate = threading.Event()

    def compute() -> int:
        calls.append(1)
        gate.wait(5)
        return 42

    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get(("test", "once"), compute)))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    assert results == [42] * 6 and len(calls) == 1


def test_only_writes_that_may_change_data_start_a_new_generation(world):
    db = world["db"]
    before = db.generation
    with db.writer(data=False) as w:
        w.execute("SELECT 1")
    db.audit(Actor("x", "province_admin"), datetime(2030, 1, 7), "test.read")
    assert db.generation == before
    with pytest.raises(RuntimeError), db.writer() as w:
        raise RuntimeError("rolled back")
    assert db.generation == before  # nothing was written
    with db.writer() as w:
        w.execute("SELECT 1")
    assert db.generation == before + 1
    assert db.cache.get(("test", "gen"), lambda: db.generation) == before + 1


def test_a_logged_out_session_is_refused_on_the_next_request(world):
    c = world["client"]("prov")
    assert c.get("/").status_code == 200
    assert c.get("/").status_code == 200  # the session is cached now
    assert post(c, "/api/v1/logout").status_code == 200
    assert c.get("/", follow_redirects=False).status_code == 303


def test_visible_runs_follow_the_scope(world):
    with world["db"].reader() as r:
        for scope in _scopes(world):
            s_cond, s_args = scope_condition(scope)
            counts = dict(
                r.rows(
                    f"SELECT run_id, count(*) FROM results WHERE {s_cond} GROUP BY run_id", s_args
                )
            )
            for run, n in visible_runs(r, scope):
                assert n == counts.get(run.run_id, 0)


def test_static_files_are_cacheable_and_api_answers_are_not(world):
    c = world["client"]("county")
    vendor = world["app"].state.vendor_assets["htmx"]
    if vendor is None:
        pytest.skip("node_modules not installed")
    res = c.get(vendor)
    assert res.status_code == 200 and res.headers["cache-control"] == "public, max-age=86400"
    assert res.headers["x-content-type-options"] == "nosniff"
    assert c.get("/assets/app/app.css").headers["cache-control"] == "public, max-age=3600"
    assert c.get("/api/v1/runs").headers["cache-control"] == "no-store"
    page = c.get("/rankings")
    assert (
        "cache-control" not in page.headers
        and "frame-ancestors" in page.headers["content-security-policy"]
    )


def test_reads_logins_and_logouts_leave_the_cached_figures_alone(world):
    db = world["db"]
    generation, computed = db.generation, db.cache.computed
    county, auditor = world["client"]("county"), world["client"]("auditor")
    for path in ("/", "/rankings", f"/firm/{world['firm']}", "/rankings?class=B"):
        assert county.get(path).status_code == 200
    assert auditor.get("/audit").status_code == 200
    assert auditor.get("/api/v1/audit").status_code == 200
    assert post(county, "/api/v1/logout").status_code == 200
    assert db.generation == generation
    county = world["client"]("county")
    assert county.get("/rankings").status_code == 200
    assert db.generation == generation
    db.flush_audit()  # not a data write either
    assert db.generation == generation
    with db.reader() as r:  # every one of those reads was audited
        actions = [a for (a,) in r.rows("SELECT action FROM audit_log ORDER BY seq DESC LIMIT 9")]
    assert actions[:2] == ["results.read", "login"]
    assert {"audit.read", "logout", "result.read", "overview.read"} <= set(actions)
    # At most what the first views needed (models, and the overview's region figures) ...
    assert db.cache.computed - computed <= 12
    # ... and seeing them again computes nothing.
    after = db.cache.computed
    for path in ("/", "/rankings", f"/firm/{world['firm']}", "/rankings?class=B"):
        assert county.get(path).status_code == 200
    assert db.cache.computed == after

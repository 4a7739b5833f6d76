"""Publication, confirmation and objections through the API: an objection from filing to a new
run, late objections, scope, public annexes, and the audit of every step."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from python_calamine import CalamineWorkbook

from mujun.auth import Role, list_audit
from mujun.evaluation import evaluate
from mujun.rules import load_rules
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.demo import build_demo_store, busiest_county
from mujun.web.testing import (
    FakeClock,
    create_accounts,
    csrf_headers,
    logged_in_client,
    post,
)

from .conftest import ROOT

PASSWORD = "Workflow-pass-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
BASIS = [{"title": "关于深化亩均论英雄改革的指导意见", "doc_no": "浙政发〔2018〕5号"}]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 500-firm province with a province draft; accounts per role around the busiest county."""
    base = tmp_path_factory.mktemp("workflow")
    db = base / "w.duckdb"
    province_draft = build_demo_store(db, base / "data", enterprises=500)
    settings = WebSettings(db=db, **FAST_HASH)
    clock = FakeClock()
    rules = load_rules(ROOT / "rules" / "zhejiang-default.yaml")
    with open_store(db) as store:
        k1, c1 = busiest_county(store)
        k2 = store.scalar(
            "SELECT county_code FROM enterprises WHERE city_code = ? AND county_code <> ? "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
            [c1, k1],
        )
        probe = evaluate(store, 2023, rules=rules, region=k1).run_id
        # A firm below class A on its own land, landlord of nobody, with a low tax-per-mu score:
        # a much smaller land area must lift its class.
        e1 = store.scalar(
            "SELECT r.uscc FROM results r JOIN result_items i ON i.run_id = r.run_id AND "
            "i.uscc = r.uscc AND i.indicator = 'tax_mu' WHERE r.run_id = ? "
            "AND r.class NOT IN ('A', '') AND r.land_rule = 'own' AND r.tenant_of = '' AND "
            "i.score < 0.5 * i.weight AND NOT EXISTS (SELECT 1 FROM results t WHERE "
            "t.run_id = r.run_id AND t.tenant_of = r.uscc) ORDER BY r.total, r.uscc LIMIT 1",
            [probe],
        )
        e3 = store.scalar(
            "SELECT min(uscc) FROM results WHERE run_id = ? AND uscc <> ?", [probe, e1]
        )
        e2 = store.scalar(
            "SELECT min(uscc) FROM results WHERE run_id = ? AND county_code = ?",
            [province_draft, k2],
        )
        accounts = {
            "prov": (Role.PROVINCE_ADMIN, {}),
            "city": (Role.CITY_ANALYST, {"scope": c1}),
            "county": (Role.COUNTY_ANALYST, {"scope": k1}),
            "county2": (Role.COUNTY_ANALYST, {"scope": k2}),
            "ent": (Role.ENTERPRISE, {"uscc": e1}),
            "ent2": (Role.ENTERPRISE, {"uscc": e2}),
            "ent3": (Role.ENTERPRISE, {"uscc": e3}),
            "uploader": (Role.DEPARTMENT_UPLOADER, {"department": "tax"}),
            "auditor": (Role.AUDIT_ADMIN, {}),
        }
        create_accounts(store, accounts, settings=settings, now=clock(), password=PASSWORD)
    app = create_app(settings, clock=clock)
    app.state.workflow_settings = app.state.workflow_settings.model_copy(
        update={"publish_dir": base / "published"}
    )

    def client(name: str) -> TestClient:
        return logged_in_client(app, name, PASSWORD)

    def county_draft() -> str:
        with app.state.db.writer() as w:
            return evaluate(w, 2023, rules=rules, region=k1).run_id

    yield {
        "app": app,
        "clock": clock,
        "client": client,
        "county_draft": county_draft,
        "province_draft": province_draft,
        "base": base,
        "k1": k1,
        "k2": k2,
        "e1": e1,
        "e2": e2,
        "e3": e3,
    }
    app.state.db.close()


def _sql(world, sql, params=None):
    with world["app"].state.db.reader() as r:
        return r.rows(sql, params)


def _contest(client, run, field, value, *, name="land.pdf", data=PDF, reason="土地证面积有误"):
    return client.post(
        f"/api/v1/confirmations/{run}/{field}/contest",
        data={"reason": reason, "proposed_value": str(value)},
        files={"evidence": (name, data, "application/pdf")},
        headers=csrf_headers(client),
    )


def _publish(client, run, **extra):
    return post(
        client,
        f"/api/v1/runs/{run}/publish",
        {"basis": BASIS, "contact_phone": "0576-88888888", **extra},
    )


def test_an_objection_goes_from_filing_to_a_new_run_that_reflects_the_correction(world):
    county, ent = world["client"]("county"), world["client"]("ent")
    run, e1 = world["county_draft"](), world["e1"]
    before = _sql(world, "SELECT * FROM results WHERE run_id = ? ORDER BY uscc", [run])
    facts = _sql(world, "SELECT * FROM facts WHERE uscc = ?", [e1])
    land, klass = _sql(
        world, 'SELECT land_mu, "class" FROM results WHERE run_id = ? AND uscc = ?', [run, e1]
    )[0]

    # Nothing to answer until the analyst opens the run for confirmation: land first.
    assert ent.get("/api/v1/confirmations", params={"run": run}).status_code == 404
    res = post(county, f"/api/v1/runs/{run}/confirmation/land", {})
    assert res.status_code == 200, res.json()
    sheet = ent.get("/api/v1/confirmations", params={"run": run}).json()["sheets"][0]
    fields = {f["field"]: f for f in sheet["fields"]}
    assert fields["land_own_mu"]["value"] == pytest.approx(land)
    assert fields["land_own_mu"]["can_answer"] and fields["land_own_mu"]["unit"] == "亩"
    assert not fields["tax_paid"]["can_answer"]  # the 一企一单 comes after the land round

    corrected = round(land / 20, 4)
    res = _contest(ent, run, "land_own_mu", corrected)
    assert res.status_code == 201, res.json()
    filing = res.json()["filing"]
    assert filing["status"] == "contested" and filing["evidence"]["size"] == len(PDF)

    listed = county.get("/api/v1/objections", params={"run": run}).json()
    assert [o["uscc"] for o in listed["objections"]] == [e1]
    evidence = county.get(f"/api/v1/objections/{filing['confirmation_id']}/evidence")
    assert evidence.status_code == 200 and evidence.content == PDF
    res = post(
        county,
        f"/api/v1/objections/{filing['confirmation_id']}/accept",
        {"note": "经核对不动产权证，采纳"},
    )
    assert res.status_code == 200, res.json()
    assert res.json()["objection"]["accepted_value"] == corrected

    res = post(county, f"/api/v1/runs/{run}/rerun")
    assert res.status_code == 201, res.json()
    new = res.json()["run_id"]
    assert new != run and res.json()["corrections"][0]["field"] == "land_own_mu"

    new_land, new_class, new_total, old_total = _sql(
        world,
        'SELECT b.land_mu, b."class", b.total, a.total FROM results a JOIN results b '
        "USING (uscc) WHERE a.run_id = ? AND b.run_id = ? AND uscc = ?",
        [run, new, e1],
    )[0]
    assert new_land == pytest.approx(corrected)
    assert new_total > old_total and new_class < klass  # A is better than C
    # The old run and the stored facts are untouched; the new run says what it overrode.
    assert _sql(world, "SELECT * FROM results WHERE run_id = ? ORDER BY uscc", [run]) == before
    assert _sql(world, "SELECT * FROM facts WHERE uscc = ?", [e1]) == facts
    assert _sql(world, "SELECT field, value FROM overrides WHERE run_id = ?", [new]) == [
        ("land_own_mu", corrected)
    ]
    assert _sql(world, "SELECT status FROM runs WHERE run_id = ?", [new]) == [("draft",)]

    diff = county.get(f"/api/v1/runs/{run}/diff/{new}").json()
    row = next(r for r in diff["rows"] if r["uscc"] == e1)
    assert (row["class_a"], row["class_b"]) == (klass, new_class)
    assert "自有土地面积" in row["why"] and f"异议 #{filing['confirmation_id']}" in row["why"]

    with world["app"].state.db.reader() as r:
        steps = [
            (e.action, e.actor)
            for e in reversed(list_audit(r, limit=500)[1])
            if (e.object and run in e.object) or (e.after or {}).get("run") == new
        ]
    assert [s for s in steps if s[0] != "runs.diff"] == [
        ("run.confirmation.open", "county"),
        ("objection.file", "ent"),
        ("objection.accept", "county"),
        ("run.rerun", "county"),
    ]


def test_a_figure_is_answered_once_and_only_while_its_round_is_open(world):
    county, ent = world["client"]("county"), world["client"]("ent3")
    run = world["county_draft"]()
    post(county, f"/api/v1/runs/{run}/confirmation/land", {})
    res = post(ent, f"/api/v1/confirmations/{run}/land_own_mu/confirm")
    assert res.status_code == 200 and res.json()["filing"]["status"] == "confirmed"
    again = post(ent, f"/api/v1/confirmations/{run}/land_own_mu/confirm")
    assert again.status_code == 409
    early = post(ent, f"/api/v1/confirmations/{run}/tax_paid/confirm")
    assert early.status_code == 409 and "尚未开放" in early.json()["error"]
    post(county, f"/api/v1/runs/{run}/confirmation/sheet", {})
    assert post(ent, f"/api/v1/confirmations/{run}/tax_paid/confirm").status_code == 200
    # Bad evidence is refused before anything is kept.
    assert _contest(ent, run, "value_added", 1, name="x.exe", data=b"MZ").status_code == 415
    assert _contest(ent, run, "value_added", 1, name="x.pdf", data=b"MZ").status_code == 400
    assert _sql(world, "SELECT count(*) FROM confirmations WHERE run_id = ? AND field = "
                "'value_added'", [run]) == [(0,)]  # fmt: skip
    assert post(county, f"/api/v1/runs/{run}/rerun").status_code == 409  # nothing accepted


def test_publication_writes_public_annexes_without_tax_figures(world):
    county, ent, ent2 = world["client"]("county"), world["client"]("ent"), world["client"]("ent2")
    run = world["county_draft"]()
    assert _publish(world["client"]("county2"), run).status_code == 404
    res = _publish(county, run)
    assert res.status_code == 201, res.json()
    pub = res.json()["publication"]
    firms = _sql(world, "SELECT count(*) FROM results WHERE run_id = ?", [run])[0][0]
    assert pub["counts"]["firms"] == firms == sum(c["firms"] for c in pub["counts"]["by_class"])
    assert (pub["window_start"], pub["window_end"]) == ("2030-01-07", "2030-01-13")
    assert pub["basis"] == BASIS and pub["contact_phone"] == "0576-88888888"
    assert "逾期" in pub["procedure"]
    assert _sql(world, "SELECT status FROM runs WHERE run_id = ?", [run]) == [("published",)]
    assert _publish(county, run).status_code == 409  # published once; history is kept

    folder = world["base"] / "published" / run
    annexes = sorted(folder.rglob("*.xlsx"))
    assert [p.name for p in annexes] == pub["annexes"] and annexes
    taxes = {
        round(t, 2)
        for (t,) in _sql(
            world,
            "SELECT f.tax_paid FROM facts f JOIN results r USING (uscc) WHERE r.run_id = ? "
            "AND f.tax_paid > 0",
            [run],
        )
    }
    wb = CalamineWorkbook.from_path(str(annexes[0]))
    lists = [n for n in wb.sheet_names if n != "说明"]
    assert len(lists) == 4  # above-size, below-size >= 3 mu, below-size < 3 mu, tenants
    for sheet in lists:
        rows = wb.get_sheet_by_name(sheet).to_python()
        headers = rows[1]
        assert not any(h for h in headers if any(w in str(h) for w in ("税", "得分", "排名")))
        cells = {round(v, 2) for row in rows[2:] for v in row if isinstance(v, float)}
        assert not cells & taxes

    with world["app"].state.db.reader() as r:
        entry = list_audit(r, action="run.publish", limit=1)[1][0]
    assert entry.actor == "county" and entry.before == {"status": "draft"}
    assert entry.after["status"] == "published" and entry.after["window_end"] == "2030-01-13"

    # Enterprises in the run read the notice and its annexes; others do not see the run.
    assert ent.get(f"/api/v1/runs/{run}/publication").json()["publication"]["window_open"]
    assert ent.get(f"/api/v1/runs/{run}/publication/annexes/{pub['annexes'][0]}").status_code == 200
    assert ent2.get(f"/api/v1/runs/{run}/publication").status_code == 404
    assert run in {p["run_id"] for p in ent.get("/api/v1/publications").json()["publications"]}
    assert run not in {p["run_id"] for p in ent2.get("/api/v1/publications").json()["publications"]}


def test_a_late_objection_is_refused_and_the_run_becomes_final_after_its_window(world):
    clock, start = world["clock"], world["clock"].now
    run = world["county_draft"]()
    county = world["client"]("county")
    assert _publish(county, run, window_days=5).status_code == 201
    ent = world["client"]("ent")
    filed = _contest(ent, run, "tax_paid", 999, reason="退税未扣除")
    assert filed.status_code == 201, filed.json()
    assert post(county, f"/api/v1/runs/{run}/finalise").status_code == 409  # window still open
    try:
        clock.advance(days=6)
        ent, county = world["client"]("ent"), world["client"]("county")
        late = _contest(ent, run, "value_added", 999, reason="迟到的异议")
        assert late.status_code == 409
        assert "逾期异议不予受理" in late.json()["error"]
        assert "late objections are not accepted" in late.json()["error"]
        pending = post(county, f"/api/v1/runs/{run}/finalise")
        assert pending.status_code == 409 and "await review" in pending.json()["error"]
        cid = filed.json()["filing"]["confirmation_id"]
        assert (
            post(county, f"/api/v1/objections/{cid}/reject", {"note": "证据不足"}).status_code
            == 200
        )
        res = post(county, f"/api/v1/runs/{run}/finalise")
        assert res.status_code == 200, res.json()
        assert _sql(world, "SELECT status FROM runs WHERE run_id = ?", [run]) == [("final",)]
        assert _publish(county, run).status_code == 409
    finally:
        clock.now = start


def test_scope_keeps_objections_within_the_county_and_the_firm(world):
    run = world["county_draft"]()
    county = world["client"]("county")
    post(county, f"/api/v1/runs/{run}/confirmation/land", {})
    ent = world["client"]("ent")
    land = _sql(
        world, "SELECT land_mu FROM results WHERE run_id = ? AND uscc = ?", [run, world["e1"]]
    )[0][0]
    cid = _contest(ent, run, "land_own_mu", land / 2).json()["filing"]["confirmation_id"]

    other = world["client"]("county2")
    assert other.get("/api/v1/objections", params={"run": run}).status_code == 404
    assert post(other, f"/api/v1/objections/{cid}/accept", {"note": "越权"}).status_code == 404
    assert other.get(f"/api/v1/objections/{cid}/evidence").status_code == 404
    assert post(other, f"/api/v1/runs/{run}/rerun").status_code == 404
    assert other.get(f"/api/v1/runs/{run}/diff/{world['province_draft']}").status_code == 404
    city = world["client"]("city")
    assert city.get("/api/v1/objections", params={"run": run}).json()["total"] == 1

    # Another firm of the same run sees only its own sheet and cannot reach this filing.
    ent3 = world["client"]("ent3")
    sheets = ent3.get("/api/v1/confirmations", params={"run": run}).json()["sheets"]
    assert [s["uscc"] for s in sheets] == [world["e3"]]
    assert all(f["filing"] is None for f in sheets[0]["fields"] if f["field"] == "land_own_mu")
    assert ent3.get(f"/api/v1/objections/{cid}/evidence").status_code == 404
    assert ent3.get("/api/v1/objections", params={"run": run}).status_code == 403
    # A firm outside the run can neither see nor contest it.
    ent2 = world["client"]("ent2")
    assert ent2.get("/api/v1/confirmations", params={"run": run}).status_code == 404
    assert _contest(ent2, run, "land_own_mu", 1).status_code == 404
    assert post(ent, f"/api/v1/objections/{cid}/accept", {"note": "自己采纳"}).status_code == 403
    with world["app"].state.db.reader() as r:
        status = r.scalar("SELECT status FROM confirmations WHERE confirmation_id = ?", [cid])
    assert status == "contested"


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("prov", {"publications": 200, "confirmations": 403, "objections": 200, "uploads": 200}),
        ("city", {"publications": 200, "confirmations": 403, "objections": 404, "uploads": 200}),
        ("county", {"publications": 200, "confirmations": 403, "objections": 404, "uploads": 200}),
        ("ent", {"publications": 200, "confirmations": 200, "objections": 403, "uploads": 403}),
        (
            "uploader",
            {"publications": 403, "confirmations": 403, "objections": 403, "uploads": 200},
        ),
        ("auditor", {"publications": 403, "confirmations": 403, "objections": 403, "uploads": 403}),
    ],
)
def test_each_role_reaches_only_its_workflow_lists(world, user, expected):
    client = world["client"](user)
    paths = {
        "publications": "/api/v1/publications",
        "confirmations": "/api/v1/confirmations",
        # The province draft: only the province sees it.
        "objections": f"/api/v1/objections?run={world['province_draft']}",
        "uploads": "/api/v1/uploads",
    }
    got = {name: client.get(path).status_code for name, path in paths.items()}
    assert got == expected


def _status(world, run):
    return _sql(world, "SELECT status FROM runs WHERE run_id = ?", [run])[0][0]


def test_a_run_goes_from_draft_to_final_and_a_later_publication_supersedes_it(world):
    """draft → confirming → published → superseded, the rerun published → final once its
    window is over; every step audited, nothing removed, and the pages show the run in force."""
    from mujun.web.background import settle_runs

    clock, start = world["clock"], world["clock"].now
    county, ent, e1 = world["client"]("county"), world["client"]("ent"), world["e1"]
    run = world["county_draft"]()
    results = _sql(world, "SELECT * FROM results WHERE run_id = ? ORDER BY uscc", [run])
    assert _status(world, run) == "draft"
    assert county.get(f"/api/v1/runs/{run}").json()["run"]["status"] == "draft"

    assert post(county, f"/api/v1/runs/{run}/confirmation/land", {}).status_code == 200
    assert _status(world, run) == "confirming"
    assert post(county, f"/api/v1/runs/{run}/confirmation/sheet", {}).status_code == 200
    assert _status(world, run) == "confirming"  # the second round keeps it there
    assert post(county, f"/api/v1/runs/{run}/finalise").status_code == 409

    assert _publish(county, run).status_code == 201
    assert _status(world, run) == "published"
    land = _sql(world, "SELECT land_mu FROM results WHERE run_id = ? AND uscc = ?", [run, e1])
    filed = _contest(ent, run, "land_own_mu", round(land[0][0] / 20, 4))
    assert filed.status_code == 201, filed.json()
    cid = filed.json()["filing"]["confirmation_id"]
    accept = post(county, f"/api/v1/objections/{cid}/accept", {"note": "经核对，采纳"})
    assert accept.status_code == 200
    new = post(county, f"/api/v1/runs/{run}/rerun").json()["run_id"]
    assert _status(world, new) == "draft" and _status(world, run) == "published"

    # Publishing the corrected run supersedes the first one, during its window.
    res = _publish(county, new, window_days=3)
    assert res.status_code == 201, res.json()
    new_pub = res.json()["publication"]
    assert (_status(world, run), _status(world, new)) == ("superseded", "published")
    old_pub = county.get(f"/api/v1/runs/{run}/publication").json()["publication"]
    assert old_pub["state"] == "superseded" and not old_pub["window_open"]
    assert old_pub["superseded_by"] == new
    assert old_pub["superseded_by_publication"] == new_pub["publication_id"]
    # Objections to the superseded run are refused, pointing at the new one.
    late = _contest(ent, run, "tax_paid", 1.0, reason="重复异议")
    assert late.status_code == 409 and new in late.json()["error"]
    # The enterprise still sees the superseded run, marked as such, next to the new one.
    seen = {r["run_id"]: r["status"] for r in ent.get("/api/v1/runs").json()["runs"]}
    assert seen[run] == "superseded" and seen[new] == "published"

    # A newer draft of the same county does not displace the run in force on the pages.
    world["county_draft"]()
    portrait = county.get(f"/firm/{e1}", params={"year": 2023}).text
    assert f"sheet.xlsx?run={new}" in portrait
    assert "已被取代" in portrait  # the history lists the superseded run as such
    overview = county.get("/", params={"year": 2023}).text
    assert f"评价批次 {new} · 公示中" in overview
    rankings = county.get("/rankings", params={"year": 2023}).text
    assert new in rankings

    # The window closes: the platform makes the new run final, the old one stays superseded.
    try:
        clock.advance(days=3)
        assert settle_runs(world["app"].state.db, clock) == [new]
        assert (_status(world, run), _status(world, new)) == ("superseded", "final")
        assert settle_runs(world["app"].state.db, clock) == []
        county = world["client"]("county")
        page = county.get(f"/runs/{run}").text
        assert 'id="superseded"' in page and f'href="/runs/{new}"' in page
        assert 'id="final-note"' in county.get(f"/runs/{new}").text
        listing = county.get("/runs").text
        assert "已被取代" in listing and "定稿" in listing
    finally:
        clock.now = start

    # The whole history is kept: results, both notices and their annexes, the objection.
    assert _sql(world, "SELECT * FROM results WHERE run_id = ? ORDER BY uscc", [run]) == results
    pubs = _sql(
        world,
        "SELECT run_id, superseded_by, finalised_by FROM publications WHERE run_id IN (?, ?) "
        "ORDER BY publication_id",
        [run, new],
    )
    assert pubs == [(run, new, None), (new, None, "platform")]
    assert (world["base"] / "published" / run).is_dir()
    assert (world["base"] / "published" / new).is_dir()
    assert _sql(world, "SELECT status FROM confirmations WHERE confirmation_id = ?", [cid]) == [
        ("accepted",)
    ]
    with world["app"].state.db.reader() as r:
        entries = list(reversed(list_audit(r, limit=1000)[1]))
    moves = [
        (e.action, e.actor, (e.before or {}).get("status"), (e.after or {}).get("status"))
        for e in entries
        if e.object in (f"run:{run}", f"run:{new}")
    ]
    assert moves == [
        ("run.confirmation.open", "county", "draft", "confirming"),
        ("run.confirmation.open", "county", "confirming", "confirming"),
        ("run.publish", "county", "confirming", "published"),
        ("run.rerun", "county", "published", "draft"),
        ("run.publish", "county", "draft", "published"),
        ("run.supersede", "county", "published", "superseded"),
        ("run.finalise", "platform", "published", "final"),
    ]

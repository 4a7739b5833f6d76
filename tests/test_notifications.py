"""Notifications: enterprises hear when confirmation opens, when a publication covers their firm
and when their objection is decided; analysts whose region holds the firm hear of a new
objection; each notice also goes by SMS when the recipient has a phone. Scoped: nobody hears of
another firm or another county. The list, the bell and marking read, through API and pages."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from mujun.auth import Actor, Role, create_user
from mujun.evaluation import evaluate
from mujun.rules import load_rules
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.demo import build_demo_store, busiest_county
from mujun.web.testing import FakeClock, csrf_headers, logged_in_client, post

from .conftest import ROOT

PASSWORD = "Notice-pass-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PHONE = "13655558888"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 300-firm province, a county draft, analysts of two counties of one city, the province,
    and two firms: e1 in the draft's county (with a phone), e2 in the other county."""
    base = tmp_path_factory.mktemp("notices")
    db = base / "n.duckdb"
    build_demo_store(db, base / "data", enterprises=300)
    settings = WebSettings(db=db, **FAST_HASH)
    clock = FakeClock()
    with open_store(db) as store:
        k1, c1 = busiest_county(store)
        k2 = store.scalar(
            "SELECT county_code FROM enterprises WHERE city_code = ? AND county_code <> ? "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
            [c1, k1],
        )
        rules = load_rules(ROOT / "rules" / "zhejiang-default.yaml")
        run = evaluate(store, 2023, rules=rules, region=k1).run_id
        e1 = store.scalar("SELECT min(uscc) FROM results WHERE run_id = ?", [run])
        e2 = store.scalar("SELECT min(uscc) FROM enterprises WHERE county_code = ?", [k2])
        accounts = {
            "prov": (Role.PROVINCE_ADMIN, {}),
            "city": (Role.CITY_ANALYST, {"scope": c1}),
            "county": (Role.COUNTY_ANALYST, {"scope": k1, "phone": "13900001111"}),
            "county2": (Role.COUNTY_ANALYST, {"scope": k2}),
            e1: (Role.ENTERPRISE, {"uscc": e1, "phone": PHONE}),
            e2: (Role.ENTERPRISE, {"uscc": e2}),
        }
        for name, (role, attrs) in accounts.items():
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
    yield {"app": app, "clock": clock, "run": run, "e1": e1, "e2": e2, "k1": k1}
    app.state.db.close()


def _rows(world, sql, params=None):
    with world["app"].state.db.reader() as r:
        return r.rows(sql, params)


def _official(world, name):
    return logged_in_client(world["app"], name, PASSWORD)


def _enterprise(world, uscc):
    """Log the firm in by SMS code, read from the outbox as the gateway would deliver it."""
    c = TestClient(world["app"])
    world["clock"].advance(minutes=2)  # past the resend wait of an earlier login
    res = c.post("/api/v1/login/sms/code", json={"username": uscc}, headers=csrf_headers(c))
    assert res.status_code == 200, res.text
    text = _rows(
        world,
        "SELECT text FROM sms_outbox WHERE username = ? AND kind = 'login-code' "
        "ORDER BY message_id DESC LIMIT 1",
        [uscc],
    )[0][0]
    code = re.search(r"验证码为 (\d{6})", text).group(1)
    res = c.post(
        "/api/v1/login/sms", json={"username": uscc, "code": code}, headers=csrf_headers(c)
    )
    assert res.status_code == 200, res.text
    return c


def _kinds(world, username):
    return [
        k
        for (k,) in _rows(
            world,
            "SELECT kind FROM notifications WHERE username = ? ORDER BY notification_id",
            [username],
        )
    ]


def test_each_workflow_step_notifies_exactly_the_people_it_concerns(world):
    run, e1, e2 = world["run"], world["e1"], world["e2"]
    county = _official(world, "county")
    res = post(county, f"/api/v1/runs/{run}/confirmation/land", {"closes_on": "2030-01-20"})
    assert res.status_code == 200, res.text
    firms = _rows(world, "SELECT count(DISTINCT uscc) FROM results WHERE run_id = ?", [run])[0][0]
    # Only e1 (and e2) have accounts; only e1's firm is in the county's run.
    assert _kinds(world, e1) == ["confirmation.open"] and _kinds(world, e2) == []
    assert firms > 1
    ((title, body, link),) = _rows(
        world, "SELECT title, body, link FROM notifications WHERE username = ?", [e1]
    )
    assert "用地面积确认已开放" in title and "2030-01-20" in body and link == f"/confirm?run={run}"
    sms = _rows(world, "SELECT phone, text FROM sms_outbox WHERE kind = 'confirmation.open'")
    assert sms == [(PHONE, sms[0][1])] and "用地面积确认已开放" in sms[0][1]

    ent = _enterprise(world, e1)
    res = ent.post(
        f"/api/v1/confirmations/{run}/land_own_mu/contest",
        data={"reason": "土地证面积有误", "proposed_value": "1.5"},
        files={"evidence": ("land.pdf", PDF, "application/pdf")},
        headers=csrf_headers(ent),
    )
    assert res.status_code == 201, res.text
    cid = res.json()["filing"]["confirmation_id"]
    # The county, its city and the province hear of it; the other county does not.
    for name in ("county", "city", "prov"):
        assert _kinds(world, name) == ["objection.new"], name
    assert _kinds(world, "county2") == []
    link = _rows(world, "SELECT link FROM notifications WHERE username = 'county'")[0][0]
    assert link == f"/objections/{cid}"
    # The county analyst has a phone: an SMS too; the others have none.
    assert _rows(world, "SELECT phone FROM sms_outbox WHERE kind = 'objection.new'") == [
        ("13900001111",)
    ]

    res = post(county, f"/api/v1/objections/{cid}/reject", {"note": "与不动产权证不符"})
    assert res.status_code == 200, res.text
    assert _kinds(world, e1)[-1] == "objection.decided"
    body = _rows(world, "SELECT title, body FROM notifications WHERE kind = 'objection.decided'")
    assert len(body) == 1 and "未采纳" in body[0][0] and "与不动产权证不符" in body[0][1]

    res = post(
        county,
        f"/api/v1/runs/{run}/publish",
        {
            "basis": [{"title": "亩均评价办法", "doc_no": "台经信〔2030〕1号"}],
            "contact_phone": "0576-88888888",
        },
    )
    assert res.status_code == 201, res.text
    assert _kinds(world, e1)[-1] == "publication.open"
    pub = _rows(world, "SELECT body FROM notifications WHERE kind = 'publication.open'")
    assert len(pub) == 1 and "公示期" in pub[0][0] and "0576-88888888" in pub[0][0]
    assert _kinds(world, e2) == []


def test_users_read_only_their_own_notifications_and_mark_them_read(world):
    e1, e2 = world["e1"], world["e2"]
    ent = _enterprise(world, e1)
    listed = ent.get("/api/v1/notifications").json()
    assert listed["unread"] == listed["total"] == len(_kinds(world, e1)) >= 1
    assert {n["kind"] for n in listed["notifications"]} <= {
        "confirmation.open",
        "objection.decided",
        "publication.open",
    }
    # Another user's ids are ignored.
    county_ids = [
        i
        for (i,) in _rows(
            world, "SELECT notification_id FROM notifications WHERE username = 'county'"
        )
    ]
    res = post(ent, "/api/v1/notifications/read", {"ids": county_ids})
    assert res.json()["marked"] == 0
    assert _rows(
        world,
        "SELECT count(*) FROM notifications WHERE username = 'county' AND read_at IS NOT NULL",
    ) == [(0,)]
    first = listed["notifications"][0]["notification_id"]
    res = post(ent, "/api/v1/notifications/read", {"ids": [first]})
    assert res.json() == {"ok": True, "marked": 1, "unread": listed["unread"] - 1}
    # The page shows the bell count, and "mark all" clears it.
    page = ent.get("/notifications")
    assert page.status_code == 200
    assert f'data-unread="{listed["unread"] - 1}"' in page.text or listed["unread"] == 1
    done = ent.post(
        "/notifications/read",
        data={"csrf_token": ent.cookies["mujun_csrf"]},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert ent.get("/api/v1/notifications").json()["unread"] == 0
    assert "data-unread" not in ent.get("/notifications").text
    # A firm without notices sees an empty list, never another firm's.
    other = _official(world, "county2")
    assert other.get("/api/v1/notifications").json()["total"] == 0
    assert e2 not in ent.get("/notifications").text

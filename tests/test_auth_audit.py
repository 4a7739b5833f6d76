"""The audit log: append-only, hash-chained, covering logins and writes with before and after."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

import mujun.auth.audit as audit_module
from mujun.auth import (
    Actor,
    Role,
    append_audit,
    audit_head,
    create_user,
    list_audit,
    verify_audit_chain,
)
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.testing import FakeClock, logged_in_client, login, post

PASSWORD = "Audit-pass-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
T0 = datetime(2030, 1, 7, 9, 0, 0, 123456)


@pytest.fixture
def logged(tmp_path):
    """A store with ten audit entries."""
    store = open_store(tmp_path / "a.duckdb")
    for i in range(10):
        append_audit(
            store,
            at=T0 + timedelta(seconds=i),
            actor=f"user{i % 3}",
            role="county_analyst",
            action="results.read",
            object=f"runs/E2023-0001/results?page={i}",
            result="ok",
            before={"n": i} if i % 2 else None,
            after={"名称": "企业", "n": i + 1},
            ip="127.0.0.1",
        )
    yield store
    store.close()


def test_an_untouched_chain_verifies(logged):
    assert verify_audit_chain(logged) == []
    seq, head = audit_head(logged)
    assert seq == 10 and len(head) == 64
    assert verify_audit_chain(logged, expect_head=(seq, head)) == []


def test_an_edited_entry_is_detected(logged):
    logged.execute("UPDATE audit_log SET result = 'denied' WHERE seq = 4")
    problems = verify_audit_chain(logged)
    assert len(problems) == 1 and "entry 4" in problems[0]


def test_an_edited_json_value_is_detected(logged):
    logged.execute("""UPDATE audit_log SET after = '{"n": 99}' WHERE seq = 6""")
    assert any("entry 6" in p for p in verify_audit_chain(logged))


def test_an_edit_that_also_rewrites_the_row_hash_breaks_the_next_link(logged):
    logged.execute(
        "UPDATE audit_log SET actor = 'someone-else', hash = repeat('a', 64) WHERE seq = 5"
    )
    problems = verify_audit_chain(logged)
    assert any("entry 5" in p for p in problems)
    assert any("entry 6" in p and "chain" in p for p in problems)


def test_a_deleted_entry_is_detected(logged):
    logged.execute("DELETE FROM audit_log WHERE seq = 3")
    problems = verify_audit_chain(logged)
    assert any("entries 3..3 missing" in p for p in problems)
    assert any("entry 4" in p and "chain" in p for p in problems)


def test_deleting_the_newest_entries_is_detected_against_a_recorded_head(logged):
    head = audit_head(logged)
    logged.execute("DELETE FROM audit_log WHERE seq >= 9")
    assert verify_audit_chain(logged) == []  # a plain chain cannot see a cut tail …
    problems = verify_audit_chain(logged, expect_head=head)
    assert problems and "expected up to 10" in problems[0]  # … the recorded head can


def test_the_audit_module_offers_no_update_or_delete():
    public = [n for n in dir(audit_module) if not n.startswith("_")]
    assert not [n for n in public if any(w in n.lower() for w in ("update", "delete", "remove"))]


def test_entries_read_back_with_their_json(logged):
    total, entries = list_audit(logged, actor="user1", limit=2)
    assert total == 3
    assert [e.seq for e in entries] == [8, 5]
    assert entries[0].after == {"名称": "企业", "n": 8}
    assert entries[0].logged_at == T0 + timedelta(seconds=7)


@pytest.fixture
def app(tmp_path):
    clock = FakeClock()
    settings = WebSettings(db=tmp_path / "w.duckdb", **FAST_HASH)
    with open_store(settings.db) as store:
        for name, role in (("sys", Role.SYSTEM_ADMIN), ("checker", Role.AUDIT_ADMIN)):
            create_user(
                store,
                username=name,
                role=role,
                now=clock(),
                actor=Actor("setup", "cli"),
                settings=settings,
                password=PASSWORD,
                must_change_password=False,
            )
    app = create_app(settings, clock=clock)
    yield app
    app.state.db.close()


def _entries(app, **filters):
    app.state.db.flush_audit()  # reads are logged within MUJUN_AUDIT_DELAY_MS
    with app.state.db.reader() as r:
        return list_audit(r, limit=1000, **filters)[1]


def test_logins_are_audited_with_actor_role_address_and_result(app):
    login(TestClient(app), "sys", "Wrong-pass-1")
    login(TestClient(app), "ghost", "Wrong-pass-1")
    login(TestClient(app), "sys", PASSWORD)
    rows = [(e.actor, e.role, e.action, e.result, e.ip) for e in _entries(app, action="login")]
    assert rows == [
        ("sys", "system_admin", "login", "ok", "testclient"),
        ("ghost", None, "login", "failure: bad-credentials", "testclient"),
        ("sys", "system_admin", "login", "failure: bad-credentials", "testclient"),
    ]


def test_writes_are_audited_with_before_and_after(app):
    client = logged_in_client(app, "sys", PASSWORD)
    res = post(
        client, "/api/v1/users", {"username": "cnt", "role": "county_analyst", "scope": "330102"}
    )
    assert res.status_code == 201
    assert post(client, "/api/v1/users/cnt/disable").status_code == 200
    created = _entries(app, action="user.create", actor="sys")[0]
    assert created.object == "user:cnt"
    assert created.before is None and created.after["scope"] == "330102"
    assert "password_hash" not in created.after
    disabled = _entries(app, action="user.disable")[0]
    assert (disabled.before, disabled.after) == ({"disabled": False}, {"disabled": True})


def test_the_audit_administrator_reads_and_verifies_the_log_and_is_audited_too(app):
    client = logged_in_client(app, "checker", PASSWORD)
    page = client.get("/api/v1/audit?page_size=5").json()
    assert page["total"] >= 3 and len(page["entries"]) <= 5
    assert page["entries"][0]["seq"] > page["entries"][-1]["seq"]
    assert client.get("/api/v1/audit/verify").json()["ok"] is True
    assert _entries(app, action="audit.read", actor="checker")
    with app.state.db.writer() as w:
        w.execute("DELETE FROM audit_log WHERE seq = 2")
    body = client.get("/api/v1/audit/verify").json()
    assert body["ok"] is False and body["problems"]

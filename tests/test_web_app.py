"""The app factory: no import-time state, one store per app, the cookie secret kept in the store,
and concurrent reads beside the one writer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from mujun.auth import Actor, Role, create_user, utcnow
from mujun.store import SCHEMA_VERSION, open_store
from mujun.web import WebSettings, create_app
from mujun.web.testing import logged_in_client, login

PASSWORD = "Factory-pass-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


def _secret(db) -> str | None:
    with open_store(db) as store:
        return store.scalar("SELECT value FROM app_secrets WHERE name = 'cookie_secret'")


def _add_user(settings: WebSettings, name: str) -> None:
    with open_store(settings.db) as store:
        create_user(
            store,
            username=name,
            role=Role.SYSTEM_ADMIN,
            now=utcnow(),
            actor=Actor("setup", "cli"),
            settings=settings,
            password=PASSWORD,
            must_change_password=False,
        )


def test_two_apps_on_two_stores_do_not_share_anything(tmp_path):
    a_settings = WebSettings(db=tmp_path / "a.duckdb", **FAST_HASH)
    b_settings = WebSettings(db=tmp_path / "b.duckdb", **FAST_HASH)
    _add_user(a_settings, "only-in-a")
    a, b = create_app(a_settings), create_app(b_settings)
    try:
        assert login(TestClient(a), "only-in-a", PASSWORD).status_code == 200
        assert login(TestClient(b), "only-in-a", PASSWORD).status_code == 401
        assert a.state.db is not b.state.db
    finally:
        a.state.db.close()
        b.state.db.close()


def test_the_cookie_secret_is_generated_once_and_kept_in_the_store(tmp_path):
    settings = WebSettings(db=tmp_path / "s.duckdb", **FAST_HASH)
    _add_user(settings, "keeper")
    app = create_app(settings)
    client = logged_in_client(app, "keeper", PASSWORD)
    app.state.db.close()
    secret = _secret(settings.db)
    assert secret and len(secret) >= 48
    # After a restart the same secret is used, so the session cookie still works.
    again = create_app(settings)
    try:
        survivor = TestClient(again)
        survivor.cookies = client.cookies
        assert survivor.get("/api/v1/me").status_code == 200
    finally:
        again.state.db.close()
    assert _secret(settings.db) == secret


def test_a_configured_cookie_secret_is_used_and_not_stored(tmp_path):
    settings = WebSettings(
        db=tmp_path / "c.duckdb", cookie_secret=SecretStr("from-the-environment-" * 3), **FAST_HASH
    )
    app = create_app(settings)
    app.state.db.close()
    assert _secret(settings.db) is None


def test_the_app_migrates_a_new_store(tmp_path):
    app = create_app(WebSettings(db=tmp_path / "new.duckdb"))
    try:
        with app.state.db.reader() as r:
            assert r.schema_version() == SCHEMA_VERSION >= 3
            for table in ("users", "sessions", "audit_log", "app_secrets"):
                assert r.table_exists(table)
    finally:
        app.state.db.close()


def test_reads_run_concurrently_beside_serialised_writes(tmp_path):
    settings = WebSettings(db=tmp_path / "p.duckdb", **FAST_HASH)
    _add_user(settings, "busy")
    app = create_app(settings)
    try:
        clients = [logged_in_client(app, "busy", PASSWORD) for _ in range(4)]

        def work(client: TestClient) -> list[int]:
            # /users reads; each login writes a session and an audit entry.
            return [client.get("/api/v1/users").status_code for _ in range(20)] + [
                login(TestClient(app), "busy", PASSWORD).status_code for _ in range(3)
            ]

        with ThreadPoolExecutor(4) as pool:
            codes = [code for result in pool.map(work, clients) for code in result]
        assert set(codes) == {200}
        with app.state.db.reader() as r:
            seqs = [s for (s,) in r.rows("SELECT seq FROM audit_log ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1))  # the chain stayed gap-free
    finally:
        app.state.db.close()


def test_the_logged_in_client_helper_logs_in_by_api_or_form_and_fails_on_a_refusal(tmp_path):
    settings = WebSettings(db=tmp_path / "h.duckdb", **FAST_HASH)
    _add_user(settings, "helper")
    app = create_app(settings)
    try:
        by_api = logged_in_client(app, "helper", PASSWORD)
        by_form = logged_in_client(TestClient(app), "helper", PASSWORD, form=True)
        for client in (by_api, by_form):
            assert client.get("/api/v1/me").json()["user"]["username"] == "helper"
        for form in (False, True):
            with pytest.raises(AssertionError, match="login as helper: 401"):
                logged_in_client(app, "helper", "Wrong-pass-2030", form=form)
    finally:
        app.state.db.close()

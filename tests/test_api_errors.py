"""One JSON error shape for the whole API, an error page for browsers, and CSRF on every write."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mujun.auth import Actor, Role, create_user
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.testing import FakeClock, csrf_headers, logged_in_client, login, post

PASSWORD = "Errors-pass-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
SHAPE = {"ok", "error", "errors", "status"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    db = tmp_path_factory.mktemp("errors") / "e.duckdb"
    clock = FakeClock()
    settings = WebSettings(db=db, **FAST_HASH)
    with open_store(db) as store:
        for name, role in (("sys", Role.SYSTEM_ADMIN), ("prov", Role.PROVINCE_ADMIN)):
            create_user(
                store,
                username=name,
                role=role,
                now=clock(),
                actor=Actor("test", "cli"),
                settings=settings,
                password=PASSWORD,
                must_change_password=False,
            )
    app = create_app(settings, clock=clock)
    yield app
    app.state.db.close()


@pytest.fixture
def sys_client(app):
    return logged_in_client(app, "sys", PASSWORD)


def test_the_error_shape_is_pinned(app, sys_client):
    # Two problems in one answer: both listed, joined by "; " in `error`.
    res = post(sys_client, "/api/v1/users", {"username": "x!", "role": "county_analyst"})
    body = res.json()
    assert res.status_code == 400
    assert set(body) == SHAPE
    assert body["ok"] is False and body["status"] == 400
    assert len(body["errors"]) == 2
    assert body["error"] == "; ".join(body["errors"])
    assert body == {"ok": False, "error": body["error"], "errors": body["errors"], "status": 400}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/runs", 401),
        ("/api/v1/me", 401),
        ("/api/v1/no-such-thing", 404),
        ("/api/v1/runs/E2023-0001/results?page_size=501", 401),
    ],
)
def test_anonymous_errors_have_the_same_shape(app, path, status):
    res = TestClient(app).get(path)
    assert res.status_code == status
    assert set(res.json()) == SHAPE and res.json()["status"] == status
    assert res.headers["content-type"].startswith("application/json")


def test_validation_errors_403_and_404_have_the_same_shape(app):
    client = logged_in_client(app, "prov", PASSWORD)
    for path, status in [
        ("/api/v1/runs/E2023-0001/results?page_size=501&page=0", 422),
        ("/api/v1/runs/E2023-0001", 404),
        ("/api/v1/users", 403),
    ]:
        res = client.get(path)
        body = res.json()
        assert (res.status_code, set(body), body["status"]) == (status, SHAPE, status)
        assert body["error"] == "; ".join(body["errors"])
    body = client.get("/api/v1/runs/E2023-0001/results?page_size=501&page=0").json()
    assert len(body["errors"]) == 2
    assert any("page_size" in e for e in body["errors"])
    res = client.post("/api/v1/password", content=b"{not json", headers=csrf_headers(client))
    assert res.status_code == 422 and set(res.json()) == SHAPE


def test_a_browser_gets_an_error_page_in_chinese_first(app):
    res = TestClient(app).get("/no-such-page", headers={"accept": "text/html"})
    assert res.status_code == 404
    assert res.headers["content-type"].startswith("text/html")
    text = res.text
    assert '<html lang="zh-CN">' in text
    assert text.index("未找到") < text.index("Not found")


def test_api_paths_answer_json_even_to_a_browser(app):
    res = TestClient(app).get("/api/v1/runs", headers={"accept": "text/html"})
    assert res.status_code == 401 and set(res.json()) == SHAPE


def test_a_login_without_a_csrf_token_is_refused(app):
    client = TestClient(app)
    res = client.post("/api/v1/login", json={"username": "sys", "password": PASSWORD})
    assert res.status_code == 403
    assert "CSRF" in res.json()["error"]
    assert "mujun_session" not in client.cookies


def test_a_wrong_csrf_token_is_refused(app):
    client = TestClient(app)
    csrf_headers(client)
    res = client.post(
        "/api/v1/login",
        json={"username": "sys", "password": PASSWORD},
        headers={"X-CSRF-Token": "forged.token"},
    )
    assert res.status_code == 403


def test_a_forged_csrf_cookie_that_matches_its_header_is_refused(app):
    # Double submit alone trusts any cookie; ours must carry the server's signature.
    client = TestClient(app)
    client.cookies.set("mujun_csrf", "attacker-chosen")
    res = client.post(
        "/api/v1/login",
        json={"username": "sys", "password": PASSWORD},
        headers={"X-CSRF-Token": "attacker-chosen"},
    )
    assert res.status_code == 403


def test_a_csrf_token_from_another_session_is_refused(app, sys_client):
    other = logged_in_client(app, "prov", PASSWORD)
    theirs = other.cookies["mujun_csrf"]
    sys_client.cookies.delete("mujun_csrf")
    sys_client.cookies.set("mujun_csrf", theirs, domain="testserver.local")
    res = sys_client.post(
        "/api/v1/users",
        json={"username": "via-csrf", "role": "system_admin"},
        headers={"X-CSRF-Token": theirs},
    )
    assert res.status_code == 403
    assert "会话" in res.json()["error"]


def test_a_browser_that_lost_its_session_token_can_still_log_in_again(app, sys_client):
    fresh = TestClient(app).get("/api/v1/csrf").json()["csrf_token"]
    sys_client.cookies.delete("mujun_csrf")
    sys_client.cookies.set("mujun_csrf", fresh, domain="testserver.local")
    assert post(sys_client, "/api/v1/logout").status_code == 403
    assert login(sys_client, "sys", PASSWORD).status_code == 200
    assert post(sys_client, "/api/v1/logout").status_code == 200


def test_every_state_changing_endpoint_refuses_a_missing_csrf_token(app, sys_client):
    paths = app.openapi()["paths"]
    unsafe = [
        (method, path)
        for path, ops in paths.items()
        for method in ops
        if method in ("post", "put", "patch", "delete")
    ]
    assert len(unsafe) >= 8
    for method, path in unsafe:
        url = path.replace("{username}", "prov")
        res = sys_client.request(method.upper(), url, json={})
        assert res.status_code == 403, (method, path, res.json())
        assert "CSRF" in res.json()["error"]


def test_a_csrf_token_in_a_form_field_is_accepted(app):
    client = TestClient(app)
    token = csrf_headers(client)["X-CSRF-Token"]
    # The form reaches the JSON login endpoint, which then rejects the body (422), so the
    # CSRF check passed.
    res = client.post("/api/v1/login", data={"csrf_token": token, "username": "sys"})
    assert res.status_code == 422


def test_responses_carry_security_headers_and_api_answers_are_not_cached(app):
    res = TestClient(app).get("/api/v1/health")
    assert res.json()["ok"] is True
    assert res.headers["x-content-type-options"] == "nosniff"
    assert res.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in res.headers["content-security-policy"]
    assert res.headers["cache-control"] == "no-store"


def test_cookies_are_httponly_and_samesite_lax(app):
    client = TestClient(app)
    res = login(client, "sys", PASSWORD)
    cookies = res.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("mujun_session="))
    csrf = next(c for c in cookies if c.startswith("mujun_csrf="))
    assert "HttpOnly" in session and "samesite=lax" in session.lower()
    assert "Secure" not in session  # off unless MUJUN_COOKIE_SECURE is set
    assert "HttpOnly" not in csrf  # the page's scripts echo it in a header


def test_secure_cookies_when_configured(tmp_path):
    settings = WebSettings(db=tmp_path / "s.duckdb", cookie_secure=True, **FAST_HASH)
    app = create_app(settings)
    try:
        res = TestClient(app).get("/api/v1/csrf")
        assert "Secure" in res.headers["set-cookie"]
    finally:
        app.state.db.close()


def test_the_openapi_document_is_served_and_no_cdn_docs_page(app):
    client = TestClient(app)
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/runs/{run_id}/results" in spec["paths"]
    assert client.get("/docs").status_code == 404

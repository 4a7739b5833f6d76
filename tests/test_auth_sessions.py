"""Sessions and passwords: idle expiry, lifetime, lockout, forced and periodic password change,
complexity, argon2 hashing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from mujun.auth import Actor, AuthSettings, Role, check_password_policy, create_user, set_disabled
from mujun.auth.passwords import generate_password, hash_password
from mujun.web import WebSettings, create_app
from mujun.web.testing import FakeClock, logged_in_client, login, post

PASSWORD = "Session-pass-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


class World:
    """A fresh app on an empty store with a settable clock."""

    def __init__(self, tmp_path):
        self.clock = FakeClock()
        self.settings = WebSettings(db=tmp_path / "s.duckdb", **FAST_HASH)
        self.app = create_app(self.settings, clock=self.clock)
        self.db = self.app.state.db

    def add(self, name: str, role: Role = Role.PROVINCE_ADMIN, must_change: bool = False) -> None:
        with self.db.writer() as w:
            create_user(
                w,
                username=name,
                role=role,
                now=self.clock(),
                actor=Actor("test", "cli"),
                settings=self.settings,
                password=PASSWORD,
                must_change_password=must_change,
            )

    def client(self, name: str | None = None, password: str = PASSWORD) -> TestClient:
        if name:
            return logged_in_client(self.app, name, password)
        return TestClient(self.app)

    def scalar(self, sql: str, params: list | None = None):
        with self.db.reader() as r:
            return r.scalar(sql, params)


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.db.close()


def test_a_login_returns_the_user_and_a_new_session_each_time(world):
    world.add("ana")
    client = TestClient(world.app)
    first = login(client, "ana", PASSWORD)
    assert first.status_code == 200
    assert first.json()["user"]["role"] == "province_admin"
    assert first.json()["csrf_token"] == client.cookies["mujun_csrf"]
    cookie = client.cookies["mujun_session"]
    assert client.get("/api/v1/me").json()["user"]["username"] == "ana"
    # Logging in again never keeps the old session id (no fixation), and ends the old one.
    assert login(client, "ana", PASSWORD).status_code == 200
    assert client.cookies["mujun_session"] != cookie
    assert world.scalar("SELECT count(*) FROM sessions") == 1


def test_the_store_keeps_a_hash_of_the_session_token_not_the_token(world):
    world.add("ana")
    client = world.client("ana")
    token = client.cookies["mujun_session"].rsplit(".", 1)[0]
    stored = world.scalar("SELECT session_id FROM sessions")
    assert stored != token and len(stored) == 64


def test_a_wrong_password_and_an_unknown_user_get_the_same_401(world):
    world.add("ana")
    wrong = login(TestClient(world.app), "ana", "Wrong-pass-2030")
    unknown = login(TestClient(world.app), "nobody", "Wrong-pass-2030")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_five_failures_lock_the_account_for_thirty_minutes(world):
    world.add("ana")
    client = TestClient(world.app)
    codes = [login(client, "ana", f"Wrong-pass-{i}").status_code for i in range(5)]
    assert codes == [401, 401, 401, 401, 403]
    res = login(client, "ana", PASSWORD)
    assert res.status_code == 403
    assert "锁定" in res.json()["error"]
    world.clock.advance(minutes=29)
    assert login(client, "ana", PASSWORD).status_code == 403
    world.clock.advance(minutes=2)
    assert login(client, "ana", PASSWORD).status_code == 200
    assert world.scalar("SELECT failed_logins FROM users WHERE username = 'ana'") == 0


def test_a_successful_login_resets_the_failure_count(world):
    world.add("ana")
    client = TestClient(world.app)
    for i in range(4):
        assert login(client, "ana", f"Wrong-{i}").status_code == 401
    assert login(client, "ana", PASSWORD).status_code == 200
    for i in range(4):
        assert login(client, "ana", f"Wrong-{i}").status_code == 401
    assert login(client, "ana", PASSWORD).status_code == 200


def test_concurrent_failures_are_each_counted(world):
    world.add("ana")
    with ThreadPoolExecutor(5) as pool:
        codes = list(
            pool.map(lambda i: login(TestClient(world.app), "ana", f"W-{i}").status_code, range(5))
        )
    assert sorted(codes) == [401, 401, 401, 401, 403]
    assert world.scalar("SELECT locked_until IS NOT NULL FROM users WHERE username = 'ana'")


def test_the_lockout_threshold_and_duration_are_settings(tmp_path):
    settings = WebSettings(
        db=tmp_path / "l.duckdb", lockout_failures=3, lockout_minutes=5, **FAST_HASH
    )
    assert AuthSettings().lockout_failures == 5 and AuthSettings().lockout_minutes == 30
    clock = FakeClock()
    app = create_app(settings, clock=clock)
    try:
        with app.state.db.writer() as w:
            create_user(
                w,
                username="bo",
                role=Role.SYSTEM_ADMIN,
                now=clock(),
                actor=Actor("t", "cli"),
                settings=settings,
                password=PASSWORD,
                must_change_password=False,
            )
        client = TestClient(app)
        assert [login(client, "bo", "x").status_code for _ in range(3)] == [401, 401, 403]
        clock.advance(minutes=6)
        assert login(client, "bo", PASSWORD).status_code == 200
    finally:
        app.state.db.close()


def test_a_session_ends_after_thirty_idle_minutes(world):
    world.add("ana")
    client = world.client("ana")
    world.clock.advance(minutes=29)
    assert client.get("/api/v1/me").status_code == 200
    # Activity moves the idle deadline.
    world.clock.advance(minutes=29)
    assert client.get("/api/v1/me").status_code == 200
    world.clock.advance(minutes=30, seconds=1)
    res = client.get("/api/v1/me")
    assert res.status_code == 401
    assert "空闲" in res.json()["error"]
    assert world.scalar("SELECT count(*) FROM sessions") == 0
    assert world.scalar("SELECT count(*) FROM audit_log WHERE action = 'session.timeout'") == 1
    # The cookie is useless from now on, even after a fresh request.
    assert client.get("/api/v1/me").status_code == 401


def test_a_session_ends_at_its_lifetime_even_when_active(world):
    world.add("ana")
    client = world.client("ana")
    for _ in range(12 * 3 - 1):
        world.clock.advance(minutes=20)
        assert client.get("/api/v1/me").status_code == 200
    world.clock.advance(minutes=20)
    res = client.get("/api/v1/me")
    assert res.status_code == 401 and "到期" in res.json()["error"]


def test_logout_ends_the_session(world):
    world.add("ana")
    client = world.client("ana")
    cookie = client.cookies["mujun_session"]
    assert post(client, "/api/v1/logout").status_code == 200
    replay = TestClient(world.app)
    replay.cookies.set("mujun_session", cookie)
    assert replay.get("/api/v1/me").status_code == 401


def test_a_forged_session_cookie_is_ignored(world):
    client = TestClient(world.app)
    client.cookies.set("mujun_session", "made-up.signature")
    assert client.get("/api/v1/me").status_code == 401


def test_the_first_login_forces_a_password_change_before_anything_else(world):
    world.add("ana", must_change=True)
    client = TestClient(world.app)
    res = login(client, "ana", PASSWORD)
    assert res.status_code == 200
    assert res.json()["password_change_required"]
    res = client.get("/api/v1/divisions")
    assert res.status_code == 403
    assert "修改口令" in res.json()["error"] and "/api/v1/password" in res.json()["error"]
    assert client.get("/api/v1/me").json()["password_change_required"]
    weak = post(client, "/api/v1/password", {"current_password": PASSWORD, "new_password": "abc"})
    assert weak.status_code == 400
    assert len(weak.json()["errors"]) == 2  # too short and too few character classes
    same = post(
        client, "/api/v1/password", {"current_password": PASSWORD, "new_password": PASSWORD}
    )
    assert same.status_code == 400
    ok = post(
        client, "/api/v1/password", {"current_password": PASSWORD, "new_password": "New-pass-2031"}
    )
    assert ok.status_code == 200
    assert client.get("/api/v1/divisions").status_code == 200
    assert client.get("/api/v1/me").json()["password_change_required"] is None
    assert login(TestClient(world.app), "ana", "New-pass-2031").status_code == 200


def test_a_password_change_needs_the_current_password(world):
    world.add("ana")
    client = world.client("ana")
    res = post(
        client,
        "/api/v1/password",
        {"current_password": "Guess-1234", "new_password": "New-pass-2031"},
    )
    assert res.status_code == 400 and "当前口令错误" in res.json()["error"]


def test_a_password_change_ends_the_other_sessions(world):
    world.add("ana")
    laptop, phone = world.client("ana"), world.client("ana")
    res = post(
        laptop, "/api/v1/password", {"current_password": PASSWORD, "new_password": "New-pass-2031"}
    )
    assert res.status_code == 200
    assert laptop.get("/api/v1/me").status_code == 200
    assert phone.get("/api/v1/me").status_code == 401


def test_a_password_older_than_ninety_days_must_be_changed(world):
    world.add("ana")
    client = world.client("ana")
    world.clock.advance(days=91)
    # A new login is needed after so long; the old password still logs in, then must change.
    client = world.client("ana")
    res = client.get("/api/v1/divisions")
    assert res.status_code == 403 and "90" in res.json()["error"]


def test_disabling_an_account_ends_its_sessions_and_blocks_login(world):
    world.add("ana")
    client = world.client("ana")
    with world.db.writer() as w:
        set_disabled(w, "ana", True, now=world.clock(), actor=Actor("test", "cli"))
    assert client.get("/api/v1/me").status_code == 401
    res = login(TestClient(world.app), "ana", PASSWORD)
    assert res.status_code == 403 and "停用" in res.json()["error"]


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        ("Ab1!", 1),  # too short, though it has four classes
        ("abcdefgh", 1),  # one class
        ("abcdefg1", 1),  # two classes
        ("abcdef1!", 0),  # three classes
        ("Abcdefg1", 0),
        ("ana-Pass-1", 1),  # contains the username
        ("short", 2),
    ],
)
def test_password_complexity_is_eight_characters_with_three_of_four_classes(password, problems):
    assert len(check_password_policy(password, AuthSettings(), username="ana")) == problems


def test_generated_passwords_meet_the_policy():
    for _ in range(50):
        assert check_password_policy(generate_password(), AuthSettings()) == []


def test_passwords_are_stored_as_argon2id_hashes_with_the_default_cost():
    stored = hash_password("Abcdefg1!", AuthSettings())
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "Abcdefg1!" not in stored

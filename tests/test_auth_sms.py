"""Enterprise login by SMS code: codes in the outbox, hashed at rest, expiry, single use, resend
and hourly limits, tries per code feeding the lockout, password login refused for SMS accounts,
the HTTP gateway driver against a real local HTTP server, and the audit trail."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from fastapi.testclient import TestClient

from mujun.auth import Actor, Role, create_user
from mujun.auth.phones import mask_phone, normalise_phone
from mujun.auth.sms import deliver_queued, gateway_for
from mujun.reference.uscc import make_uscc
from mujun.web import WebSettings, create_app
from mujun.web.testing import FakeClock, csrf_headers, logged_in_client, login

FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
FIRM = make_uscc("91", "330102", "MA2B3C4D")
OTHER = make_uscc("91", "330102", "MA2B3C5E")
PHONE = "13812341234"
PASSWORD = "Sms-world-2030"


class World:
    """An app on an empty store with one enterprise (phone on record) and a settable clock."""

    def __init__(self, tmp_path, **settings):
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.clock = FakeClock()
        self.settings = WebSettings(db=tmp_path / "sms.duckdb", **FAST_HASH, **settings)
        self.app = create_app(self.settings, clock=self.clock)
        self.db = self.app.state.db
        self.add(FIRM, Role.ENTERPRISE, uscc=FIRM, phone=PHONE)

    def add(self, name, role, **attrs):
        with self.db.writer() as w:
            create_user(
                w,
                username=name,
                role=role,
                now=self.clock(),
                actor=Actor("test", "cli"),
                settings=self.settings,
                password=PASSWORD,
                must_change_password=False,
                **attrs,
            )

    def rows(self, sql, params=None):
        self.db.flush_audit()  # reads are logged within MUJUN_AUDIT_DELAY_MS
        with self.db.reader() as r:
            return r.rows(sql, params)

    def last_code(self, username=FIRM) -> str:
        """The code in the newest login SMS to ``username``, read from the outbox."""
        text = self.rows(
            "SELECT text FROM sms_outbox WHERE username = ? AND kind = 'login-code' "
            "ORDER BY message_id DESC LIMIT 1",
            [username],
        )[0][0]
        return re.search(r"验证码为 (\d{6})", text).group(1)


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.db.close()


def ask(client, username=FIRM):
    return client.post(
        "/api/v1/login/sms/code", json={"username": username}, headers=csrf_headers(client)
    )


def enter(client, code, username=FIRM):
    return client.post(
        "/api/v1/login/sms",
        json={"username": username, "code": code},
        headers=csrf_headers(client),
    )


def test_phones_are_normalised_and_shown_masked():
    assert normalise_phone(" 138-1234-1234 ") == "13812341234"
    assert normalise_phone("+86 13812341234") == "13812341234"
    assert normalise_phone(13812341234.0) == "13812341234"  # a spreadsheet number
    assert normalise_phone("0571-88888888") is None  # a landline cannot receive codes
    assert normalise_phone("12812341234") is None
    assert mask_phone("13812341234") == "138****1234"


def test_an_enterprise_logs_in_with_the_code_sent_to_its_designated_phone(world):
    client = TestClient(world.app)
    sent = ask(client)
    assert sent.status_code == 200, sent.text
    assert sent.json()["phone"] == "138****1234"
    assert sent.json()["resend_after_seconds"] == 60
    ((phone, status, driver),) = world.rows("SELECT phone, status, driver FROM sms_outbox")
    assert (phone, status, driver) == (PHONE, "outbox", "outbox")
    code = world.last_code()
    # Only a keyed hash is stored: neither the code nor its plain SHA-256.
    stored = world.rows("SELECT code_hash FROM sms_codes")[0][0]
    assert code not in stored and len(stored) == 64
    assert stored != hashlib.sha256(code.encode()).hexdigest()
    answer = enter(client, code)
    assert answer.status_code == 200, answer.text
    assert answer.json()["user"]["username"] == FIRM
    assert answer.json()["user"]["phone"] == "138****1234"
    # No password is in use, so no password change is forced on an SMS account.
    assert answer.json()["password_change_required"] is None
    assert client.get("/api/v1/me").status_code == 200
    # Single use: the same code does not open a second session.
    other = TestClient(world.app)
    again = enter(other, code)
    assert again.status_code == 401
    assert "先获取验证码" in again.json()["error"]


def test_a_code_expires_after_five_minutes(world):
    client = TestClient(world.app)
    assert ask(client).status_code == 200
    code = world.last_code()
    world.clock.advance(minutes=5)
    answer = enter(client, code)
    assert answer.status_code == 401
    assert "已过期" in answer.json()["error"]


def test_a_new_code_waits_a_minute_and_at_most_five_an_hour(world):
    client = TestClient(world.app)
    assert ask(client).status_code == 200
    world.clock.advance(seconds=20)
    too_soon = ask(client)
    assert too_soon.status_code == 429
    assert too_soon.headers["Retry-After"] == "40"
    assert too_soon.json()["status"] == 429
    for _ in range(4):
        world.clock.advance(seconds=61)
        assert ask(client).status_code == 200
    world.clock.advance(seconds=61)
    capped = ask(client)
    assert capped.status_code == 429 and "过于频繁" in capped.json()["error"]
    # The first code of the hour leaves the window 3,600 s after it was sent.
    assert int(capped.headers["Retry-After"]) == 3600 - (20 + 5 * 61)
    assert len(world.rows("SELECT * FROM sms_outbox")) == 5
    # Only the newest code works: an older one is refused.
    codes = world.rows("SELECT text FROM sms_outbox ORDER BY message_id")
    first = re.search(r"(\d{6})", codes[0][0]).group(1)
    if first != world.last_code():
        assert enter(client, first).status_code == 401


def test_three_wrong_tries_burn_the_code_and_failures_feed_the_lockout(world):
    client = TestClient(world.app)
    assert ask(client).status_code == 200
    code = world.last_code()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(3):
        assert enter(client, wrong).status_code == 401
    # The right code no longer works once the tries are used up.
    burned = enter(client, code)
    assert burned.status_code == 401 and "失效" in burned.json()["error"]
    assert world.rows("SELECT failed_logins FROM users WHERE username = ?", [FIRM])[0][0] == 4
    # A fifth failure locks the account (MUJUN_LOCKOUT_FAILURES = 5): no code, no login.
    world.clock.advance(seconds=61)
    assert ask(client).status_code == 200
    locked = enter(client, wrong)
    assert locked.status_code == 403 and "锁定" in locked.json()["error"]
    world.clock.advance(seconds=61)
    assert ask(client).status_code == 403
    assert enter(client, world.last_code()).status_code == 403


def test_password_login_is_refused_for_an_sms_account_but_kept_for_officials(world):
    world.add("ana", Role.PROVINCE_ADMIN)
    client = TestClient(world.app)
    refused = login(client, FIRM, PASSWORD)
    assert refused.status_code == 403
    assert "短信验证码" in refused.json()["error"]
    assert login(client, "ana", PASSWORD).status_code == 200
    # Officials cannot use SMS codes, and the answer does not reveal the account exists.
    other = TestClient(world.app)
    assert ask(other, "ana").status_code == 400
    assert "没有该信用代码的企业账户" in ask(other, "ana").json()["error"]


def test_an_enterprise_without_a_phone_keeps_the_password_unless_sms_is_required(tmp_path):
    w = World(tmp_path / "a")
    w.add(OTHER, Role.ENTERPRISE, uscc=OTHER)
    assert login(TestClient(w.app), OTHER, PASSWORD).status_code == 200
    no_phone = ask(TestClient(w.app), OTHER)
    assert no_phone.status_code == 400 and "未登记" in no_phone.json()["error"]
    w.db.close()
    strict = World(tmp_path / "b", enterprise_password_fallback=False)
    strict.add(OTHER, Role.ENTERPRISE, uscc=OTHER)
    assert login(TestClient(strict.app), OTHER, PASSWORD).status_code == 403
    strict.db.close()


def test_every_step_is_audited_without_the_code_or_the_full_number(world):
    client = TestClient(world.app)
    ask(client)
    world.clock.advance(seconds=5)
    ask(client)  # refused: too soon
    enter(client, "999999" if world.last_code() != "999999" else "888888")
    enter(client, world.last_code())
    entries = world.rows(
        "SELECT action, result, after::VARCHAR FROM audit_log WHERE actor = ? ORDER BY seq", [FIRM]
    )
    assert [(a, r) for a, r, _ in entries] == [
        ("sms.code", "sent"),
        ("sms.code", "refused: too-soon"),
        ("login", "failure: bad-code"),
        ("login", "ok"),
    ]
    text = json.dumps(entries, ensure_ascii=False).replace("\\", "")
    assert PHONE not in text and world.last_code() not in text
    assert "138****1234" in text and '"method":"sms"' in text


def test_the_system_administrator_reads_the_outbox_and_sets_phones(world):
    world.add("sys", Role.SYSTEM_ADMIN)
    world.add("ana", Role.PROVINCE_ADMIN)
    world.add(OTHER, Role.ENTERPRISE, uscc=OTHER)
    ask(TestClient(world.app))
    admin = logged_in_client(world.app, "sys", PASSWORD)
    outbox = admin.get("/api/v1/sms/outbox").json()
    assert outbox["total"] == 1 and outbox["messages"][0]["kind"] == "login-code"
    set_it = admin.put(
        f"/api/v1/users/{OTHER}/phone", json={"phone": "139 0000 1111"}, headers=csrf_headers(admin)
    )
    assert set_it.status_code == 200 and set_it.json()["phone"] == "139****1111"
    bad = admin.put(
        f"/api/v1/users/{OTHER}/phone", json={"phone": "12345"}, headers=csrf_headers(admin)
    )
    assert bad.status_code == 400 and "手机号码无效" in bad.json()["error"]
    # Other roles may not read the outbox (login codes are in it).
    analyst = logged_in_client(world.app, "ana", PASSWORD)
    assert analyst.get("/api/v1/sms/outbox").status_code == 403
    assert world.rows("SELECT count(*) FROM audit_log WHERE action = 'sms.outbox.read'")[0][0] == 1


def test_the_login_page_sends_a_code_and_logs_in_without_javascript(world):
    client = TestClient(world.app)
    page = client.get("/login/sms")
    assert page.status_code == 200 and "获取验证码" in page.text
    csrf = client.cookies["mujun_csrf"]
    sent = client.post(
        "/login/sms", data={"csrf_token": csrf, "username": FIRM.lower(), "action": "send"}
    )
    assert sent.status_code == 200 and "138****1234" in sent.text
    done = client.post(
        "/login/sms",
        data={"csrf_token": csrf, "username": FIRM, "code": world.last_code(), "action": "login"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "mujun_session" in client.cookies


class _Gateway(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []
    fail_next = 0

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body["auth"] = self.headers.get("Authorization")
        if _Gateway.fail_next:
            _Gateway.fail_next -= 1
            self.send_response(503)
        else:
            _Gateway.received.append(body)
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_the_http_driver_posts_queued_messages_to_the_gateway_and_retries(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/sms"
        w = World(tmp_path, sms_driver="http", sms_http_url=url, sms_http_token="t0ken")
        ask(TestClient(w.app))
        assert w.rows("SELECT status FROM sms_outbox") == [("queued",)]
        _Gateway.fail_next = 1
        gateway = gateway_for(w.settings)
        assert deliver_queued(w.db, gateway, w.clock) == (0, 0)  # 503: tried once, kept
        assert w.rows("SELECT status, tries, error FROM sms_outbox") == [("queued", 1, "HTTP 503")]
        assert deliver_queued(w.db, gateway, w.clock) == (1, 0)
        assert w.rows("SELECT status, tries FROM sms_outbox") == [("sent", 2)]
        (got,) = _Gateway.received
        assert got["phone"] == PHONE and got["auth"] == "Bearer t0ken"
        assert re.search(r"验证码为 (\d{6})", got["text"]).group(1) == w.last_code()
        w.db.close()
    finally:
        server.shutdown()


def test_the_dispatcher_thread_delivers_a_login_code_at_once(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Gateway.received.clear()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/sms"
        w = World(tmp_path, sms_driver="http", sms_http_url=url)
        with TestClient(w.app) as client:  # runs the lifespan: the dispatcher starts
            assert ask(client).status_code == 200
            for _ in range(100):
                if w.rows("SELECT status FROM sms_outbox") == [("sent",)]:
                    break
                threading.Event().wait(0.05)
            assert w.rows("SELECT status FROM sms_outbox") == [("sent",)]
        assert len(_Gateway.received) == 1
    finally:
        server.shutdown()


def test_users_import_takes_the_designated_phone_from_the_register(tmp_path, profiles):
    from mujun.auth.users import get_user, import_enterprise_users, set_phone
    from mujun.ingest import ingest_directory
    from mujun.store import open_store
    from mujun.validate import validate_year

    firms = [make_uscc("91", "330102", f"MA{i:05d}X") for i in range(4)]
    data = tmp_path / "2030"
    data.mkdir()
    rows = [
        "统一社会信用代码,企业名称,区县代码,行业代码,是否规上,联系人手机",
        f"{firms[0]},甲鞋业有限公司,330102,C1952,是,138 1234 1234",
        f"{firms[1]},乙机械有限公司,330102,C3411,否,0571-88886666",
        f"{firms[2]},丙纺织有限公司,330102,C1711,是,",
        f"{firms[3]},丁电子有限公司,330102,C3981,是,13900001111",
    ]
    (data / "市场监管_企业名录_2030.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with open_store(tmp_path / "reg.duckdb") as store:
        ingest_directory(store, data, 2030, profiles)
        validate_year(store, 2030, profiles)
        now, actor = FakeClock()(), Actor("test", "cli")
        # An administrator's number is never overwritten by the register's.
        create_user(
            store,
            username=firms[3],
            role=Role.ENTERPRISE,
            uscc=firms[3],
            now=now,
            actor=actor,
            settings=WebSettings(**FAST_HASH),
        )
        set_phone(store, firms[3], "13700002222", now=now, actor=actor)
        report = import_enterprise_users(store, 2030, now=now, actor=actor)
        assert (report.created, report.existing, report.phones_set, report.bad_phones) == (
            3,
            1,
            1,
            1,
        )
        phones = [get_user(store, f).phone for f in firms]
        assert phones == ["13812341234", None, None, "13700002222"]
        sheet = {u: p for u, _, p in report.passwords}
        assert sheet[firms[0]].startswith("短信验证码登录") and "138****1234" in sheet[firms[0]]
        assert "短信" not in sheet[firms[1]]  # no valid phone: an initial password instead

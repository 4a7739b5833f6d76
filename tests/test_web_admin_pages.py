"""The administrators' pages: the audit log page (filters, Excel and CSV exports as text, chain
status, archiving) for the audit administrator only, and the SMS outbox page for the system
administrator only; /home sends other roles to their start page."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from python_calamine import CalamineWorkbook

from mujun.auth import Actor, Role, append_audit, create_user
from mujun.web import WebSettings, create_app
from mujun.web.testing import FakeClock, logged_in_client

PASSWORD = "Admin-pages-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
FIRM = "913301020000000001"
NOW = datetime(2030, 1, 7, 9, 0, 0)


@pytest.fixture
def world(tmp_path):
    clock = FakeClock(NOW)
    settings = WebSettings(db=tmp_path / "admin.duckdb", **FAST_HASH)
    app = create_app(settings, clock=clock)
    with app.state.db.writer() as w:
        for i, days in enumerate((400, 300, 10)):
            append_audit(
                w,
                at=NOW - timedelta(days=days),
                actor=FIRM,
                role="enterprise",
                action="result.read",
                object=f"pages/firm/{FIRM}",
                result=f"ok {i}",
            )
        for name, role in (
            ("auditor", Role.AUDIT_ADMIN),
            ("sys", Role.SYSTEM_ADMIN),
            ("ana", Role.PROVINCE_ADMIN),
        ):
            create_user(
                w,
                username=name,
                role=role,
                now=NOW,
                actor=Actor("test", "cli"),
                settings=settings,
                password=PASSWORD,
                must_change_password=False,
            )
    clients = {}
    for name in ("auditor", "sys", "ana"):
        clients[name] = logged_in_client(app, name, PASSWORD)
    yield app, clients
    app.state.db.close()


def test_the_audit_page_filters_exports_and_archives_for_the_audit_administrator(world):
    _, c = world
    auditor = c["auditor"]
    page = auditor.get("/audit", params={"actor": FIRM, "since": "2029-01-01"})
    assert page.status_code == 200
    assert 'data-ok="yes"' in page.text and page.text.count("pages/firm/") == 2
    xlsx = auditor.get("/audit.xlsx", params={"actor": FIRM})
    rows = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content)).get_sheet_by_name("审计日志")
    rows = rows.to_python()
    assert [r[2] for r in rows[1:]] == [FIRM] * 3  # the credit code stays text
    got = list(
        csv.reader(
            io.StringIO(
                auditor.get("/audit.csv", params={"until": "2029-01-01"}).content.decode(
                    "utf-8-sig"
                )
            )
        )
    )
    assert [r[6] for r in got[1:]] == ["ok 0"]  # only the entry logged before 2029-01-02
    done = auditor.post(
        "/audit/archive", data={"csrf_token": auditor.cookies["mujun_csrf"]}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/audit?archived=1-2"
    after = auditor.get("/audit?archived=1-2")
    assert "已归档第 1-2 条" in after.text and 'data-ok="yes"' in after.text
    assert "audit-archive-0001-1-2.jsonl" in after.text
    for name in ("sys", "ana"):
        assert c[name].get("/audit").status_code == 403
        assert c[name].get("/audit.csv").status_code == 403


def test_the_sms_outbox_page_is_for_the_system_administrator_only(world):
    _, c = world
    assert c["sys"].get("/admin/sms").status_code == 200
    assert c["auditor"].get("/admin/sms").status_code == 403
    assert c["ana"].get("/admin/sms").status_code == 403
    # Officials have no enterprise home page: back to their start page.
    home = c["ana"].get("/home", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/"

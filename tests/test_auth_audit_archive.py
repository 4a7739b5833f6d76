"""Audit log export (CSV and Excel, values as text), the retention setting, archiving of old
entries with an anchor (the chain still verifies) and detection of tampering afterwards; the
`mujun audit` commands and the audit administrator's API."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError
from python_calamine import CalamineWorkbook

from mujun.auth import Actor, Role, append_audit, audit_head, create_user, verify_audit_chain
from mujun.auth.audit_archive import archive_audit, export_audit, verify_archives
from mujun.auth.clock import utcnow
from mujun.auth.settings import AuthSettings
from mujun.errors import InputError
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.testing import FakeClock, csrf_headers, logged_in_client
from tests.conftest import run_mujun

FIRM = "913301020000000001"  # an all-digit object: Excel would turn it into 9.13E+17
T0 = datetime(2029, 1, 1, 8, 0, 0)
NOW = datetime(2030, 1, 7, 9, 0, 0)  # 371 days after T0
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
ACTOR = Actor("cli:test", "cli")


def fill(store, days: list[int], start: datetime = T0) -> None:
    """One entry per day offset from ``start``, alternating two actors and actions."""
    for i, d in enumerate(days):
        append_audit(
            store,
            at=start + timedelta(days=d),
            actor=FIRM if i % 2 else "ana",
            role="enterprise" if i % 2 else "county_analyst",
            action="login" if i % 2 else "results.read",
            object=f"user:{FIRM}" if i % 2 else f"runs/E2029-0001/results?q={FIRM}",
            result="ok",
            after={"n": i, "名称": "甲鞋业"},
        )


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "audit.duckdb")
    # 6 entries older than 180 days before NOW, then 4 within the retention.
    fill(s, [0, 10, 20, 30, 100, 150, 250, 300, 360, 370])
    yield s
    s.close()


def test_exports_keep_codes_and_hashes_as_text_and_follow_the_filters(store, tmp_path):
    n = export_audit(store, tmp_path / "all.xlsx")
    assert n == 10
    rows = CalamineWorkbook.from_path(str(tmp_path / "all.xlsx")).get_sheet_by_name("审计日志")
    rows = rows.to_python()
    assert rows[0][0] == "序号 seq" and len(rows) == 11
    assert rows[2][2] == FIRM and isinstance(rows[2][2], str)  # not 9.13301E+17
    assert len(rows[2][11]) == 64
    n = export_audit(
        store,
        tmp_path / "logins.csv",
        actor=FIRM,
        action="log",
        since=T0 + timedelta(days=5),
        until=T0 + timedelta(days=300),
    )
    with (tmp_path / "logins.csv").open(encoding="utf-8-sig") as f:
        got = list(csv.reader(f))
    assert n == 3 and [r[0] for r in got[1:]] == ["2", "4", "6"]
    assert all(r[2] == FIRM and r[4] == "login" for r in got[1:])
    with pytest.raises(InputError, match=r"\.csv 或 \.xlsx"):
        export_audit(store, tmp_path / "x.pdf")


def test_retention_below_six_months_is_refused_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("MUJUN_AUDIT_RETENTION_DAYS", "90")
    with pytest.raises(ValidationError, match="at least 180"):
        AuthSettings()
    monkeypatch.setenv("MUJUN_AUDIT_RETENTION_DAYS", "365")
    assert AuthSettings().audit_retention_days == 365


def test_archiving_moves_only_entries_older_than_the_retention_and_the_chain_still_verifies(
    store, tmp_path
):
    folder = tmp_path / "archive"
    with pytest.raises(InputError, match="至少保存 180 天"):
        archive_audit(store, folder, now=NOW, retention_days=30, actor=ACTOR)
    anchor = archive_audit(store, folder, now=NOW, retention_days=180, actor=ACTOR)
    assert (anchor["first_seq"], anchor["last_seq"], anchor["entries"]) == (1, 6, 6)
    lines = (folder / anchor["file_name"]).read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["seq"] for x in lines] == [1, 2, 3, 4, 5, 6]
    # Entries 7–10 stay, and the archive is itself an audited entry (11).
    assert [r[0] for r in store.rows("SELECT seq FROM audit_log ORDER BY seq")] == [7, 8, 9, 10, 11]
    assert store.scalar("SELECT action FROM audit_log WHERE seq = 11") == "audit.archive"
    assert verify_audit_chain(store) == []
    assert verify_archives(store, folder) == []
    # Nothing more is old enough; a later archive continues where the first stopped.
    assert archive_audit(store, folder, now=NOW, retention_days=180, actor=ACTOR) is None
    second = archive_audit(
        store, folder, now=NOW + timedelta(days=130), retention_days=180, actor=ACTOR
    )
    assert (second["first_seq"], second["last_seq"]) == (7, 8)
    assert verify_audit_chain(store) == [] and verify_archives(store, folder) == []


def test_after_archiving_tampering_and_deletion_are_still_detected(store, tmp_path):
    folder = tmp_path / "archive"
    anchor = archive_audit(store, folder, now=NOW, retention_days=180, actor=ACTOR)
    head = audit_head(store)
    # An edited remaining entry.
    store.execute("UPDATE audit_log SET result = 'denied' WHERE seq = 8")
    assert any("entry 8" in p for p in verify_audit_chain(store))
    store.execute("UPDATE audit_log SET result = 'ok' WHERE seq = 8")
    assert verify_audit_chain(store) == []
    # The first entry after the anchor deleted: a gap right after the archive.
    saved = store.rows("SELECT * FROM audit_log WHERE seq = 7")
    store.execute("DELETE FROM audit_log WHERE seq = 7")
    assert any("entries 7..7 missing" in p for p in verify_audit_chain(store))
    store.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", list(saved[0])
    )
    # An anchor removed to hide the archive: entries 1–6 are missing.
    store.execute("DELETE FROM audit_anchors")
    assert any("entries 1..6 missing" in p for p in verify_audit_chain(store))
    # A forged anchor that covers more entries (deleting 7 and 8 "as archived").
    store.execute(
        "INSERT INTO audit_anchors VALUES (1, 1, 8, (SELECT hash FROM audit_log WHERE seq = 8), "
        "8, ?, ?, ?, ?, 'x')",
        [NOW, anchor["file_name"], anchor["file_sha256"], NOW],
    )
    store.execute("DELETE FROM audit_log WHERE seq IN (7, 8)")
    assert any("does not match its audit.archive entry" in p for p in verify_audit_chain(store))
    # The newest entries cut off: only the recorded head catches it.
    assert any("missing at the end" in p for p in verify_audit_chain(store, (head[0] + 5, head[1])))


def test_an_edited_archive_file_is_detected(store, tmp_path):
    folder = tmp_path / "archive"
    anchor = archive_audit(store, folder, now=NOW, retention_days=180, actor=ACTOR)
    path = folder / anchor["file_name"]
    path.write_text(
        path.read_text(encoding="utf-8").replace('"ok"', '"denied"', 1), encoding="utf-8"
    )
    problems = verify_archives(store, folder)
    assert any("SHA-256" in p for p in problems) and any("entry 1 edited" in p for p in problems)
    path.unlink()
    assert any("archive file missing" in p for p in verify_archives(store, folder))


def test_the_audit_commands_export_verify_and_archive(tmp_path, monkeypatch):
    db = tmp_path / "cli.duckdb"
    with open_store(db) as s:
        # The command uses the real clock: three entries over 180 days old, two recent ones.
        fill(s, [0, 10, 20, 590, 595], start=utcnow() - timedelta(days=600))
    out = tmp_path / "audit.xlsx"
    res = run_mujun("audit", "export", "--out", str(out), "--db", str(db), "--action", "login")
    assert res.returncode == 0, res.stderr
    assert "已导出 2 条" in res.stdout
    res = run_mujun("audit", "verify", "--db", str(db))
    assert res.returncode == 0 and "the chain verifies" in res.stdout
    monkeypatch.setenv("MUJUN_AUDIT_RETENTION_DAYS", "179")
    res = run_mujun("audit", "archive", "--db", str(db))
    assert res.returncode == 2 and "at least 180" in res.stderr
    monkeypatch.delenv("MUJUN_AUDIT_RETENTION_DAYS")
    res = run_mujun("audit", "archive", "--db", str(db), "--dir", str(tmp_path / "arch"))
    assert res.returncode == 0, res.stderr
    assert "已归档第 1–3 条" in res.stdout
    res = run_mujun("audit", "verify", "--db", str(db), "--archives", str(tmp_path / "arch"))
    assert res.returncode == 0, res.stdout + res.stderr
    with open_store(db) as s:
        s.execute("UPDATE audit_log SET actor = 'mallory' WHERE action = 'audit.export'")
    res = run_mujun("audit", "verify", "--db", str(db))
    assert res.returncode == 1 and "content does not match hash" in res.stderr


def test_only_the_audit_administrator_exports_and_archives_through_the_api(tmp_path):
    clock = FakeClock(NOW)
    settings = WebSettings(db=tmp_path / "web.duckdb", **FAST_HASH)
    app = create_app(settings, clock=clock)
    with app.state.db.writer() as w:
        fill(w, [0, 10, 20])
        for name, role in (("auditor", Role.AUDIT_ADMIN), ("sys", Role.SYSTEM_ADMIN)):
            create_user(
                w,
                username=name,
                role=role,
                now=NOW,
                actor=ACTOR,
                settings=settings,
                password="Audit-pass-2030",
                must_change_password=False,
            )
    auditor = logged_in_client(app, "auditor", "Audit-pass-2030")
    sysadmin = logged_in_client(app, "sys", "Audit-pass-2030")
    res = auditor.get("/api/v1/audit/export?format=csv&action=results")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    got = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert [r[4] for r in got[1:]] == ["results.read", "results.read"]
    xlsx = auditor.get("/api/v1/audit/export")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert sysadmin.get("/api/v1/audit/export").status_code == 403
    assert sysadmin.post("/api/v1/audit/archive", headers=csrf_headers(sysadmin)).status_code == 403
    done = auditor.post("/api/v1/audit/archive", headers=csrf_headers(auditor))
    assert done.status_code == 200, done.text
    assert (done.json()["first_seq"], done.json()["last_seq"]) == (1, 3)
    again = auditor.post("/api/v1/audit/archive", headers=csrf_headers(auditor))
    assert again.status_code == 409
    verify = auditor.get("/api/v1/audit/verify").json()
    assert verify["ok"] is True
    assert auditor.get("/api/v1/audit/archives").json()["archives"][0]["entries"] == 3
    with app.state.db.reader() as r:
        exports = r.rows("SELECT result FROM audit_log WHERE action = 'audit.export'")
    assert exports == [("ok: 2 (csv)",), ("ok: 7 (xlsx)",)] or len(exports) == 2
    app.state.db.close()


def test_serve_refuses_a_retention_under_six_months_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("MUJUN_AUDIT_RETENTION_DAYS", "30")
    res = run_mujun("serve", "--db", str(tmp_path / "x.duckdb"), "--port", "1")
    assert res.returncode == 2
    assert "MUJUN_AUDIT_RETENTION_DAYS" in res.stderr and "at least 180" in res.stderr
    assert "Traceback" not in res.stderr

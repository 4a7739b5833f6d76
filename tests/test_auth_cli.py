"""``mujun users …`` and ``mujun serve`` as Typer commands (registered by the main CLI)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import typer
from fastapi.testclient import TestClient
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from mujun.auth import get_user, verify_audit_chain
from mujun.auth.cli import users_app
from mujun.store import open_store
from mujun.web import WebSettings, create_app, serve_command
from mujun.web.demo import build_demo_store
from mujun.web.testing import login

from .conftest import ROOT

runner = CliRunner()


def _cli() -> typer.Typer:
    # Registered the way the lead registers them in mujun.cli.
    app = typer.Typer()
    app.add_typer(users_app, name="users")
    app.command("serve")(serve_command)
    return app


def run(*args: str):
    return runner.invoke(_cli(), list(args))


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    base = tmp_path_factory.mktemp("users-cli")
    build_demo_store(base / "p.duckdb", base / "data", enterprises=300)
    return base / "p.duckdb"


@pytest.fixture
def db(province, tmp_path):
    copy = tmp_path / "p.duckdb"
    shutil.copy(province, copy)
    return copy


def test_users_add_prints_an_initial_password_that_must_be_changed(db):
    res = run(
        "users", "add", "hz-analyst", "--role", "city_analyst", "--scope", "330100", "--db", str(db)
    )
    assert res.exit_code == 0, res.output
    password = res.output.split("initial password:")[1].split()[0]
    app = create_app(WebSettings(db=db))
    try:
        client = TestClient(app)
        body = login(client, "hz-analyst", password).json()
        assert body["user"]["scope"] == "330100" and body["password_change_required"]
    finally:
        app.state.db.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "county_analyst", "--scope", "330100"], "county-level code"),
        (["--role", "city_analyst"], "city code"),
        (["--role", "enterprise", "--uscc", "91330100MA2XXXXX0X"], "invalid credit code"),
        (["--role", "department_uploader"], "department"),
        (["--role", "system_admin", "--scope", "330100"], "takes no scope"),
        (["--role", "boss"], "unknown role"),
    ],
)
def test_users_add_refuses_an_inconsistent_account_in_one_line(db, args, message):
    res = run("users", "add", "someone", *args, "--db", str(db))
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output


def test_users_import_creates_enterprise_accounts_once(db, tmp_path):
    out = tmp_path / "passwords.xlsx"
    first = run("users", "import", "--year", "2023", "--out", str(out), "--db", str(db))
    assert first.exit_code == 0, first.output
    assert "created 300" in first.output
    with open_store(db) as store:
        n = store.scalar("SELECT count(*) FROM users WHERE role = 'enterprise'")
        must = store.scalar("SELECT bool_and(must_change_password AND username = uscc) FROM users")
        some = store.scalar("SELECT min(username) FROM users")
    assert (n, must) == (300, True)
    assert out.stat().st_mode & 0o077 == 0  # owner-only: it holds passwords
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    assert rows[0] == ["统一社会信用代码", "企业名称", "初始口令"] and len(rows) == 301
    assert all(isinstance(r[0], str) and len(r[0]) == 18 for r in rows[1:])
    again = run(
        "users", "import", "--year", "2023", "--out", str(tmp_path / "again.xlsx"), "--db", str(db)
    )
    assert again.exit_code == 0 and "created 0" in again.output and "existing 300" in again.output
    assert not (tmp_path / "again.xlsx").exists()
    with open_store(db) as store:
        assert store.scalar("SELECT count(*) FROM users") == 300
        assert get_user(store, some).must_change_password
        assert verify_audit_chain(store) == []


def test_an_imported_enterprise_logs_in_with_its_sheet_password_and_must_change_it(db, tmp_path):
    out = tmp_path / "passwords.csv"
    assert (
        run("users", "import", "--year", "2023", "--out", str(out), "--db", str(db)).exit_code == 0
    )
    uscc, _, password = out.read_text(encoding="utf-8-sig").splitlines()[1].split(",")
    app = create_app(WebSettings(db=db))
    try:
        body = login(TestClient(app), uscc, password).json()
        assert body["user"]["role"] == "enterprise" and body["password_change_required"]
    finally:
        app.state.db.close()


def test_users_passwd_list_and_disable(db):
    assert run("users", "add", "ops", "--role", "security_admin", "--db", str(db)).exit_code == 0
    res = run("users", "passwd", "ops", "--db", str(db))
    assert res.exit_code == 0 and "new password:" in res.output
    listed = run("users", "list", "--db", str(db))
    assert "ops" in listed.output and "security_admin" in listed.output
    assert "must change password" in listed.output
    assert run("users", "disable", "ops", "--db", str(db)).exit_code == 0
    assert "disabled" in run("users", "list", "--db", str(db)).output
    assert run("users", "disable", "ops", "--enable", "--db", str(db)).exit_code == 0
    with open_store(db) as store:
        assert not get_user(store, "ops").disabled
        actions = [r[0] for r in store.rows("SELECT action FROM audit_log ORDER BY seq")]
    assert actions == ["user.create", "password.reset", "user.disable", "user.enable"]
    assert run("users", "passwd", "ghost", "--db", str(db)).exit_code == 2


def test_a_setting_out_of_bounds_stops_users_and_serve_in_one_line(db, monkeypatch):
    monkeypatch.setenv("MUJUN_PASSWORD_MIN_LENGTH", "4")
    for args in (["users", "add", "ops", "--role", "system_admin"], ["serve", "--port", "1"]):
        res = run(*args, "--db", str(db))
        assert res.exit_code == 2, args
        assert res.output.strip() == (
            "error: MUJUN_PASSWORD_MIN_LENGTH: Input should be greater than or equal to 8"
        ), args
    with open_store(db) as store:
        assert get_user(store, "ops") is None


def test_every_command_group_stops_on_a_bad_setting_in_one_line(monkeypatch, tmp_path):
    from mujun.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MUJUN_DUCKDB_THREADS", "many")
    for args in (["runs", "list"], ["loweff", "list", "--year", "2023"], ["users", "list"]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert res.output.startswith("error: MUJUN_DUCKDB_THREADS: Input should be a valid integer")
        assert "Traceback" not in res.output


def test_every_command_has_chinese_first_help():
    for args in (
        ["users", "--help"],
        ["users", "add", "--help"],
        ["users", "import", "--help"],
        ["users", "passwd", "--help"],
        ["users", "list", "--help"],
        ["users", "disable", "--help"],
        ["users", "unlock", "--help"],
        ["serve", "--help"],
    ):
        res = run(*args)
        assert res.exit_code == 0
        first = next(line for line in res.output.splitlines() if "/" in line and line.strip())
        assert any("\u4e00" <= ch <= "\u9fff" for ch in first.split("/")[0]), (args, first)


def test_a_cli_write_while_the_server_holds_the_store_says_so(db):
    app = create_app(WebSettings(db=db))
    try:
        code = "from mujun.auth.cli import users_app; users_app(prog_name='mujun users')"
        res = subprocess.run(
            [sys.executable, "-c", code, "add", "late", "--role", "system_admin", "--db", str(db)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        app.state.db.close()
    assert res.returncode == 2
    assert "in use by another process" in res.stderr and "mujun serve" in res.stderr


def test_the_web_doc_lists_every_users_command_and_setting():
    doc = (ROOT / "docs" / "web.md").read_text(encoding="utf-8")
    for cmd in ("add", "import", "passwd", "list", "disable", "unlock"):
        assert f"mujun users {cmd}" in doc
    assert "mujun serve" in doc
    for field in WebSettings.model_fields:
        assert f"MUJUN_{field.upper()}" in doc, field

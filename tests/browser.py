"""Browser-test fixtures: a real `mujun serve` on a free port, and Playwright driving Debian's
Chromium (with a CJK font, so Chinese renders). Registered for every test module through
``pytest_plugins`` in ``tests/conftest.py``.

- ``live_server`` (session): a small province (1,000 firms, 2022–2023) ingested, validated,
  evaluated and both runs published, one account per role (``create_demo_users``, password
  ``LiveServer.password``, no forced change), served by ``python -m mujun serve`` in a
  subprocess; waits for ``/api/v1/health`` and stops the server at the end.
- ``browser`` (session) and ``page`` (per test, a fresh context: no cookies shared between tests).
- ``login_as(page, live_server, role)`` logs in through the form; ``screenshot(page, name)``
  saves ``test-artifacts/<name>.png``.

Browser tests are marked ``browser``. They skip, with the reason, only when Chromium or the
``playwright`` package is missing *and* the ``CI`` variable is unset; in CI (where
``make browser-deps`` installs Chromium) a missing browser fails them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mujun.auth import Role
from mujun.auth.settings import AuthSettings

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DEMO_PASSWORD = "Browser-demo-2030"
# Cheap hashes so logins are quick; the server is told the same so it does not rehash.
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
YEARS = (2022, 2023)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives headless Chromium against a live server")


def chromium_path() -> str | None:
    """Debian's Chromium, if installed."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    return shutil.which("chromium")


def require_browser() -> str:
    """The Chromium path; skip (outside CI) or fail (in CI) when it or playwright is missing."""
    missing = []
    path = chromium_path()
    if path is None:
        missing.append(
            "chromium is not installed (make browser-deps, or apt-get install -y "
            "chromium fonts-noto-cjk)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package is not installed (pip install -e '.[dev]')")
    if missing:
        reason = "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    assert path is not None
    return path


@dataclass(frozen=True)
class LiveServer:
    """A running `mujun serve`: its URL, store, runs and one account per role."""

    url: str
    db: Path
    runs: dict[int, str]
    accounts: dict[Role, str]
    password: str
    county: str
    city: str
    enterprise: str

    def username(self, role: Role) -> str:
        """The demo account of ``role``."""
        return self.accounts[role]


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _build(base: Path) -> tuple[Path, dict[int, str], dict[Role, str], tuple[str, str]]:
    from mujun.demo import generate_province
    from mujun.evaluation import evaluate
    from mujun.ingest import ingest_directory, load_profiles
    from mujun.rules import load_rules
    from mujun.settings import default_rules_dir
    from mujun.store import open_store
    from mujun.validate import validate_year
    from mujun.web.demo import busiest_county, create_demo_users, publish_demo_run

    db, data = base / "live.duckdb", base / "data"
    rules_dir = default_rules_dir()
    generate_province(data, enterprises=1000, years=YEARS, seed=11, fmt="csv")
    profiles = load_profiles(rules_dir / "sources")
    rule_set = load_rules(rules_dir / "zhejiang-default.yaml")
    runs = {}
    with open_store(db) as store:
        for year in YEARS:
            ingest_directory(store, data / str(year), year, profiles)
            validate_year(store, year, profiles)
            runs[year] = evaluate(store, year, rules=rule_set).run_id
            publish_demo_run(store, runs[year], base / "publications")
        accounts = create_demo_users(store, DEMO_PASSWORD, settings=AuthSettings(**FAST_HASH))
        place = busiest_county(store)
    return db, runs, {a.role: a.username for a in accounts}, place


def _wait_for_health(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"mujun serve exited with {proc.returncode}: {err[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"mujun serve did not answer {url}/api/v1/health within {timeout:.0f} s")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """A real server in a subprocess on a free port, over a small evaluated, published store."""
    base = tmp_path_factory.mktemp("live")
    db, runs, accounts, (county, city) = _build(base)
    port = free_port()
    env = {
        **os.environ,
        "MUJUN_ARGON2_TIME_COST": "1",
        "MUJUN_ARGON2_MEMORY_KIB": "1024",
        "MUJUN_ARGON2_PARALLELISM": "1",
        "MUJUN_PUBLISH_DIR": str(base / "publications"),
        "MUJUN_UPLOAD_DIR": str(base / "uploads"),
    }
    log = (base / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mujun", "serve", "--db", str(db), "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_health(url, proc)
        yield LiveServer(
            url=url,
            db=db,
            runs=runs,
            accounts=accounts,
            password=DEMO_PASSWORD,
            county=county,
            city=city,
            enterprise=accounts[Role.ENTERPRISE],
        )
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright, one per session (per xdist worker)."""
    path = require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser) -> Iterator[Any]:
    """A fresh page in its own context (Chinese locale, a desktop-sized window)."""
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 1440, "height": 1000}, timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(15_000)
    p = context.new_page()
    try:
        yield p
    finally:
        context.close()


def login_as(page: Any, server: LiveServer, role: Role, next_path: str = "/") -> None:
    """Log in through the login form as the demo account of ``role``."""
    page.goto(f"{server.url}/login?next={urllib.parse.quote(next_path, safe='/')}")
    page.fill("input[name=username]", server.username(role))
    page.fill("input[name=password]", server.password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/login" not in page.url, page.content()[:2000]


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Save ``test-artifacts/<name>.png`` and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path

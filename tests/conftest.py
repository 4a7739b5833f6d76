"""Shared fixtures: the shipped source profiles and fresh stores under tmp_path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Wide, plain terminal output for CLI tests (Rich wraps at 80 columns otherwise).
os.environ["COLUMNS"] = "200"
os.environ.setdefault("NO_COLOR", "1")

import pytest
from hypothesis import settings

from mujun.ingest import load_profiles
from mujun.store import open_store

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"

# Keep property tests quick on 2 cores.
settings.register_profile("mujun", max_examples=60, deadline=None)
settings.load_profile("mujun")


@pytest.fixture(scope="session")
def profiles():
    """The source profiles shipped in rules/sources."""
    return load_profiles(ROOT / "rules" / "sources")


@pytest.fixture
def store(tmp_path):
    """A new, empty, migrated store."""
    s = open_store(tmp_path / "test.duckdb")
    yield s
    s.close()


def run_mujun(*args: str) -> subprocess.CompletedProcess:
    """Run the real command line in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "mujun", *args], capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="session")
def small_province(tmp_path_factory):
    """A generated province (2,000 firms, 2022–2023, mixed formats) ingested through the CLI.

    Built once per test session (per xdist worker). Yields (data dir, store path); copy the
    store before writing to it.
    """
    base = tmp_path_factory.mktemp("province")
    out, db = base / "data", base / "p.duckdb"
    res = run_mujun(
        "demo-data",
        str(out),
        "--enterprises",
        "2000",
        "--years",
        "2022-2023",
        "--format",
        "mixed",
        "--seed",
        "7",
    )
    assert res.returncode == 0, res.stderr
    for year in (2022, 2023):
        res = run_mujun("ingest", str(out / str(year)), "--year", str(year), "--db", str(db))
        assert res.returncode == 0, res.stderr
    return out, db


# Browser-test fixtures (live_server, browser, page): a real server and headless Chromium.
pytest_plugins = ["tests.browser"]

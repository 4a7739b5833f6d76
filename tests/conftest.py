"""Shared fixtures: the shipped source profiles and fresh stores under tmp_path."""

from __future__ import annotations

import os
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

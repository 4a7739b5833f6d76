"""The pages' read models are computed in the background after start-up and after each data
write (``mujun.web.warm``), so the first request does not pay for them. Real store, real app."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.demo import build_demo_store
from mujun.web.warm import warm_once

FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("warm")
    db = base / "w.duckdb"
    run = build_demo_store(db, base / "data", enterprises=300, seed=5)
    with open_store(db) as store:
        store.execute("UPDATE runs SET status = 'published'")
        year = store.scalar("SELECT year FROM runs WHERE run_id = ?", [run])
    return {"db": db, "run": run, "year": year}


def _models(run: str, year: int) -> list[tuple]:
    return [
        ("runs",),
        ("run_counties",),
        ("county_stats", run),
        ("run_table", run),
        ("items", run),
        ("cohorts", run),
        ("robustness", run),
        ("register", year),
        ("land", year),
        ("issues",),
    ]


def test_start_up_and_every_data_write_prepare_the_models_of_the_run_in_force(world):
    app = create_app(WebSettings(db=world["db"], **FAST_HASH))
    db, warmer = app.state.db, app.state.warmer
    models = _models(world["run"], world["year"])
    assert not any(key in db.cache for key in models)
    with TestClient(app):  # start-up
        assert warmer.wait(120)
        assert warmer.rounds >= 1
        assert [key for key in models if key not in db.cache] == []
        # A write that changes data starts a new generation: nothing is held for it until the
        # warmer has run again.
        rounds = warmer.rounds
        with db.writer() as w:
            w.execute("UPDATE runs SET status = status")
        assert warmer.wait(120)
        assert warmer.rounds > rounds
        assert [key for key in models if key not in db.cache] == []
        # A write of accounts, sessions or the audit log alone keeps the generation.
        rounds = warmer.rounds
        with db.writer(data=False) as w:
            w.execute("SELECT 1")
        assert warmer.wait(120) and warmer.rounds == rounds


def test_a_store_without_runs_warms_without_error(tmp_path):
    path = tmp_path / "empty.duckdb"
    with open_store(path):
        pass
    app = create_app(WebSettings(db=path, **FAST_HASH))
    assert warm_once(app.state.db) == []
    app.state.db.close()


def test_warming_can_be_switched_off(world):
    app = create_app(WebSettings(db=world["db"], warm_read_models=False, **FAST_HASH))
    assert app.state.warmer is None
    with TestClient(app):
        assert ("run_table", world["run"]) not in app.state.db.cache

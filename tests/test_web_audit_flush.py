"""Deferred audit of reads (``audit_delay_ms``): every read reaches the hash-chained log, in
order, within the delay, before any write, and at close; while the log cannot be written,
reads are refused rather than served unlogged. Real DuckDB stores, no mocks."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from mujun.auth import Actor
from mujun.auth.audit import append_audit_entries, record, verify_audit_chain
from mujun.store import open_store
from mujun.web.db import Database
from mujun.web.errors import HttpError

T0 = datetime(2030, 3, 1, 9)
READER = Actor("analyst", "county_analyst", "10.0.0.7")


def _store(tmp_path):
    path = tmp_path / "a.duckdb"
    with open_store(path):
        pass  # create the schema
    return path


def _log(db: Database) -> list[tuple]:
    with db.reader() as r:
        return r.rows("SELECT seq, actor, action, object FROM audit_log ORDER BY seq")


def _read(db: Database, i: int) -> int | None:
    return db.audit(READER, T0 + timedelta(seconds=i), "result.read", f"firm/{i}")


def test_queued_reads_are_committed_by_the_flusher_in_order(tmp_path):
    db = Database(_store(tmp_path), audit_delay_ms=20)
    try:
        assert [_read(db, i) for i in range(5)] == [None] * 5  # queued, not yet numbered
        deadline = time.monotonic() + 30  # the flusher's delay is 20 ms; allow a slow machine
        while len(_log(db)) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        rows = _log(db)
        assert [r[3] for r in rows] == [f"firm/{i}" for i in range(5)]
        assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
        with db.reader() as r:
            assert verify_audit_chain(r) == []
    finally:
        db.close()


def test_a_write_block_commits_the_reads_logged_before_it_first(tmp_path):
    db = Database(_store(tmp_path), audit_delay_ms=10**7)  # the flusher stays asleep
    try:
        _read(db, 1)
        _read(db, 2)
        assert _log(db) == []
        with db.writer(data=False) as w:
            record(w, Actor("admin", "system_admin"), T0 + timedelta(seconds=3), "user.add", "x")
        _read(db, 4)
        assert [r[2] for r in _log(db)] == ["result.read", "result.read", "user.add"]
        db.flush_audit()
        rows = _log(db)
        assert [(r[0], r[3]) for r in rows] == [
            (1, "firm/1"),
            (2, "firm/2"),
            (3, "x"),
            (4, "firm/4"),
        ]
        with db.reader() as r:
            assert verify_audit_chain(r) == []
    finally:
        db.close()


def test_close_commits_what_is_still_queued(tmp_path):
    path = _store(tmp_path)
    db = Database(path, audit_delay_ms=10**7)  # close() does not wait for the flusher's delay
    for i in range(3):
        _read(db, i)
    db.close()
    db.close()  # idempotent
    with open_store(path, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM audit_log WHERE action = 'result.read'") == 3
        assert verify_audit_chain(store) == []


def test_reads_are_refused_while_the_log_cannot_be_written_and_nothing_is_lost(tmp_path):
    db = Database(_store(tmp_path), audit_delay_ms=10**7)
    try:
        _read(db, 1)
        db.flush_audit()  # the database now knows the chain's head
        # Another process-level writer appends behind the database's back (a real, chained
        # entry): the head the database remembers is stale, so its next commit collides.
        append_audit_entries(
            db._store,
            [{"at": T0, "actor": "cli", "role": "cli", "action": "user.add", "object": "y"}],
        )
        _read(db, 2)
        db.flush_audit()  # fails: duplicate sequence number
        with pytest.raises(HttpError) as refused:
            _read(db, 3)
        assert refused.value.status == 503
        assert "audit log cannot be written" in str(refused.value.errors)
        assert [r[3] for r in _log(db)] == ["firm/1", "y"]  # firm/2 waits, not lost
        db.flush_audit()  # the retry reads the head afresh and commits the queue
        _read(db, 4)  # accepted again
        db.flush_audit()
        assert [r[3] for r in _log(db)] == ["firm/1", "y", "firm/2", "firm/4"]
        with db.reader() as r:
            assert verify_audit_chain(r) == []
    finally:
        db.close()


def test_without_a_delay_each_read_is_committed_before_audit_returns(tmp_path):
    db = Database(_store(tmp_path), audit_delay_ms=0)
    try:
        assert _read(db, 1) == 1
        assert _read(db, 2) == 2
        assert [r[3] for r in _log(db)] == ["firm/1", "firm/2"]
    finally:
        db.close()

"""The app's hold on the store, as design.md's "One writer" asks.

The server opens the DuckDB file read-write once. Every write (sessions, accounts, the audit
log, later uploads and runs) goes through :meth:`Database.writer`, which serialises writers
with a lock and makes each block one transaction. Reads use their own DuckDB cursor, so
requests read concurrently and see only committed data.

Two things keep reads cheap under load:

- A *data generation*: every write block that may change data the pages aggregate (runs,
  results, facts, publications …) bumps it when it commits; figures computed from the store
  (``mujun.web.cache``) are kept per generation, so the first read after such a write computes
  them afresh and every later one reuses them. Writes that only touch accounts, sessions or the
  audit log say so (``writer(data=False)``) and leave the generation alone.
- A *group commit* for the audit entries of reads (:meth:`Database.audit`): each request still
  returns only after its own entry is committed, hash-chained like any other, but entries of
  requests arriving together share one transaction (one commit, one fsync).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from mujun.auth.audit import Actor, append_audit_entries
from mujun.store import Store, open_store
from mujun.web.cache import DEFAULT_BUDGET_MB, ReadCache
from mujun.web.errors import HttpError


class CachedStore(Store):
    """A read store on a request's cursor that also carries the app's read cache."""

    def __init__(self, con: Any, path: Path, cache: ReadCache) -> None:
        super().__init__(con, path, read_only=True)
        self.cache = cache


@dataclass
class _PendingAudit:
    """An audit entry waiting for the group commit, and what became of it."""

    fields: dict[str, Any]
    seq: int | None = None
    error: BaseException | None = None


class Database:
    """One read-write store: a locked write path and a cursor per reader."""

    def __init__(
        self,
        path: Path,
        threads: int = 2,
        cache_mb: int = DEFAULT_BUDGET_MB,
        audit_delay_ms: int = 0,
    ) -> None:
        self.path = Path(path)
        self._store = open_store(self.path, threads=threads)
        self._lock = threading.Lock()
        self._closed = False
        self._generation = 0
        self._generation_listeners: list[Callable[[], None]] = []
        self._close_listeners: list[Callable[[], None]] = []
        self._writes = 0  # write blocks run (whatever they wrote), to know what is still current
        self._audit_head: tuple[int, str] | None = None  # the chain's head at _audit_head_writes
        self._audit_head_writes = -1
        self._sessions: dict[str, tuple[Any, Any]] = {}
        self._sessions_writes = 0
        self._sessions_lock = threading.Lock()
        self._audit_queue: list[_PendingAudit] = []
        self._audit_queue_lock = threading.Lock()
        self._audit_wakeup = threading.Condition(self._audit_queue_lock)
        self._audit_delay = audit_delay_ms / 1000
        self._audit_failure: BaseException | None = None
        self._flusher: threading.Thread | None = None
        self._closing = False
        self._stop = threading.Event()
        self.cache = ReadCache(self, cache_mb)

    def on_new_generation(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every write block that starts a new data generation."""
        self._generation_listeners.append(listener)

    @property
    def generation(self) -> int:
        """The data generation: bumped by every committed write block that may change data."""
        return self._generation

    @contextlib.contextmanager
    def reader(self) -> Iterator[CachedStore]:
        """A store on a fresh cursor, for reads from one request or thread, with the cache."""
        cursor = self._store.cursor()
        try:
            yield CachedStore(cursor, self.path, self.cache)
        finally:
            cursor.close()

    @contextlib.contextmanager
    def writer(self, *, data: bool = True) -> Iterator[Store]:
        """The one writer: exclusive, and atomic (rolled back if the block raises).

        ``data=False`` promises that the block writes only accounts, sessions or the audit log,
        none of which the read caches hold; any other write must leave the default, so that
        cached figures are recomputed after it."""
        bumped = False
        with self._lock:
            # Reads logged before this write come before it in the chain.
            if self._audit_delay > 0:
                self._write_audit_queue()
            try:
                with self._store.transaction():
                    yield self._store
                if data:
                    self._generation += 1
                    bumped = True
            finally:
                self._writes += 1  # sessions and the audit head are read afresh after it
        if bumped:  # outside the lock: listeners may read (and wait for nothing held here)
            for listener in list(self._generation_listeners):
                listener()

    def audit(
        self,
        actor: Actor,
        at: datetime,
        action: str,
        object: str | None = None,
        result: str = "ok",
        before: Any = None,
        after: Any = None,
    ) -> int | None:
        """Append one audit entry of a read; return its sequence number once it is committed,
        or None when it is left to the flusher (``audit_delay_ms`` > 0).

        Synchronously (delay 0), entries queued by concurrent requests are written together by
        whichever request gets the write lock first (group commit): one transaction, the chain
        in queue order. With a delay, the entry is queued and a background thread commits the
        queue every ``audit_delay_ms``, before every write block and when the store closes, so
        the log holds every read within that delay; while the log cannot be written, reads
        are refused (the error is raised here) rather than served unlogged."""
        pending = _PendingAudit(
            {
                "at": at,
                "actor": actor.name,
                "role": actor.role,
                "action": action,
                "object": object,
                "result": result,
                "before": before,
                "after": after,
                "ip": actor.ip,
            }
        )
        if self._audit_delay > 0:
            with self._audit_queue_lock:
                if self._audit_failure is not None:
                    raise HttpError(
                        503,
                        "审计日志暂时无法写入，机密数据的查询已暂停 / the audit log cannot be "
                        f"written ({type(self._audit_failure).__name__}); reads of confidential "
                        "data are paused until it can",
                    ) from self._audit_failure
                self._audit_queue.append(pending)
                if self._flusher is None:
                    self._flusher = threading.Thread(
                        target=self._flush_periodically, name="mujun-audit-flusher", daemon=True
                    )
                    self._flusher.start()
                self._audit_wakeup.notify()
            return None
        with self._audit_queue_lock:
            self._audit_queue.append(pending)
        with self._lock:
            # Whoever held the lock before may have committed this entry with its own.
            if pending.seq is None and pending.error is None:
                self._write_audit_queue()
        if pending.error is not None:
            raise pending.error
        assert pending.seq is not None
        return pending.seq

    def _write_audit_queue(self) -> None:
        """Commit every queued entry in one transaction (the caller holds the write lock)."""
        with self._audit_queue_lock:
            batch, self._audit_queue = self._audit_queue, []
        if not batch:
            return
        # The head is known while no other write block has run since the last batch.
        known = self._audit_head if self._audit_head_writes == self._writes else None
        try:
            written = append_audit_entries(self._store, [p.fields for p in batch], head=known)
        except BaseException as exc:
            self._audit_head_writes = -1
            for p in batch:
                p.error = exc
            if self._audit_delay > 0:  # keep them, in order, for the next try; refuse reads
                with self._audit_queue_lock:
                    self._audit_queue[:0] = batch
                    self._audit_failure = exc
            return
        self._audit_head, self._audit_head_writes = written[-1], self._writes
        for p, (seq, _hash) in zip(batch, written, strict=True):
            p.seq = seq
        if self._audit_failure is not None:
            with self._audit_queue_lock:
                self._audit_failure = None

    def flush_audit(self) -> None:
        """Commit the audit entries still queued (before reading the log, say)."""
        with self._lock:
            if not self._closed:
                self._write_audit_queue()

    def _flush_periodically(self) -> None:
        while True:
            with self._audit_queue_lock:
                while not self._audit_queue and not self._closing:
                    self._audit_wakeup.wait()
                if self._closing:
                    return  # close() commits what is left
                failing = self._audit_failure is not None
            # Gather what arrives meanwhile into the same transaction; after a failure, try
            # again a second later. close() cuts the wait short.
            if self._stop.wait(max(self._audit_delay, 1.0) if failing else self._audit_delay):
                return
            self.flush_audit()

    def peek_session(self, token_id: str) -> tuple[Any, Any] | None:
        """The (session, user) :meth:`cached_session` holds for a token, without reading the
        store (None when it holds none since the last write block)."""
        with self._sessions_lock:
            if self._sessions_writes != self._writes:
                return None
            return self._sessions.get(token_id)

    def cached_session(self, token_id: str, load: Callable[[], tuple[Any, Any] | None]):
        """The (session, user) of a session token, read with ``load`` once and kept until the
        next write block ends (a login, logout, touch, password or account change is one), so
        a change is seen by every request that starts after it."""
        with self._sessions_lock:
            writes = self._writes
            if self._sessions_writes != writes:
                self._sessions, self._sessions_writes = {}, writes
            found = self._sessions.get(token_id)
        if found is not None:
            return found
        found = load()
        with self._sessions_lock:
            if found is not None and self._writes == writes == self._sessions_writes:
                if len(self._sessions) >= 10_000:
                    self._sessions.clear()
                self._sessions[token_id] = found
        return found

    def on_close(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` first thing in :meth:`close` (to stop background readers)."""
        self._close_listeners.append(listener)

    def close(self) -> None:
        """Stop the background readers, commit the queued audit entries, then close the store
        (idempotent). A read still running on another thread (a request being cancelled at
        shutdown, say) is waited for, up to 60 s."""
        for listener in list(self._close_listeners):
            listener()
        with self._audit_queue_lock:
            self._closing = True
            self._stop.set()
            self._audit_wakeup.notify()
        if self._flusher is not None:
            self._flusher.join()
        with self._lock:
            if not self._closed:
                self._write_audit_queue()
                deadline = time.monotonic() + 60
                while True:
                    try:
                        self._store.close()
                        break
                    except duckdb.ResourceInUseException:  # a cursor is mid-query
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.05)
                self._closed = True

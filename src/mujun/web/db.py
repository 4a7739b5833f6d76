"""The app's hold on the store, as design.md's "One writer" asks.

The server opens the DuckDB file read-write once. Every write (sessions, accounts, the audit
log, later uploads and runs) goes through :meth:`Database.writer`, which serialises writers
with a lock and makes each block one transaction. Reads use their own DuckDB cursor, so
requests read concurrently and see only committed data.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from mujun.store import Store, open_store


class Database:
    """One read-write store: a locked write path and a cursor per reader."""

    def __init__(self, path: Path, threads: int = 2) -> None:
        self.path = Path(path)
        self._store = open_store(self.path, threads=threads)
        self._lock = threading.Lock()
        self._closed = False

    @contextlib.contextmanager
    def reader(self) -> Iterator[Store]:
        """A store on a fresh cursor, for reads from one request or thread."""
        cursor = self._store.con.cursor()
        try:
            yield Store(cursor, self.path, read_only=True)
        finally:
            cursor.close()

    @contextlib.contextmanager
    def writer(self) -> Iterator[Store]:
        """The one writer: exclusive, and atomic (rolled back if the block raises)."""
        with self._lock, self._store.transaction():
            yield self._store

    def close(self) -> None:
        """Close the store (idempotent)."""
        with self._lock:
            if not self._closed:
                self._store.close()
                self._closed = True

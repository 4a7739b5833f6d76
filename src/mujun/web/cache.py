"""Figures computed once per data generation and shared by every request.

The pages read the same few things over and over: the runs, the number of firms of each run
per county, a run's totals per county (classes, tax, value added, land), its ranking list and
its cohorts' values. A run is immutable, but the facts it is summed with and the runs' status
can change, so every entry belongs to one *data generation* of the store (see
``mujun.web.db``): a write that may change data starts a new generation and the next request
computes afresh. Entries are never shared across generations; scope filtering happens after
the lookup, on every request, exactly as in SQL.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from mujun.web.db import Database

T = TypeVar("T")

# A run of a province (113k firms) takes ~70 MB in all (results, items, cohorts), its year's
# register and land ~30 MB; the default budget keeps about ten runs. Least recently used entries go first.
DEFAULT_BUDGET_MB = 1024
_SMALL = 4096  # what an entry without ``nbytes`` is counted as


def entry_size(value: Any) -> int:
    """Bytes an entry holds, as far as it says (``nbytes``), else a small constant."""
    size = getattr(value, "nbytes", None)
    return int(size) if isinstance(size, int) else _SMALL


class ReadCache:
    """A generation-keyed, memory-bounded cache in which each entry is computed once."""

    def __init__(self, db: Database, budget_mb: int = DEFAULT_BUDGET_MB) -> None:
        self._db = db
        self._budget = budget_mb * 1024 * 1024
        self._lock = threading.Lock()
        self._generation = db.generation
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._sizes: dict[Hashable, int] = {}
        self._held = 0
        self._computing: dict[Hashable, threading.Lock] = {}
        self.computed = 0  # how many entries were computed (for tests and diagnostics)

    def __contains__(self, key: Hashable) -> bool:
        """Whether ``key`` is held for the current data generation."""
        with self._lock:
            return self._generation == self._db.generation and key in self._entries

    @property
    def held_bytes(self) -> int:
        """Bytes held by the current entries (as far as they say)."""
        return self._held

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The entry for ``key`` in the current generation, computing it if needed; requests
        asking for the same entry meanwhile wait for the one computation."""
        generation = self._db.generation
        while True:
            with self._lock:
                if generation > self._generation:  # a write since: drop what was computed before
                    self._entries.clear()
                    self._sizes.clear()
                    self._held = 0
                    self._computing.clear()
                    self._generation = generation
                current = generation == self._generation
                if current and key in self._entries:
                    self._entries.move_to_end(key)
                    return self._entries[key]
                if not current:  # this request began before a newer write: compute, keep nothing
                    break
                busy = self._computing.get(key)
                if busy is None:
                    busy = self._computing[key] = threading.Lock()
                    busy.acquire()
                    break
            with busy:  # another request is computing it: wait, then look again
                pass
        try:
            value = compute()
        except BaseException:
            if current:
                with self._lock:
                    self._computing.pop(key, None)
                busy.release()
            raise
        if current:
            with self._lock:
                if generation == self._generation:
                    size = entry_size(value)
                    self._entries[key], self._sizes[key] = value, size
                    self._held += size
                    while self._held > self._budget and len(self._entries) > 1:
                        old, _ = self._entries.popitem(last=False)
                        self._held -= self._sizes.pop(old)
                    self._computing.pop(key, None)
                    self.computed += 1
            busy.release()
        return value

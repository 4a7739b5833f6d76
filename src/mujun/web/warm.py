"""Read models computed ahead of the first request: after start-up and after each data write.

The pages answer from figures computed once per data generation (``mujun.web.readmodel``). The
first request after the server starts, or after a write that starts a new generation (a new
run, a publication, an accepted correction), would pay for them: a few seconds for a province's
portrait. A background thread computes, right after each such moment, what the pages ask for
first: the runs and their counties, every run in force's totals per county, and for the newest
run in force of the latest years its ranking table, items, cohorts, robustness analysis and the
year's register and land. A request that needs an entry while it is being computed waits for
that one computation (``mujun.web.cache``) instead of starting another.
"""

from __future__ import annotations

import logging
import threading

from mujun.web.db import Database
from mujun.web.readmodel import (
    cohort_values,
    county_stats,
    issue_rows_by_firm,
    item_rows,
    land_rows,
    register_rows,
    run_counties,
    run_robustness,
    run_rows,
    run_table,
)

log = logging.getLogger(__name__)
IN_FORCE = ("published", "final")


def warm_once(db: Database, years: int = 2, stop: threading.Event | None = None) -> list[str]:
    """Compute the read models the pages need first; return the runs fully prepared (fewer
    when ``stop`` is set meanwhile)."""
    stop = stop or threading.Event()
    with db.reader() as r:
        rows = run_rows(r)
        run_counties(r)
        in_force = [row for row in rows if row[1] == "evaluation" and row[3] in IN_FORCE]
        for row in in_force:
            if stop.is_set():
                return []
            county_stats(r, row[0])
        newest: dict[int, str] = {}
        for row in in_force:  # newest first
            newest.setdefault(row[2], row[0])
        prepared = []
        for year in sorted(newest, reverse=True)[:years]:
            if stop.is_set():
                return prepared
            run_id = newest[year]
            run_table(r, run_id)
            item_rows(r, run_id)
            cohort_values(r, run_id)
            run_robustness(r, run_id)
            register_rows(r, year)
            land_rows(r, year)
            prepared.append(run_id)
        issue_rows_by_firm(r)
    return prepared


class Warmer:
    """Runs :func:`warm_once` in a background thread whenever asked; asked again while it
    runs, it runs once more afterwards (the newer generation)."""

    def __init__(self, db: Database, years: int = 2) -> None:
        self._db, self._years = db, years
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False
        self._idle = threading.Event()
        self._idle.set()
        self._stop = threading.Event()
        self.rounds = 0  # completed rounds (for tests and diagnostics)
        db.on_new_generation(self.trigger)
        db.on_close(self.stop)

    def trigger(self) -> None:
        """Start a round now, or after the one running."""
        with self._lock:
            if self._stop.is_set():
                return
            if self._thread is not None:
                self._again = True
                return
            self._idle.clear()
            self._thread = threading.Thread(target=self._run, name="mujun-warm", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Start no more rounds and wait for the running one to give up (the store closes)."""
        self._stop.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no round is running or due (True), or ``timeout`` passes (False)."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            try:
                warm_once(self._db, self._years, self._stop)
            except Exception:  # a closed store at shutdown, say: the pages compute on demand
                log.warning("warming the read models failed", exc_info=True)
            with self._lock:
                self.rounds += 1
                if not self._again or self._stop.is_set():
                    self._thread = None
                    self._idle.set()
                    return
                self._again = False

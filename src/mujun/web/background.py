"""Work the server does in the background, through the one writer (design.md, "One writer").

- **Settling runs**: a published run whose objection window is over and whose objections have
  all been reviewed becomes final on its own (``finalise_due_runs``), at start-up and then every
  ``MUJUN_SETTLE_MINUTES``.
- **Upload jobs**: a department file uploaded from the browser is ingested and its year
  validated on one worker thread, one upload at a time, while the page polls its progress
  (:class:`UploadJobs`). Each job writes through ``Database.writer``, so it never races another
  writer, and a job that fails rolls back everything it wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from mujun.web.db import Database
from mujun.workflow.publication import PLATFORM, due_for_final, finalise_due_runs
from mujun.workflow.runs import local_today
from mujun.workflow.uploads import fail_stale_uploads

log = logging.getLogger("mujun.web")


def settle_runs(db: Database, clock: Callable[[], datetime]) -> list[str]:
    """Finalise the runs that are due (window over, objections reviewed); their ids."""
    with db.reader() as r:  # most sweeps find nothing: no write, cached page figures kept
        if not due_for_final(r, local_today(clock())):
            return []
    with db.writer() as w:
        return finalise_due_runs(w, now=clock(), actor=PLATFORM)


async def settle_periodically(db: Database, clock: Callable[[], datetime], minutes: float) -> None:
    """Settle runs now and then every ``minutes`` until cancelled."""
    while True:
        try:
            done = await run_in_threadpool(settle_runs, db, clock)
            if done:
                log.info("runs made final after their objection window: %s", ", ".join(done))
        except Exception:  # a failed sweep must not stop the next one
            log.exception("settling runs failed")
        await asyncio.sleep(minutes * 60)


def recover_uploads(db: Database, clock: Callable[[], datetime]) -> int:
    """Mark uploads left ``ingesting`` by a stopped server as failed (their ingest was rolled
    back with the process); how many."""
    with db.writer() as w:
        return fail_stale_uploads(w, now=clock(), actor=PLATFORM)


@dataclass
class Progress:
    """Where an upload job stands: a step out of ``STEPS`` and what it is doing."""

    step: str = "queued"
    detail: str = ""
    done: bool = False


class UploadJobs:
    """One worker thread running upload jobs in order, with their progress for the page."""

    STEPS = ("queued", "reading", "ingesting", "validating", "done")

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mujun-upload")
        self._lock = threading.Lock()
        self._progress: dict[int, Progress] = {}
        self._futures: dict[int, Future] = {}

    def submit(self, upload_id: int, job: Callable[[Callable[[str, str], None]], Any]) -> None:
        """Run ``job(report_progress)`` for ``upload_id`` on the worker thread."""
        with self._lock:
            self._progress[upload_id] = Progress()

        def report(step: str, detail: str = "") -> None:
            with self._lock:
                p = self._progress.setdefault(upload_id, Progress())
                p.step, p.detail = step, detail

        def run() -> Any:
            try:
                return job(report)
            finally:
                with self._lock:
                    self._progress[upload_id].done = True

        self._futures[upload_id] = self._pool.submit(run)

    def progress(self, upload_id: int) -> Progress | None:
        """The job's progress while this server runs it (None for another server's upload)."""
        with self._lock:
            p = self._progress.get(upload_id)
            return Progress(p.step, p.detail, p.done) if p else None

    def wait(self, upload_id: int, timeout: float | None = None) -> None:
        """Block until the job has finished (for tests and tools); its errors stay recorded."""
        future = self._futures.get(upload_id)
        if future is not None:
            with contextlib.suppress(Exception):
                future.result(timeout)

    def shutdown(self) -> None:
        """Finish the running job and stop the worker."""
        self._pool.shutdown(wait=True, cancel_futures=True)

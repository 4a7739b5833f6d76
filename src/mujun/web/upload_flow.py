"""Receiving one department file, shared by the upload page and the JSON API.

The steps: check the region, type and size and keep the bytes aside (at once, before anything
is stored); recognise the department (the whole file is read); keep the file under the upload
folder; ingest it and validate the year through the single write path, all or nothing.

:func:`receive_upload` runs them one after the other and answers with the report (the JSON API,
a page without htmx). :func:`start_upload` does the quick checks, records the upload as
``ingesting`` and leaves the rest to the server's upload worker
(:class:`mujun.web.background.UploadJobs`), whose progress the page polls. Every refusal or
failure is recorded on the upload and raised as a :class:`WorkflowError`; the callers turn it
into a page message or the API error.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

from mujun.auth.audit import Actor
from mujun.auth.roles import PROVINCE_CODE, Role
from mujun.auth.scope import covers, data_scope, region_condition
from mujun.auth.users import User
from mujun.store import Store
from mujun.web.db import Database
from mujun.workflow import WorkflowError
from mujun.workflow.settings import WorkflowSettings
from mujun.workflow.uploads import (
    Recognised,
    begin_upload,
    check_size,
    check_upload_name,
    fail_upload,
    ingest_upload,
    keep_file,
    recognise,
    safe_name,
    set_upload_department,
    sha256_of,
    source_profiles,
    spool,
)

Clock = Callable[[], datetime]
ReportProgress = Callable[[str, str], None]


def outside_region(store: Store, user: User, year: int) -> int:
    """Register firms of the year outside an analyst's region (0 for the other roles).

    A department file replaces the whole year's slot of its department, so an analyst may upload
    only when the year holds nothing outside their region.
    """
    region = data_scope(user).region or PROVINCE_CODE
    if user.role not in (Role.CITY_ANALYST, Role.COUNTY_ANALYST) or covers(region, PROVINCE_CODE):
        return 0
    if not store.table_exists("enterprises"):
        return 0
    cond, params = region_condition(region)
    return int(
        store.scalar(
            f"SELECT count(*) FROM enterprises WHERE year = ? AND NOT ({cond})", [year, *params]
        )
    )


def may_see_upload(user: User, upload: dict[str, Any]) -> bool:
    """Uploads a user may read: all (province), its department's (uploader), its own."""
    if user.role == Role.PROVINCE_ADMIN:
        return True
    if user.role == Role.DEPARTMENT_UPLOADER:
        return upload["department"] == user.department and upload["department"] is not None
    return upload["uploaded_by"] == user.username


@dataclass(frozen=True)
class Received:
    """A file that passed the quick checks, spooled aside until it is kept or dropped."""

    year: int
    name: str
    size: int
    sha256: str
    incoming: Path
    department: str | None  # an uploader's own department: the only one it may send

    def discard(self) -> None:
        """Remove the spooled copy (kept files were moved away already)."""
        shutil.rmtree(self.incoming.parent, ignore_errors=True)

    def upload_fields(self) -> dict[str, Any]:
        """The file's fields of its upload row (``begin_upload`` keywords)."""
        return {"year": self.year, "filename": self.name, "size": self.size, "sha256": self.sha256}


def _record_upload(db: Database, *, status: str, actor: Actor, now: datetime, **fields: Any) -> int:
    """Record an upload through the one writer (``begin_upload`` with ``fields``); its id."""
    with db.writer() as w:
        return begin_upload(w, status=status, actor=actor, now=now, **fields)


def _refuse(
    db: Database, exc: WorkflowError, *, actor: Actor, now: datetime, **fields: Any
) -> NoReturn:
    """Record a refused upload (``failed``, audited ``upload.refuse``) and raise ``exc``."""
    _record_upload(db, status="failed", actor=actor, now=now, message=exc.message, **fields)
    raise exc


def check_upload(
    db: Database,
    store: Store,
    settings: WorkflowSettings,
    *,
    user: User,
    actor: Actor,
    now: datetime,
    filename: str,
    stream: BinaryIO,
    year: int,
) -> Received:
    """The quick checks (region, type, size); the bytes spooled aside. Refusals are recorded."""
    assert settings.upload_dir is not None
    name = safe_name(filename)
    department = user.department if user.role == Role.DEPARTMENT_UPLOADER else None
    # The upload row of a refusal (no size or hash before the bytes are read).
    refused = {
        "year": year,
        "filename": name,
        "size": None,
        "sha256": None,
        "department": department,
        "actor": actor,
        "now": now,
    }
    if outside_region(store, user, year):
        _refuse(
            db,
            WorkflowError(
                "forbidden",
                f"{year} 年度数据含有您辖区以外的企业，部门文件将替换全年数据，只能由省级管理员上传 / "
                "the year holds firms outside your region and a file replaces the whole year's "
                "department data: the province administrator uploads it",
            ),
            **refused,
        )
    try:
        check_upload_name(filename)
    except WorkflowError as exc:
        _refuse(db, exc, **refused)
    data = stream.read(settings.upload_max_bytes + 1)
    try:
        check_size(len(data), settings.upload_max_bytes)
    except WorkflowError as exc:
        _refuse(db, exc, **(refused | {"size": len(data)}))
    incoming = spool(data, settings.upload_dir, name)
    return Received(year, name, len(data), sha256_of(data), incoming, department)


def recognise_department(received: Received, settings: WorkflowSettings) -> Recognised:
    """Which department's data the file holds; refused when unreadable, unknown, or another
    department's than an uploader's own."""
    found = recognise(received.incoming, source_profiles(settings.rules_dir))
    if received.department is not None and found.source != received.department:
        raise WorkflowError(
            "forbidden",
            f"该文件是{found.department}（{found.source}）数据，您只能上传本部门"
            f"（{received.department}）的文件 / this is {found.source} data; you may upload "
            f"{received.department} files only",
        )
    return found


def ingest_received(
    db: Database,
    settings: WorkflowSettings,
    upload_id: int,
    received: Received,
    *,
    actor: Actor,
    clock: Clock,
    progress: ReportProgress | None = None,
) -> dict[str, Any]:
    """Keep the file, ingest it and validate its year in one transaction; the report. On any
    failure everything is rolled back, the kept copy removed and the upload marked failed."""
    kept = keep_file(received.incoming, settings.upload_dir, upload_id, received.name)
    try:
        with db.writer() as w:
            return ingest_upload(
                w,
                upload_id,
                kept,
                year=received.year,
                profiles=source_profiles(settings.rules_dir),
                actor=actor,
                now=clock(),
                progress=progress,
            )
    except Exception as exc:
        # The store rolled back; the kept copy goes too, and the upload says why it failed.
        shutil.rmtree(kept.parent, ignore_errors=True)
        message = exc.message if isinstance(exc, WorkflowError) else "导入失败 / ingest failed"
        with db.writer() as w:
            fail_upload(w, upload_id, message, actor=actor, now=clock())
        raise


def receive_upload(
    db: Database,
    store: Store,
    settings: WorkflowSettings,
    *,
    user: User,
    actor: Actor,
    now: datetime,
    filename: str,
    stream: BinaryIO,
    year: int,
) -> tuple[int, dict]:
    """Check, keep and ingest one file as ``year``'s data now; return (upload id, report)."""
    received = check_upload(
        db,
        store,
        settings,
        user=user,
        actor=actor,
        now=now,
        filename=filename,
        stream=stream,
        year=year,
    )
    try:
        upload = {"actor": actor, "now": now, **received.upload_fields()}
        try:
            found = recognise_department(received, settings)
        except WorkflowError as exc:
            _refuse(db, exc, department=received.department, **upload)
        upload_id = _record_upload(db, status="ingesting", department=found.source, **upload)
        report = ingest_received(db, settings, upload_id, received, actor=actor, clock=lambda: now)
    finally:
        received.discard()
    return upload_id, report


def start_upload(
    db: Database,
    store: Store,
    settings: WorkflowSettings,
    jobs: Any,
    *,
    user: User,
    actor: Actor,
    clock: Clock,
    filename: str,
    stream: BinaryIO,
    year: int,
) -> int:
    """Check the file now, record the upload as ``ingesting`` and hand recognition, ingest and
    validation to the upload worker (``jobs``); the upload's id, for the page to poll."""
    now = clock()
    received = check_upload(
        db,
        store,
        settings,
        user=user,
        actor=actor,
        now=now,
        filename=filename,
        stream=stream,
        year=year,
    )
    try:
        upload_id = _record_upload(
            db,
            status="ingesting",
            department=received.department,
            actor=actor,
            now=now,
            **received.upload_fields(),
        )
    except BaseException:
        received.discard()
        raise

    def job(progress: ReportProgress) -> dict[str, Any]:
        try:
            progress("reading", received.name)
            try:
                found = recognise_department(received, settings)
            except WorkflowError as exc:
                with db.writer() as w:
                    fail_upload(w, upload_id, exc.message, actor=actor, now=clock())
                raise
            with db.writer() as w:
                set_upload_department(w, upload_id, found.source)
            return ingest_received(
                db, settings, upload_id, received, actor=actor, clock=clock, progress=progress
            )
        finally:
            received.discard()

    jobs.submit(upload_id, job)
    return upload_id

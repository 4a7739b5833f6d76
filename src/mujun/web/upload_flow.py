"""Receiving one department file, shared by the upload page and the JSON API.

Checks (region, type, size, department), keeps the file, ingests it and validates the year
through the single write path. Every refusal or failure is recorded as an upload and raised as a
:class:`WorkflowError`; the callers turn it into a page message or the API error.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from typing import BinaryIO

from mujun.auth.roles import PROVINCE_CODE, Role
from mujun.auth.scope import covers, data_scope, region_condition
from mujun.auth.users import User
from mujun.store import Store
from mujun.web.db import Database
from mujun.workflow import WorkflowError
from mujun.workflow.settings import WorkflowSettings
from mujun.workflow.uploads import (
    begin_upload,
    check_size,
    check_upload_name,
    fail_upload,
    ingest_upload,
    keep_file,
    recognise,
    safe_name,
    sha256_of,
    source_profiles,
    spool,
)


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


def receive_upload(
    db: Database,
    store: Store,
    settings: WorkflowSettings,
    *,
    user: User,
    actor,
    now: datetime,
    filename: str,
    stream: BinaryIO,
    year: int,
) -> tuple[int, dict]:
    """Check, keep and ingest one file as ``year``'s data; return (upload id, report)."""
    assert settings.upload_dir is not None
    name = safe_name(filename)
    department = user.department if user.role == Role.DEPARTMENT_UPLOADER else None

    def refuse(exc: WorkflowError, size: int | None = None, sha: str | None = None):
        with db.writer() as w:
            begin_upload(
                w,
                year=year,
                filename=name,
                size=size,
                sha256=sha,
                department=department,
                status="failed",
                actor=actor,
                now=now,
                message=exc.message,
            )
        raise exc

    if outside_region(store, user, year):
        refuse(
            WorkflowError(
                "forbidden",
                f"{year} 年度数据含有您辖区以外的企业，部门文件将替换全年数据，只能由省级管理员上传 / "
                "the year holds firms outside your region and a file replaces the whole year's "
                "department data: the province administrator uploads it",
            )
        )
    try:
        check_upload_name(filename)
    except WorkflowError as exc:
        refuse(exc)
    data = stream.read(settings.upload_max_bytes + 1)
    try:
        check_size(len(data), settings.upload_max_bytes)
    except WorkflowError as exc:
        refuse(exc, size=len(data))
    sha = sha256_of(data)
    incoming = spool(data, settings.upload_dir, name)
    try:
        try:
            found = recognise(incoming, source_profiles(settings.rules_dir))
            if department is not None and found.source != department:
                raise WorkflowError(
                    "forbidden",
                    f"该文件是{found.department}（{found.source}）数据，您只能上传本部门"
                    f"（{department}）的文件 / this is {found.source} data; you may upload "
                    f"{department} files only",
                )
        except WorkflowError as exc:
            refuse(exc, size=len(data), sha=sha)
        with db.writer() as w:
            upload_id = begin_upload(
                w,
                year=year,
                filename=name,
                size=len(data),
                sha256=sha,
                department=found.source,
                status="ingesting",
                actor=actor,
                now=now,
            )
        kept = keep_file(incoming, settings.upload_dir, upload_id, name)
    finally:
        shutil.rmtree(incoming.parent, ignore_errors=True)
    try:
        with db.writer() as w:
            report = ingest_upload(
                w,
                upload_id,
                kept,
                year=year,
                profiles=source_profiles(settings.rules_dir),
                actor=actor,
                now=now,
            )
    except Exception as exc:
        # The store rolled back; the kept copy goes too, and the upload says why it failed.
        shutil.rmtree(kept.parent, ignore_errors=True)
        message = exc.message if isinstance(exc, WorkflowError) else "导入失败 / ingest failed"
        with db.writer() as w:
            fail_upload(w, upload_id, message, actor=actor, now=now)
        raise
    return upload_id, report

"""Upload of department files from the browser (数据上传): a file (XLSX, XLS or CSV) and its
year; the answer is the validation report (counts per department and code, the first problem
rows) with a link to the data-quality page. Malformed, oversized and wrong-type files get a
clear message and nothing is stored half-way. With htmx the form posts in the background behind
a progress indicator; without it, a plain form post.

For department uploaders (their own department's files), the province administrator, and
analysts when the year's register holds no firm outside their region (a file replaces the whole
year's slot of its department) — the same rules as the JSON API.
"""

from __future__ import annotations

import shutil
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile

from mujun.auth.roles import PROVINCE_CODE, Role
from mujun.auth.scope import covers, region_condition
from mujun.reports.common import departments
from mujun.store import Store
from mujun.web.db import Database
from mujun.web.deps import StoreDep
from mujun.web.errors import forbidden
from mujun.web.pages.common import Viewer, ViewerDep, render
from mujun.web.pages.flow import PageRefusal, refusals, workflow_settings
from mujun.workflow import WorkflowError
from mujun.workflow.uploads import (
    begin_upload,
    check_size,
    check_upload_name,
    fail_upload,
    ingest_upload,
    keep_file,
    list_uploads,
    recognise,
    safe_name,
    sha256_of,
    source_profiles,
    spool,
)

router = APIRouter(include_in_schema=False)

UPLOAD_ROLES = (
    Role.PROVINCE_ADMIN,
    Role.CITY_ANALYST,
    Role.COUNTY_ANALYST,
    Role.DEPARTMENT_UPLOADER,
)


def _require_uploader(viewer: Viewer) -> None:
    if viewer.user.role not in UPLOAD_ROLES:
        raise forbidden("您的角色无权上传部门数据 / your role may not upload department files")


def _outside_region(store: Store, viewer: Viewer, year: int) -> int:
    """Register firms of the year outside an analyst's region (0 for the other roles)."""
    user = viewer.user
    region = viewer.scope.region or PROVINCE_CODE
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


def _recent(store: Store, viewer: Viewer) -> list[dict[str, Any]]:
    """Recent uploads the viewer may see: its department's, its own, or all (province)."""
    user = viewer.user
    if user.role == Role.PROVINCE_ADMIN:
        return list_uploads(store, limit=20)
    if user.role == Role.DEPARTMENT_UPLOADER:
        return [
            u
            for u in list_uploads(store, limit=200)
            if user.department is not None and u["department"] == user.department
        ][:20]
    return list_uploads(store, by=user.username, limit=20)


def _page(
    request: Request,
    store: Store,
    viewer: Viewer,
    *,
    report: dict | None = None,
    upload_id: int | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    today_year = request.app.state.clock().year
    context = {
        "report": report,
        "upload_id": upload_id,
        "error": error,
        "uploads": _recent(store, viewer),
        "departments": departments(),
        "default_year": today_year - 1,
        "max_mb": workflow_settings(request).upload_max_bytes // (1024 * 1024),
    }
    partial = request.headers.get("HX-Request") == "true" and request.method == "POST"
    name = "_upload_result.html" if partial else "upload.html"
    if partial:
        # htmx swaps only successful answers; the message is in the fragment.
        status = 200
    return render(request, name, context, viewer=viewer, status=status)


@router.get("/upload")
def upload_page(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    """The upload form and the viewer's recent uploads."""
    _require_uploader(viewer)
    return _page(request, store, viewer)


@router.post("/upload")
def upload_file(
    request: Request,
    viewer: ViewerDep,
    store: StoreDep,
    file: Annotated[UploadFile | None, File()] = None,
    year: Annotated[str, Form()] = "",
) -> Response:
    """Check, keep and ingest one department file, validate the year, show the report."""
    _require_uploader(viewer)
    settings = workflow_settings(request)
    db: Database = request.app.state.db
    actor, now = viewer.actor(request), request.app.state.clock()
    user = viewer.user
    department = user.department if user.role == Role.DEPARTMENT_UPLOADER else None
    if file is None or not file.filename:
        return _page(
            request, store, viewer, error="请选择文件 / choose a file to upload", status=400
        )
    if not (year.isdigit() and 1990 <= int(year) <= 2100):
        return _page(request, store, viewer, error="请填写正确的年度 / give the year", status=400)
    the_year = int(year)
    name = safe_name(file.filename)
    assert settings.upload_dir is not None

    def refuse(exc: WorkflowError, size: int | None = None, sha: str | None = None) -> Response:
        with db.writer() as w:
            begin_upload(
                w,
                year=the_year,
                filename=name,
                size=size,
                sha256=sha,
                department=department,
                status="failed",
                actor=actor,
                now=now,
                message=exc.message,
            )
        try:
            with refusals():
                raise exc
        except PageRefusal as refusal:
            return _page(request, store, viewer, error=refusal.message, status=refusal.status)

    if _outside_region(store, viewer, the_year):
        return refuse(
            WorkflowError(
                "forbidden",
                f"{the_year} 年度数据含有您辖区以外的企业，部门文件将替换全年数据，只能由省级管理员"
                "上传 / the year holds firms outside your region: the province administrator "
                "uploads it",
            )
        )
    try:
        check_upload_name(file.filename)
    except WorkflowError as exc:
        return refuse(exc)
    data = file.file.read(settings.upload_max_bytes + 1)
    try:
        check_size(len(data), settings.upload_max_bytes)
    except WorkflowError as exc:
        return refuse(exc, size=len(data))
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
            return refuse(exc, size=len(data), sha=sha)
        with db.writer() as w:
            upload_id = begin_upload(
                w,
                year=the_year,
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
                year=the_year,
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
        if isinstance(exc, WorkflowError):
            return _page(request, store, viewer, error=message, status=400, upload_id=upload_id)
        raise
    return _page(request, store, viewer, report=report, upload_id=upload_id)

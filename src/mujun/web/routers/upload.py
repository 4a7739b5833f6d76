"""Upload of department files from the browser, with the validation report in the answer and a
status to poll. A department uploader sends its own department's files; the province
administrator any; an analyst only when the store holds nothing outside its region (a file
replaces the whole year's slot of its department).
"""

from __future__ import annotations

import shutil
from typing import Annotated, NoReturn

from fastapi import APIRouter, Depends, File, Form, Path, UploadFile

from mujun.auth.roles import PROVINCE_CODE, Role
from mujun.auth.scope import covers, data_scope, region_condition
from mujun.auth.users import User
from mujun.store import Store
from mujun.web.deps import ActorDep, DatabaseDep, NowDep, StoreDep, require_roles
from mujun.web.errors import not_found
from mujun.web.models import WORKFLOW_ERRORS, UploadDoneOut, UploadOut, UploadsOut, plain
from mujun.web.routers.workflow import WorkflowSettingsDep, workflow_errors
from mujun.workflow import WorkflowError
from mujun.workflow.uploads import (
    begin_upload,
    check_size,
    check_upload_name,
    fail_upload,
    get_upload,
    ingest_upload,
    keep_file,
    list_uploads,
    recognise,
    safe_name,
    sha256_of,
    source_profiles,
    spool,
)

router = APIRouter(tags=["uploads 数据上传"], responses=WORKFLOW_ERRORS)
Uploader = Annotated[
    User,
    Depends(
        require_roles(
            Role.PROVINCE_ADMIN, Role.CITY_ANALYST, Role.COUNTY_ANALYST, Role.DEPARTMENT_UPLOADER
        )
    ),
]


def _outside_region(store: Store, user: User, year: int) -> int:
    """Register firms of the year outside an analyst's region (0 for the other roles)."""
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


def _may_see(user: User, upload: dict) -> bool:
    if user.role == Role.PROVINCE_ADMIN:
        return True
    if user.role == Role.DEPARTMENT_UPLOADER:
        return upload["department"] == user.department and upload["department"] is not None
    return upload["uploaded_by"] == user.username


@router.post("/uploads", status_code=201, response_model=UploadDoneOut)
def post_upload(
    user: Uploader,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    settings: WorkflowSettingsDep,
    file: Annotated[UploadFile, File(description="部门数据文件 XLSX/XLS/CSV")],
    year: Annotated[int, Form(ge=1990, le=2100, description="数据年度")],
) -> UploadDoneOut:
    """Upload one department file for ``year``: it is checked, ingested and the year validated;
    the answer carries the validation report (counts per code, first problems)."""
    assert settings.upload_dir is not None
    name = safe_name(file.filename or "")
    department = user.department if user.role == Role.DEPARTMENT_UPLOADER else None

    def refuse(exc: WorkflowError, size: int | None = None, sha: str | None = None) -> NoReturn:
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
        with workflow_errors():
            raise exc

    if _outside_region(store, user, year):
        refuse(
            WorkflowError(
                "forbidden",
                f"{year} 年度数据含有您辖区以外的企业，部门文件将替换全年数据，只能由省级管理员上传 / "
                "the year holds firms outside your region and a file replaces the whole year's "
                "department data: the province administrator uploads it",
            )
        )
    try:
        check_upload_name(file.filename or "")
    except WorkflowError as exc:
        refuse(exc)
    data = file.file.read(settings.upload_max_bytes + 1)
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
        if isinstance(exc, WorkflowError):
            with workflow_errors():
                raise
        raise
    return UploadDoneOut(upload_id=upload_id, status="done", report=plain(report))


@router.get("/uploads", response_model=UploadsOut)
def get_uploads(user: Uploader, store: StoreDep) -> UploadsOut:
    """Recent uploads you may see: your department's, your own, or all (province)."""
    by = user.username if user.role in (Role.CITY_ANALYST, Role.COUNTY_ANALYST) else None
    rows = [u for u in list_uploads(store, by=by, limit=200) if _may_see(user, u)]
    return UploadsOut(uploads=plain(rows))


@router.get("/uploads/{upload_id}", response_model=UploadOut)
def get_upload_status(
    user: Uploader, store: StoreDep, upload_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> UploadOut:
    """One upload's status (``ingesting``, ``done``, ``failed``) and report, to poll."""
    try:
        upload = get_upload(store, upload_id)
    except WorkflowError:
        upload = None
    if upload is None or not _may_see(user, upload):
        raise not_found(f"上传记录 {upload_id}", f"upload {upload_id}")
    return UploadOut(upload=plain(upload))

"""Upload of department files from the browser, with the validation report in the answer and a
status to poll. A department uploader sends its own department's files; the province
administrator any; an analyst only when the store holds nothing outside its region (a file
replaces the whole year's slot of its department).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, UploadFile

from mujun.auth.roles import Role
from mujun.auth.users import User
from mujun.web.deps import ActorDep, DatabaseDep, NowDep, StoreDep, require_roles
from mujun.web.errors import not_found
from mujun.web.models import WORKFLOW_ERRORS, UploadDoneOut, UploadOut, UploadsOut, plain
from mujun.web.routers.workflow import WorkflowSettingsDep, workflow_errors
from mujun.web.upload_flow import may_see_upload, receive_upload
from mujun.workflow import WorkflowError
from mujun.workflow.uploads import (
    get_upload,
    list_uploads,
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
    with workflow_errors():
        upload_id, report = receive_upload(
            db,
            store,
            settings,
            user=user,
            actor=actor,
            now=now,
            filename=file.filename or "",
            stream=file.file,
            year=year,
        )
    return UploadDoneOut(upload_id=upload_id, status="done", report=plain(report))


@router.get("/uploads", response_model=UploadsOut)
def get_uploads(user: Uploader, store: StoreDep) -> UploadsOut:
    """Recent uploads you may see: your department's, your own, or all (province)."""
    by = user.username if user.role in (Role.CITY_ANALYST, Role.COUNTY_ANALYST) else None
    rows = [u for u in list_uploads(store, by=by, limit=200) if may_see_upload(user, u)]
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
    if upload is None or not may_see_upload(user, upload):
        raise not_found(f"上传记录 {upload_id}", f"upload {upload_id}")
    return UploadOut(upload=plain(upload))

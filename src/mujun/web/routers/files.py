"""Department files and their validation reports: an uploader sees its own department's files,
the province administrator all of them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from mujun.auth.roles import Role
from mujun.auth.users import User
from mujun.web.deps import StoreDep, require_roles
from mujun.web.errors import not_found
from mujun.web.models import COMMON_ERRORS, FileOut, FilesOut, IssueRow, IssuesPage
from mujun.web.queries import file_issues, visible_files

router = APIRouter(tags=["files 部门数据文件"], responses=COMMON_ERRORS)
FileReader = Annotated[User, Depends(require_roles(Role.PROVINCE_ADMIN, Role.DEPARTMENT_UPLOADER))]


def _department(user: User) -> str | None:
    # The province administrator sees every department; an uploader only its own.
    return user.department if user.role == Role.DEPARTMENT_UPLOADER else None


@router.get("/files", response_model=FilesOut)
def get_files(user: FileReader, store: StoreDep) -> FilesOut:
    """Ingested department files with their issue counts."""
    return FilesOut(files=[FileOut(**f) for f in visible_files(store, _department(user))])


@router.get("/files/{file_id}/issues", response_model=IssuesPage)
def get_file_issues(
    user: FileReader,
    store: StoreDep,
    file_id: Annotated[int, Path(ge=1)],
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 100,
) -> IssuesPage:
    """One file's validation report, a page at a time (404 for another department's file)."""
    visible = {f["file_id"] for f in visible_files(store, _department(user))}
    if file_id not in visible:
        raise not_found(f"文件 {file_id}", f"file {file_id}")
    total, rows = file_issues(store, file_id, page, page_size)
    return IssuesPage(
        file_id=file_id,
        total=total,
        page=page,
        page_size=page_size,
        issues=[IssueRow(**r) for r in rows],
    )

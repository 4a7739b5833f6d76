"""Upload of department files from the browser (数据上传): a file (XLSX, XLS or CSV) and its
year; the answer is the validation report (counts per department and code, the first problem
rows) with a link to the data-quality page. Malformed, oversized and wrong-type files get a
clear message and nothing is stored half-way.

With htmx the form posts in the background: the type and size are checked at once, then the
server's upload worker reads, ingests and validates the file (one writer) while the page polls
``/upload/{id}/progress`` every second; the last answer is the report, or the reason it failed.
Without htmx, a plain form post does all of it before answering.

For department uploaders (their own department's files), the province administrator, and
analysts when the year's register holds no firm outside their region (a file replaces the whole
year's slot of its department) — the same rules as the JSON API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile

from mujun.auth.roles import Role
from mujun.reports.common import departments
from mujun.store import Store
from mujun.web.deps import StoreDep
from mujun.web.errors import forbidden, not_found
from mujun.web.pages.common import Viewer, ViewerDep, render
from mujun.web.pages.flow import PageRefusal, parse_id, refusals
from mujun.web.upload_flow import may_see_upload, receive_upload, start_upload
from mujun.web.workflow_scope import workflow_settings
from mujun.workflow import WorkflowError
from mujun.workflow.uploads import get_upload, list_uploads

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
    if file is None or not file.filename:
        return _page(
            request, store, viewer, error="请选择文件 / choose a file to upload", status=400
        )
    if not (year.isdigit() and 1990 <= int(year) <= 2100):
        return _page(request, store, viewer, error="请填写正确的年度 / give the year", status=400)
    the_year = int(year)
    if request.headers.get("HX-Request") == "true":
        try:
            with refusals():
                upload_id = start_upload(
                    request.app.state.db,
                    store,
                    settings,
                    request.app.state.upload_jobs,
                    user=viewer.user,
                    actor=viewer.actor(request),
                    clock=request.app.state.clock,
                    filename=file.filename,
                    stream=file.file,
                    year=the_year,
                )
        except PageRefusal as refusal:
            return _page(request, store, viewer, error=refusal.message, status=refusal.status)
        return _progress(request, store, viewer, upload_id)
    try:
        with refusals():
            upload_id, report = receive_upload(
                request.app.state.db,
                store,
                settings,
                user=viewer.user,
                actor=viewer.actor(request),
                now=request.app.state.clock(),
                filename=file.filename,
                stream=file.file,
                year=the_year,
            )
    except PageRefusal as refusal:
        return _page(request, store, viewer, error=refusal.message, status=refusal.status)
    return _page(request, store, viewer, report=report, upload_id=upload_id)


STEPS = ("queued", "reading", "ingesting", "validating", "done")


def _progress(request: Request, store: Store, viewer: Viewer, upload_id: int) -> Response:
    """The upload's progress while the worker runs it, then its report or why it failed."""
    try:
        upload = get_upload(store, upload_id)
    except WorkflowError:
        upload = None
    if upload is None or not may_see_upload(viewer.user, upload):
        raise not_found(f"上传记录 {upload_id}", f"upload {upload_id}")
    job = request.app.state.upload_jobs.progress(upload_id)
    running = upload["status"] == "ingesting" and (job is None or not job.done)
    context: dict[str, Any] = {
        "upload_id": upload_id,
        "upload": upload,
        "running": running,
        "step": (job.step if job else "queued") if running else upload["status"],
        "detail": job.detail if job and running else "",
        "steps": STEPS,
        "report": upload["report"] if upload["status"] == "done" else None,
        "error": upload["message"] if upload["status"] == "failed" else None,
        "departments": departments(),
    }
    return render(request, "_upload_progress.html", context, viewer=viewer)


@router.get("/upload/{upload_id}/progress")
def upload_progress(
    request: Request, viewer: ViewerDep, store: StoreDep, upload_id: str
) -> Response:
    """Polled by the upload page (htmx, every second) while the file is ingested."""
    _require_uploader(viewer)
    return _progress(request, store, viewer, parse_id(upload_id))

"""Administrators' pages: the audit log (audit administrator: filter, export, verify, archive)
and the SMS outbox (system administrator)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from mujun.auth.audit import anchors, audit_head, list_audit, verify_audit_chain
from mujun.auth.audit_archive import archive_audit
from mujun.auth.audit_cli import default_archive_dir
from mujun.auth.roles import Role
from mujun.auth.sms import list_outbox
from mujun.web.deps import DatabaseDep, NowDep, SettingsDep, StoreDep
from mujun.web.errors import forbidden
from mujun.web.pages.common import Viewer, ViewerDep, query_url, render
from mujun.web.routers.audit import audit_download

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _require(viewer: Viewer, role: Role) -> None:
    if viewer.user.role != role:
        raise forbidden("您的角色无权访问此页面 / your role may not use this page")


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _filters(request: Request) -> tuple[dict[str, Any], dict[str, str]]:
    """The audit filters of the query (dates as UTC days, the end day included)."""
    q = request.query_params
    since, until = _day(q.get("since", "")), _day(q.get("until", ""))
    params = {
        "since": since.isoformat() if since else "",
        "until": until.isoformat() if until else "",
        "actor": q.get("actor", "")[:64],
        "action": q.get("action", "")[:64],
    }
    filters = {
        "actor": params["actor"] or None,
        "action": params["action"] or None,
        "since": datetime.combine(since, datetime.min.time()) if since else None,
        "until": datetime.combine(until + timedelta(days=1), datetime.min.time())
        if until
        else None,
    }
    return filters, params


@router.get("/audit")
def audit_page(
    request: Request,
    viewer: ViewerDep,
    store: StoreDep,
    db: DatabaseDep,
    now: NowDep,
    settings: SettingsDep,
    page: int = 1,
) -> Response:
    """The audit log, newest first, filtered by date, actor and action, with exports."""
    _require(viewer, Role.AUDIT_ADMIN)
    filters, params = _filters(request)
    page = max(page, 1)
    db.flush_audit()  # the reads logged a moment ago are shown too
    total, entries = list_audit(store, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, **filters)
    problems = verify_audit_chain(store)
    head = audit_head(store)
    db.audit(
        viewer.actor(request),
        now,
        "audit.read",
        query_url("pages/audit", params, page=page),
        f"ok: {len(entries)} of {total}",
    )
    return render(
        request,
        "audit.html",
        {
            "entries": entries,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "params": params,
            "problems": problems,
            "head": head,
            "archives": anchors(store),
            "retention_days": settings.audit_retention_days,
            "message": request.query_params.get("archived"),
            "choice": None,
            "tree": None,
        },
        viewer=viewer,
    )


@router.get("/audit.xlsx")
def audit_xlsx(
    request: Request, viewer: ViewerDep, store: StoreDep, db: DatabaseDep, now: NowDep
) -> Response:
    """The filtered audit log as a workbook (every value as text)."""
    _require(viewer, Role.AUDIT_ADMIN)
    filters, _ = _filters(request)
    return audit_download(
        store, db, viewer.actor(request), now, "xlsx", user=filters.pop("actor"), **filters
    )


@router.get("/audit.csv")
def audit_csv(
    request: Request, viewer: ViewerDep, store: StoreDep, db: DatabaseDep, now: NowDep
) -> Response:
    """The filtered audit log as CSV (UTF-8 with BOM, so Excel reads Chinese)."""
    _require(viewer, Role.AUDIT_ADMIN)
    filters, _ = _filters(request)
    return audit_download(
        store, db, viewer.actor(request), now, "csv", user=filters.pop("actor"), **filters
    )


@router.post("/audit/archive")
def audit_archive_submit(
    request: Request, viewer: ViewerDep, db: DatabaseDep, now: NowDep, settings: SettingsDep
) -> Response:
    """Archive the entries older than the retention, then back to the log."""
    _require(viewer, Role.AUDIT_ADMIN)
    with db.writer(data=False) as w:  # the audit log and its anchors only
        anchor = archive_audit(
            w,
            default_archive_dir(settings.db),
            now=now,
            retention_days=settings.audit_retention_days,
            actor=viewer.actor(request),
        )
    done = f"{anchor['first_seq']}-{anchor['last_seq']}" if anchor else "none"
    return RedirectResponse(f"/audit?archived={done}", status_code=303)


@router.get("/admin/sms")
def sms_outbox_page(
    request: Request,
    viewer: ViewerDep,
    store: StoreDep,
    db: DatabaseDep,
    now: NowDep,
    page: int = 1,
) -> Response:
    """The SMS outbox, newest first (system administrator; the read is audited)."""
    _require(viewer, Role.SYSTEM_ADMIN)
    page = max(page, 1)
    total, messages = list_outbox(store, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    db.audit(
        viewer.actor(request),
        now,
        "sms.outbox.read",
        f"pages/admin/sms?page={page}",
        f"ok: {len(messages)}",
    )
    return render(
        request,
        "sms_outbox.html",
        {
            "messages": messages,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "choice": None,
            "tree": None,
        },
        viewer=viewer,
    )

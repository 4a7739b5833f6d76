"""The audit log, for the audit administrator only: read it and verify its hash chain."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from mujun.auth.audit import anchors, audit_head, list_audit, verify_audit_chain
from mujun.auth.audit_archive import archive_audit, export_audit
from mujun.auth.audit_cli import default_archive_dir
from mujun.auth.roles import Role
from mujun.auth.users import User
from mujun.web.deps import ActorDep, DatabaseDep, NowDep, SettingsDep, StoreDep, require_roles
from mujun.web.errors import HttpError
from mujun.web.models import (
    COMMON_ERRORS,
    AuditEntryOut,
    AuditPage,
    AuditVerifyOut,
    error_responses,
)
from mujun.web.models_account import AuditArchiveOut, AuditArchivesOut

router = APIRouter(tags=["audit 审计日志"], responses=COMMON_ERRORS)
AuditAdmin = Annotated[User, Depends(require_roles(Role.AUDIT_ADMIN))]


@router.get("/audit", response_model=AuditPage)
def get_audit(
    _: AuditAdmin,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 100,
    user: Annotated[str | None, Query(max_length=64, description="操作者 / actor")] = None,
    action: Annotated[str | None, Query(max_length=64, description="操作前缀 / prefix")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditPage:
    """Audit entries, newest first, filtered by actor, action prefix and time (UTC)."""
    db.flush_audit()  # the reads logged a moment ago are shown too
    total, entries = list_audit(
        store,
        actor=user,
        action=action,
        since=since,
        until=until,
        limit=page_size,
        offset=(page - 1) * page_size,
    )
    # Reading the log is itself recorded: auditors are audited too.
    db.audit(actor, now, "audit.read", f"audit?page={page}", f"ok: {len(entries)} of {total}")
    return AuditPage(
        total=total,
        page=page,
        page_size=page_size,
        entries=[AuditEntryOut.model_validate(e, from_attributes=True) for e in entries],
    )


@router.get("/audit/verify", response_model=AuditVerifyOut)
def get_audit_verify(_: AuditAdmin, store: StoreDep, db: DatabaseDep) -> AuditVerifyOut:
    """Check the whole hash chain; ``problems`` names every edited or missing entry."""
    db.flush_audit()
    problems = verify_audit_chain(store)
    head = audit_head(store)
    return AuditVerifyOut(
        ok=not problems,
        problems=problems,
        head_seq=head[0] if head else None,
        head_hash=head[1] if head else None,
    )


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def audit_download(
    store, db, actor, now, fmt: str, *, user=None, action=None, since=None, until=None
) -> Response:
    """The filtered audit log as a CSV or Excel download (the export is itself audited)."""
    db.flush_audit()
    with tempfile.TemporaryDirectory(prefix="mujun-audit-") as tmp:
        path = Path(tmp) / f"audit-log.{fmt}"
        n = export_audit(store, path, actor=user, action=action, since=since, until=until)
        content = path.read_bytes()
    query = {"user": user, "action": action, "since": since, "until": until}
    obj = "audit?" + "&".join(f"{k}={v}" for k, v in query.items() if v)
    db.audit(actor, now, "audit.export", obj, f"ok: {n} ({fmt})")
    name = f"audit-log-{now:%Y%m%d-%H%M%S}.{fmt}"
    return Response(
        content,
        media_type=CONTENT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/audit/export",
    response_class=Response,
    responses={
        200: {
            "content": {CONTENT_TYPES["xlsx"]: {}, "text/csv": {}},
            "description": "the entries as a workbook or CSV file",
        }
    },
)
def get_audit_export(
    _: AuditAdmin,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    format: Literal["csv", "xlsx"] = "xlsx",
    user: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Response:
    """The audit entries matching the filters, oldest first, as Excel or CSV (every value as
    text, so credit codes and hashes keep every digit); audited as ``audit.export``."""
    return audit_download(
        store, db, actor, now, format, user=user, action=action, since=since, until=until
    )


@router.get("/audit/archives", response_model=AuditArchivesOut)
def get_audit_archives(_: AuditAdmin, store: StoreDep, settings: SettingsDep) -> AuditArchivesOut:
    """Archives of old entries (anchors) and the retention in force."""
    return AuditArchivesOut(
        retention_days=settings.audit_retention_days,
        archives=[AuditArchiveOut(**a) for a in anchors(store)],
    )


@router.post("/audit/archive", response_model=AuditArchiveOut, responses=error_responses(409))
def post_audit_archive(
    _: AuditAdmin, db: DatabaseDep, actor: ActorDep, now: NowDep, settings: SettingsDep
) -> AuditArchiveOut:
    """Archive the entries older than the retention (``MUJUN_AUDIT_RETENTION_DAYS``) to a file
    next to the store, anchored so the remaining chain still verifies; 409 when none is old
    enough."""
    with db.writer(data=False) as w:  # the audit log and its anchors only
        anchor = archive_audit(
            w,
            default_archive_dir(settings.db),
            now=now,
            retention_days=settings.audit_retention_days,
            actor=actor,
        )
    if anchor is None:
        raise HttpError(
            409,
            f"没有早于 {settings.audit_retention_days} 天的审计记录可归档 / no entries older than "
            f"{settings.audit_retention_days} days",
        )
    return AuditArchiveOut(**anchor)

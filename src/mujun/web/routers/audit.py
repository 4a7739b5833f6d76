"""The audit log, for the audit administrator only: read it and verify its hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from mujun.auth.audit import audit_head, list_audit, record, verify_audit_chain
from mujun.auth.roles import Role
from mujun.auth.users import User
from mujun.web.deps import ActorDep, DatabaseDep, NowDep, StoreDep, require_roles
from mujun.web.models import COMMON_ERRORS, AuditEntryOut, AuditPage, AuditVerifyOut

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
    total, entries = list_audit(
        store,
        actor=user,
        action=action,
        since=since,
        until=until,
        limit=page_size,
        offset=(page - 1) * page_size,
    )
    with db.writer() as w:
        # Reading the log is itself recorded: auditors are audited too.
        record(w, actor, now, "audit.read", f"audit?page={page}", f"ok: {len(entries)} of {total}")
    return AuditPage(
        total=total,
        page=page,
        page_size=page_size,
        entries=[AuditEntryOut.model_validate(e, from_attributes=True) for e in entries],
    )


@router.get("/audit/verify", response_model=AuditVerifyOut)
def get_audit_verify(_: AuditAdmin, store: StoreDep) -> AuditVerifyOut:
    """Check the whole hash chain; ``problems`` names every edited or missing entry."""
    problems = verify_audit_chain(store)
    head = audit_head(store)
    return AuditVerifyOut(
        ok=not problems,
        problems=problems,
        head_seq=head[0] if head else None,
        head_hash=head[1] if head else None,
    )

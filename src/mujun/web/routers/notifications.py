"""The logged-in user's notifications: list them and mark them read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mujun.notifications import list_notifications, mark_read
from mujun.web.deps import CurrentUser, DatabaseDep, NowDep, StoreDep
from mujun.web.models import COMMON_ERRORS
from mujun.web.models_account import MarkedOut, MarkReadIn, NotificationOut, NotificationsOut

router = APIRouter(tags=["notifications 消息"], responses=COMMON_ERRORS)


@router.get("/notifications", response_model=NotificationsOut)
def get_notifications(
    user: CurrentUser,
    store: StoreDep,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
    unread: bool = False,
) -> NotificationsOut:
    """Your notifications, newest first (only your own), with the unread count."""
    total, n_unread, rows = list_notifications(
        store, user.username, limit=page_size, offset=(page - 1) * page_size, unread_only=unread
    )
    return NotificationsOut(
        unread=n_unread,
        total=total,
        page=page,
        page_size=page_size,
        notifications=[NotificationOut(**r) for r in rows],
    )


@router.post("/notifications/read", response_model=MarkedOut)
def post_notifications_read(
    body: MarkReadIn, user: CurrentUser, db: DatabaseDep, now: NowDep
) -> MarkedOut:
    """Mark your notifications ``ids`` (or, without ids, all of them) read."""
    with db.writer() as w:  # a new generation: the unread counts are cached per generation
        marked = mark_read(w, user.username, body.ids, now)
        _, unread, _ = list_notifications(w, user.username, limit=0)
    return MarkedOut(marked=marked, unread=unread)

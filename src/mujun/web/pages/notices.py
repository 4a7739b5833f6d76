"""The notifications page: the user's messages, newest first, marked read one by one or all."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from mujun.notifications import list_notifications, mark_read
from mujun.web.deps import DatabaseDep, NowDep, StoreDep
from mujun.web.errors import forbidden
from mujun.web.pages.common import ViewerDep, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20


@router.get("/notifications")
def notifications_page(
    request: Request, viewer: ViewerDep, store: StoreDep, page: int = 1
) -> Response:
    """The viewer's notifications (20 a page)."""
    page = max(page, 1)
    total, unread, rows = list_notifications(
        store, viewer.user.username, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return render(
        request,
        "notifications.html",
        {
            "rows": rows,
            "total": total,
            "unread": unread,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "choice": None,
            "tree": None,
        },
        viewer=viewer,
    )


@router.post("/notifications/read")
def notifications_read(
    request: Request,
    viewer: ViewerDep,
    db: DatabaseDep,
    now: NowDep,
    notification_id: Annotated[int | None, Form()] = None,
    back: Annotated[str, Form(max_length=200)] = "/notifications",
) -> Response:
    """Mark one notification (or, without an id, all) read, then back to the list."""
    if not back.startswith("/") or back.startswith("//"):
        raise forbidden("无效的返回地址 / invalid return path")
    with db.writer() as w:  # a new generation: the unread counts are cached per generation
        mark_read(
            w, viewer.user.username, None if notification_id is None else [notification_id], now
        )
    return RedirectResponse(back, status_code=303)

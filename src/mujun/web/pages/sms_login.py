"""The enterprise login page: credit code, then the SMS code sent to the designated phone.

Works without JavaScript: one form with two buttons, 获取验证码 (send) and 登录 (log in).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from mujun.web.deps import DatabaseDep, NowDep, OptionalSessionDep, SettingsDep
from mujun.web.login import log_in_by_sms, send_login_code
from mujun.web.pages.auth_pages import logged_in_redirect, login_form_page
from mujun.web.pages.common import safe_next

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    settings: SettingsDep,
    *,
    username: str = "",
    errors: list[str] | None = None,
    info: str | None = None,
    next_url: str = "/",
    status: int = 200,
) -> Response:
    """The SMS login form."""
    context = {
        "errors": errors or [],
        "info": info,
        "username": username,
        "next": next_url,
        "code_minutes": settings.sms_code_minutes,
    }
    return login_form_page(request, settings, "login_sms.html", context, status)


@router.get("/login/sms")
def sms_login_form(
    request: Request, settings: SettingsDep, session: OptionalSessionDep, next: str = "/"
) -> Response:
    """The SMS login form (a logged-in user goes straight on)."""
    if session is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _page(request, settings, next_url=safe_next(next))


@router.post("/login/sms")
def sms_login_submit(
    request: Request,
    db: DatabaseDep,
    now: NowDep,
    settings: SettingsDep,
    current: OptionalSessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    code: Annotated[str, Form(max_length=12)] = "",
    action: Annotated[str, Form(max_length=10)] = "login",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """``action=send``: send a code; ``action=login``: check it and log in."""
    target = safe_next(next)
    username = username.strip().upper()
    if not username:
        msg = "请填写统一社会信用代码 / enter the credit code"
        return _page(request, settings, errors=[msg], next_url=target, status=400)
    if action == "send":
        sent = send_login_code(request, db, username, now=now, settings=settings)
        status = 200 if sent.sent else (429 if sent.reason in ("too-soon", "hourly-limit") else 400)
        return _page(
            request,
            settings,
            username=username,
            info=sent.message(settings) if sent.sent else None,
            errors=[] if sent.sent else [sent.message(settings)],
            next_url=target,
            status=status,
        )
    if not code.strip():
        msg = "请填写短信验证码 / enter the SMS code"
        return _page(
            request, settings, username=username, errors=[msg], next_url=target, status=400
        )
    outcome = log_in_by_sms(
        request, db, username, code, now=now, settings=settings, current=current
    )
    if outcome.result.user is None:
        status = 403 if outcome.result.reason in ("locked", "disabled") else 401
        return _page(
            request,
            settings,
            username=username,
            errors=[outcome.message or "登录失败 / login failed"],
            next_url=target,
            status=status,
        )
    return logged_in_redirect(request, settings, outcome, target)

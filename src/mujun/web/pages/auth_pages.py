"""Login, logout and password change as HTML forms (each with its CSRF field)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from mujun.auth.audit import Actor, record
from mujun.auth.sessions import end_session
from mujun.auth.users import (
    check_password_change,
    get_user,
    password_change_reason,
    record_password_change,
)
from mujun.web.deps import (
    AuthSession,
    DatabaseDep,
    NowDep,
    OptionalSessionDep,
    SettingsDep,
    client_ip,
)
from mujun.web.login import SMS_ONLY, LoginOutcome, log_in
from mujun.web.pages.common import SessionPageDep, render, safe_next
from mujun.web.pages.i18n import request_lang, translator
from mujun.web.security import (
    CSRF_COOKIE,
    Signers,
    clear_session_cookie,
    set_cookie,
    set_session_cookies,
)
from mujun.web.settings import WebSettings

router = APIRouter(include_in_schema=False)


def login_form_page(
    request: Request, settings: WebSettings, template: str, context: dict[str, Any], status: int
) -> Response:
    """A login form (password or SMS code) with a CSRF token the browser holds (a new one,
    set as the cookie, if it has none)."""
    signers: Signers = request.app.state.signers
    token = request.cookies.get(CSRF_COOKIE)
    fresh = not signers.csrf_valid(token)
    if fresh:
        token = signers.new_csrf()
    response = render(request, template, {**context, "form_csrf": token}, status=status)
    if fresh:
        set_cookie(response, CSRF_COOKIE, token, secure=settings.cookie_secure, http_only=False)
    return response


def logged_in_redirect(
    request: Request, settings: WebSettings, outcome: LoginOutcome, go: str
) -> Response:
    """After a successful login (password or SMS code): off to ``go`` with the new session's
    cookies."""
    signers: Signers = request.app.state.signers
    response = RedirectResponse(go, status_code=303)
    set_session_cookies(
        response, signers.sign_session(outcome.token), outcome.csrf, settings.cookie_secure
    )
    return response


def _login_page(
    request: Request, settings: WebSettings, errors: list[str], next_url: str, status: int
) -> Response:
    """The password login form."""
    context = {"errors": errors, "next": next_url}
    return login_form_page(request, settings, "login.html", context, status)


@router.get("/login")
def login_form(
    request: Request, settings: SettingsDep, session: OptionalSessionDep, next: str = "/"
) -> Response:
    """The login page (a logged-in user goes straight on)."""
    if session is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    problem = getattr(request.state, "session_problem", None)
    return _login_page(request, settings, [problem] if problem else [], safe_next(next), 200)


@router.post("/login")
def login_submit(
    request: Request,
    db: DatabaseDep,
    now: NowDep,
    settings: SettingsDep,
    current: OptionalSessionDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the credentials; on success a new session and off to ``next``."""
    t = translator(request_lang(request)[0])
    target = safe_next(next)
    if not username or not password:
        msg = f"{t('username')} / {t('password')}: 必填 / required"
        return _login_page(request, settings, [msg], target, 400)
    outcome = log_in(request, db, username, password, now=now, settings=settings, current=current)
    result = outcome.result
    if result.user is None:
        if result.reason == "locked":
            until = f"{result.locked_until:%Y-%m-%d %H:%M} UTC" if result.locked_until else ""
            msg = f"连续登录失败次数过多，账户已锁定至 {until} / account locked; try again later"
            return _login_page(request, settings, [msg], target, 403)
        if result.reason == "disabled":
            return _login_page(request, settings, ["账户已停用 / account disabled"], target, 403)
        if result.reason == "sms-only":
            return _login_page(request, settings, [SMS_ONLY], target, 403)
        msg = "用户名或口令错误 / wrong username or password"
        return _login_page(request, settings, [msg], target, 401)
    go = "/password" if password_change_reason(result.user, now, settings) else target
    return logged_in_redirect(request, settings, outcome, go)


@router.post("/logout")
def logout_submit(
    request: Request, db: DatabaseDep, now: NowDep, settings: SettingsDep, session: SessionPageDep
) -> Response:
    """End the session and go back to the login page."""
    with db.writer(data=False) as w:  # a session and the audit log only
        end_session(w, session.session_id)
        record(
            w,
            Actor(session.user.username, session.user.role.value, client_ip(request)),
            now,
            "logout",
            f"user:{session.user.username}",
        )
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, settings.cookie_secure)
    return response


@router.get("/password")
def password_form(
    request: Request, session: SessionPageDep, now: NowDep, settings: SettingsDep
) -> Response:
    """The password change form, with the reason when a change is forced."""
    reason = password_change_reason(session.user, now, settings)
    return _password_page(request, session, reason, [], 200)


def _password_page(
    request: Request, session: AuthSession, reason: str | None, errors: list[str], status: int
) -> Response:
    """The password form with the reason for a forced change and any problems."""
    return render(
        request,
        "password.html",
        {
            "reason": reason,
            "errors": errors,
            "username": session.user.username,
            "form_csrf": session.csrf_token,
        },
        status=status,
    )


@router.post("/password")
def password_submit(
    request: Request,
    db: DatabaseDep,
    now: NowDep,
    settings: SettingsDep,
    session: SessionPageDep,
    current_password: Annotated[str, Form(max_length=1000)] = "",
    new_password: Annotated[str, Form(max_length=1000)] = "",
    confirm_password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Change one's own password (the policy's problems are listed on the form)."""
    t = translator(request_lang(request)[0])
    reason = password_change_reason(session.user, now, settings)
    if not session.csrf_bound:
        return _password_page(request, session, reason, ["CSRF 令牌与会话不符，请刷新页面"], 403)
    if new_password != confirm_password:
        return _password_page(request, session, reason, [t("passwords_differ")], 400)
    with db.reader() as r:
        user = get_user(r, session.user.username)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    actor = Actor(user.username, user.role.value, client_ip(request))
    change = check_password_change(user, current_password, new_password, settings)
    with db.writer() as w:
        errors = record_password_change(
            w, user, change, now=now, actor=actor, keep_session=session.session_id
        )
    if errors:
        return _password_page(request, session, reason, errors, 400)
    return RedirectResponse("/", status_code=303)

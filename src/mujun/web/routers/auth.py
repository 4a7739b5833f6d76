"""Login, logout, the current user, password change and the CSRF token."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from mujun.auth.audit import Actor, record
from mujun.auth.sessions import end_session
from mujun.auth.users import (
    check_password_change,
    get_user,
    password_change_reason,
    record_password_change,
)
from mujun.web.deps import (
    DatabaseDep,
    NowDep,
    OptionalSessionDep,
    SessionDep,
    SettingsDep,
    client_ip,
)
from mujun.web.errors import HttpError, not_logged_in
from mujun.web.login import SMS_ONLY, log_in
from mujun.web.models import (
    COMMON_ERRORS,
    CsrfOut,
    LoginIn,
    LoginOut,
    MeOut,
    OkOut,
    PasswordIn,
    UserOut,
)
from mujun.web.security import (
    CSRF_COOKIE,
    Signers,
    clear_session_cookie,
    set_cookie,
    set_session_cookies,
)

router = APIRouter(tags=["auth 登录与会话"], responses=COMMON_ERRORS)


@router.get("/csrf", response_model=CsrfOut)
def get_csrf(request: Request, response: Response, settings: SettingsDep) -> CsrfOut:
    """Hand out a CSRF token (also set as the ``mujun_csrf`` cookie) for scripts and login."""
    token = request.cookies.get(CSRF_COOKIE)
    signers: Signers = request.app.state.signers
    if not signers.csrf_valid(token):
        token = signers.new_csrf()
        set_cookie(response, CSRF_COOKIE, token, secure=settings.cookie_secure, http_only=False)
    return CsrfOut(csrf_token=token)


@router.post("/login", response_model=LoginOut)
def login(
    body: LoginIn,
    request: Request,
    response: Response,
    db: DatabaseDep,
    now: NowDep,
    settings: SettingsDep,
    current: OptionalSessionDep,
) -> LoginOut:
    """Log in: a new session (and CSRF token) on success; 401, or 403 while locked."""
    outcome = log_in(
        request, db, body.username, body.password, now=now, settings=settings, current=current
    )
    result, token, csrf = outcome.result, outcome.token, outcome.csrf
    signers: Signers = request.app.state.signers
    if result.user is None:
        if result.reason == "locked":
            until = f"{result.locked_until:%Y-%m-%d %H:%M} UTC" if result.locked_until else ""
            raise HttpError(
                403,
                f"连续登录失败次数过多，账户已锁定至 {until} / account locked after "
                f"{settings.lockout_failures} failed logins; try again later or ask the "
                "security administrator",
            )
        if result.reason == "disabled":
            raise HttpError(403, "账户已停用 / this account is disabled")
        if result.reason == "sms-only":
            raise HttpError(403, SMS_ONLY)
        raise not_logged_in("用户名或口令错误 / wrong username or password")
    set_session_cookies(response, signers.sign_session(token), csrf, settings.cookie_secure)
    return LoginOut(
        user=UserOut.of(result.user),
        password_change_required=password_change_reason(result.user, now, settings),
        csrf_token=csrf,
    )


@router.post("/logout", response_model=OkOut)
def logout(
    request: Request,
    response: Response,
    session: SessionDep,
    db: DatabaseDep,
    now: NowDep,
    settings: SettingsDep,
) -> OkOut:
    """End the session."""
    with db.writer(data=False) as w:  # a session and the audit log only
        end_session(w, session.session_id)
        record(
            w,
            Actor(session.user.username, session.user.role.value, client_ip(request)),
            now,
            "logout",
            f"user:{session.user.username}",
        )
    clear_session_cookie(response, settings.cookie_secure)
    return OkOut(message="已退出 / logged out")


@router.get("/me", response_model=MeOut)
def me(session: SessionDep, now: NowDep, settings: SettingsDep) -> MeOut:
    """The logged-in user, and whether a password change must come first."""
    return MeOut(
        user=UserOut.of(session.user),
        password_change_required=password_change_reason(session.user, now, settings),
        csrf_token=session.csrf_token,
    )


@router.post("/password", response_model=OkOut)
def post_password(
    body: PasswordIn,
    request: Request,
    session: SessionDep,
    db: DatabaseDep,
    now: NowDep,
    settings: SettingsDep,
) -> OkOut:
    """Change one's own password (allowed while a change is pending); ends other sessions."""
    actor = Actor(session.user.username, session.user.role.value, client_ip(request))
    with db.reader() as r:
        user = get_user(r, session.user.username)
    if user is None:
        raise not_logged_in()
    # Verifying and hashing (argon2) happen outside the write lock.
    change = check_password_change(user, body.current_password, body.new_password, settings)
    with db.writer() as w:
        errors = record_password_change(
            w, user, change, now=now, actor=actor, keep_session=session.session_id
        )
    if errors:
        raise HttpError(400, *errors)
    return OkOut(message="口令已修改 / password changed")

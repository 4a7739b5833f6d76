"""One login step, shared by the login page and the JSON API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Request

from mujun.auth.sessions import create_session, end_session
from mujun.auth.settings import AuthSettings
from mujun.auth.sms_login import CodeRequest, log_in_with_code, request_login_code
from mujun.auth.users import LoginResult, check_login, record_login
from mujun.web.db import Database
from mujun.web.deps import client_ip
from mujun.web.security import Signers

SMS_ONLY = (
    "企业账户请使用短信验证码登录（/login/sms）/ enterprise accounts log in with an SMS code "
    "(/login/sms)"
)


@dataclass
class LoginOutcome:
    """The recorded login result and, on success, the new session token and CSRF token."""

    result: LoginResult
    token: str | None = None
    csrf: str | None = None
    problem: str | None = None  # SMS login: why the code was refused
    message: str | None = None  # SMS login: what to tell the user on failure


def log_in(
    request: Request,
    db: Database,
    username: str,
    password: str,
    *,
    now: datetime,
    settings: AuthSettings,
    current=None,
) -> LoginOutcome:
    """Check the credentials, record the attempt and open a new session on success."""
    # argon2 runs on a reader, outside the write lock: a burst of logins must not hold up
    # every other write (audit entries of reads included).
    with db.reader() as r:
        check = check_login(r, username, password, now=now, settings=settings)
    with db.writer(data=False) as w:  # accounts, sessions and the audit log only
        result = record_login(w, check, now=now, settings=settings, ip=client_ip(request))
        outcome = LoginOutcome(result=result)
        _open_session(request, w, outcome, now, settings, current)
    return outcome


def _open_session(request: Request, w, outcome: LoginOutcome, now: datetime, settings, current):
    """On a successful login, end the old session and open a new one (in the writer)."""
    if outcome.result.user is None:
        return
    if current is not None:
        end_session(w, current.session_id)  # a login never inherits an older session
    signers: Signers = request.app.state.signers
    outcome.csrf = signers.new_csrf()
    outcome.token = create_session(
        w,
        outcome.result.user.username,
        outcome.csrf,
        now=now,
        settings=settings,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )


def send_login_code(
    request: Request, db: Database, username: str, *, now: datetime, settings: AuthSettings
) -> CodeRequest:
    """Send an enterprise its SMS login code (rate-limited, audited); with the ``http`` driver
    the dispatcher delivers it at once, outside the write lock."""
    with db.writer(data=False) as w:  # login codes, the SMS outbox and the audit log only
        result = request_login_code(
            w, username.strip(), now=now, settings=settings, ip=client_ip(request)
        )
    dispatcher = getattr(request.app.state, "sms_dispatcher", None)
    if result.sent and dispatcher is not None:
        dispatcher.wake()
    return result


def log_in_by_sms(
    request: Request,
    db: Database,
    username: str,
    code: str,
    *,
    now: datetime,
    settings: AuthSettings,
    current=None,
) -> LoginOutcome:
    """Check an SMS code, record the attempt and open a new session on success."""
    with db.writer(data=False) as w:  # accounts, sessions and the audit log only
        login = log_in_with_code(
            w, username.strip(), code, now=now, settings=settings, ip=client_ip(request)
        )
        outcome = LoginOutcome(result=login.result, problem=login.problem)
        outcome.message = None if login.result.user else login.message()
        _open_session(request, w, outcome, now, settings, current)
    return outcome

"""One login step, shared by the login page and the JSON API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Request

from mujun.auth.sessions import create_session, end_session
from mujun.auth.settings import AuthSettings
from mujun.auth.users import LoginResult, check_login, record_login
from mujun.web.db import Database
from mujun.web.deps import client_ip
from mujun.web.security import Signers


@dataclass
class LoginOutcome:
    """The recorded login result and, on success, the new session token and CSRF token."""

    result: LoginResult
    token: str | None = None
    csrf: str | None = None


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
    ip = client_ip(request)
    # argon2 runs on a reader, outside the write lock: a burst of logins must not hold up
    # every other write (audit entries of reads included).
    with db.reader() as r:
        check = check_login(r, username, password, now=now, settings=settings)
    signers: Signers = request.app.state.signers
    outcome = LoginOutcome(result=None)  # type: ignore[arg-type]
    with db.writer() as w:
        outcome.result = record_login(w, check, now=now, settings=settings, ip=ip)
        if outcome.result.user is not None:
            if current is not None:
                end_session(w, current.session_id)  # a login never inherits an older session
            outcome.csrf = signers.new_csrf()
            outcome.token = create_session(
                w,
                outcome.result.user.username,
                outcome.csrf,
                now=now,
                settings=settings,
                ip=ip,
                user_agent=request.headers.get("user-agent"),
            )
    return outcome

"""Typed dependencies for the routers: the store, the clock, the session and the user.

Dependencies that neither wait on the store nor on the write lock are ``async``: FastAPI runs
a plain ``def`` dependency in a worker thread, a hop that costs more than the work itself.

Routers declare what they need with these aliases (``StoreDep``, ``SessionDep``,
``CurrentUser`` …) and never reach into ``app.state`` themselves.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from mujun.auth.audit import Actor, record
from mujun.auth.roles import Role
from mujun.auth.sessions import (
    SessionRecord,
    end_session,
    find_session,
    needs_touch,
    session_state,
    token_id,
    touch_session,
)
from mujun.auth.users import User, get_user, password_change_reason
from mujun.store import Store
from mujun.web.db import Database
from mujun.web.errors import forbidden, not_logged_in
from mujun.web.security import CSRF_COOKIE, SAFE_METHODS, SESSION_COOKIE, Signers
from mujun.web.settings import WebSettings


@dataclass(frozen=True)
class AuthSession:
    """The request's live session and its user."""

    session_id: str
    user: User
    csrf_token: str
    csrf_bound: bool = True  # the request's CSRF cookie is the one issued with this session


async def get_settings(request: Request) -> WebSettings:
    """The app's settings."""
    return request.app.state.settings


async def get_database(request: Request) -> Database:
    """The app's store holder (one writer, many readers)."""
    return request.app.state.db


async def get_now(request: Request) -> datetime:
    """The current time from the app's clock (naive UTC; injectable for tests)."""
    return request.app.state.clock()


SettingsDep = Annotated[WebSettings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
NowDep = Annotated[datetime, Depends(get_now)]


async def get_store(db: DatabaseDep) -> AsyncIterator[Store]:
    """A read store on the request's own cursor (opening and closing a cursor does not
    block, so this runs on the event loop rather than a worker thread)."""
    with db.reader() as store:
        yield store


StoreDep = Annotated[Store, Depends(get_store)]


def client_ip(request: Request) -> str | None:
    """The peer address (behind a proxy, run uvicorn with --proxy-headers)."""
    return request.client.host if request.client else None


async def get_optional_session(
    request: Request, db: DatabaseDep, store: StoreDep, now: NowDep, settings: SettingsDep
) -> AuthSession | None:
    """The live session named by the cookie, or None; ends a timed-out one.

    A session already read since the last write block that is live and needs no touch is
    answered here on the event loop; reading the store, touching or ending a session go to a
    worker thread (a thread hop costs about as much as the rest of this check)."""
    signers: Signers = request.app.state.signers
    token = signers.session_token(request.cookies.get(SESSION_COOKIE))
    if token is None:
        return None
    found = db.peek_session(token_id(token))
    if found is not None:
        session, user = found
        if (
            user is not None
            and not user.disabled
            and session_state(session, now, settings) == "active"
            and not needs_touch(session, now)
        ):
            return _bound_session(request, session, user)
    return await run_in_threadpool(_load_session, request, db, store, now, settings, token)


def _bound_session(request: Request, session: SessionRecord, user: User) -> AuthSession:
    # The app-wide check saw header == cookie; this ties the cookie to this session.
    bound = hmac.compare_digest(request.cookies.get(CSRF_COOKIE, ""), session.csrf_token)
    return AuthSession(session.session_id, user, session.csrf_token, bound)


def _load_session(
    request: Request, db: Database, store: Store, now: datetime, settings: WebSettings, token: str
) -> AuthSession | None:
    """:func:`get_optional_session` with the store: reads, touches or ends the session."""

    def load() -> tuple[SessionRecord, User | None] | None:
        found = find_session(store, token)
        return None if found is None else (found, get_user(store, found.username))

    # Read once per session until the next write (login, logout, touch, account change).
    cached = db.cached_session(token_id(token), load)
    if cached is None:
        return None
    session, user = cached
    state = session_state(session, now, settings)
    if state != "active" or user is None or user.disabled:
        with db.writer(data=False) as w:
            end_session(w, session.session_id)
            if state != "active":
                record(
                    w,
                    Actor(session.username, user.role.value if user else None, client_ip(request)),
                    now,
                    "session.timeout" if state == "idle" else "session.expire",
                    f"user:{session.username}",
                )
        if state == "idle":
            request.state.session_problem = (
                f"已空闲超过 {settings.idle_timeout_minutes} 分钟，会话已结束，请重新登录 / "
                "session ended after inactivity; log in again"
            )
        elif state == "expired":
            request.state.session_problem = "会话已到期，请重新登录 / session expired; log in again"
        return None
    if needs_touch(session, now):
        with db.writer(data=False) as w:
            touch_session(w, session.session_id, now)
    return _bound_session(request, session, user)


OptionalSessionDep = Annotated[AuthSession | None, Depends(get_optional_session)]


async def get_session(request: Request, session: OptionalSessionDep) -> AuthSession:
    """The live session; 401 without one, 403 for a write whose CSRF token is not its own."""
    if session is None:
        raise not_logged_in(getattr(request.state, "session_problem", None))
    if request.method not in SAFE_METHODS and not session.csrf_bound:
        # A login, by contrast, may proceed: it replaces the session and its token.
        raise forbidden(
            "CSRF 令牌与会话不符，请刷新页面 / CSRF token does not belong to this session"
        )
    return session


SessionDep = Annotated[AuthSession, Depends(get_session)]


async def get_current_user(session: SessionDep, now: NowDep, settings: SettingsDep) -> User:
    """The logged-in user, once no password change is pending (403 until it is done)."""
    reason = password_change_reason(session.user, now, settings)
    if reason:
        raise forbidden(f"{reason}（POST /api/v1/password）")
    return session.user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_actor(request: Request, user: CurrentUser) -> Actor:
    """The current user as the actor of audit entries."""
    return Actor(user.username, user.role.value, client_ip(request))


ActorDep = Annotated[Actor, Depends(get_actor)]


def require_roles(*roles: Role) -> Callable[..., User]:
    """A dependency admitting only ``roles`` (403 for the others)."""
    allowed = frozenset(roles)

    async def dependency(user: CurrentUser) -> User:
        """The user, if the role is allowed."""
        if user.role not in allowed:
            raise forbidden(
                "您的角色无权访问此功能 / your role may not use this: "
                + ", ".join(sorted(r.value for r in allowed))
            )
        return user

    return dependency

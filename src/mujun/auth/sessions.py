"""Server-side sessions: the browser holds a random token, the store its SHA-256.

A session ends at logout, after ``idle_timeout_minutes`` without a request, after
``session_lifetime_hours`` in all, or when its account is disabled or changes password.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from mujun.auth.settings import AuthSettings
from mujun.store import Store

# last_seen is written at most this often: every request would otherwise be a write. A session
# may therefore end up to this much before its idle timeout, never after it.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionRecord:
    """One row of ``sessions``."""

    session_id: str
    username: str
    csrf_token: str
    created_at: datetime
    last_seen: datetime
    expires_at: datetime


def token_id(token: str) -> str:
    """The stored id of a session token (its SHA-256, hex)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_session(
    store: Store,
    username: str,
    csrf_token: str,
    *,
    now: datetime,
    settings: AuthSettings,
    ip: str | None = None,
    user_agent: str | None = None,
) -> str:
    """Start a session for ``username`` and return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    store.execute(
        "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            token_id(token),
            username,
            csrf_token,
            now,
            now,
            now + timedelta(hours=settings.session_lifetime_hours),
            ip,
            (user_agent or "")[:300],
        ],
    )
    return token


def find_session(store: Store, token: str) -> SessionRecord | None:
    """The session of ``token``, whether or not it has expired; None when unknown."""
    rows = store.rows(
        "SELECT session_id, username, csrf_token, created_at, last_seen, expires_at "
        "FROM sessions WHERE session_id = ?",
        [token_id(token)],
    )
    return SessionRecord(*rows[0]) if rows else None


def session_state(session: SessionRecord, now: datetime, settings: AuthSettings) -> str:
    """``active``, ``idle`` (timed out) or ``expired`` (past its lifetime)."""
    if now >= session.expires_at:
        return "expired"
    if now - session.last_seen >= timedelta(minutes=settings.idle_timeout_minutes):
        return "idle"
    return "active"


def needs_touch(session: SessionRecord, now: datetime) -> bool:
    """Whether ``last_seen`` is stale enough to be written again."""
    return now - session.last_seen >= TOUCH_EVERY


def touch_session(store: Store, session_id: str, now: datetime) -> None:
    """Record activity on a session."""
    store.execute("UPDATE sessions SET last_seen = ? WHERE session_id = ?", [now, session_id])


def end_session(store: Store, session_id: str) -> None:
    """Remove one session."""
    store.execute("DELETE FROM sessions WHERE session_id = ?", [session_id])


def end_user_sessions(store: Store, username: str, keep: str | None = None) -> None:
    """Remove every session of ``username`` except ``keep``."""
    store.execute(
        "DELETE FROM sessions WHERE username = ? AND session_id IS DISTINCT FROM ?",
        [username, keep],
    )


def purge_sessions(store: Store, now: datetime, settings: AuthSettings) -> int:
    """Delete sessions past their lifetime or idle timeout; return how many."""
    idle_before = now - timedelta(minutes=settings.idle_timeout_minutes)
    n = store.scalar(
        "SELECT count(*) FROM sessions WHERE expires_at <= ? OR last_seen <= ?", [now, idle_before]
    )
    store.execute(
        "DELETE FROM sessions WHERE expires_at <= ? OR last_seen <= ?", [now, idle_before]
    )
    return int(n or 0)

"""Helpers for tests of the web platform: a settable clock, CSRF-aware login and logged-in
clients."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from mujun.web.security import CSRF_COOKIE, CSRF_HEADER


class FakeClock:
    """A clock for ``create_app(clock=...)`` that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2030, 1, 7, 9, 0, 0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move forward by ``timedelta(**delta)``."""
        self.now += timedelta(**delta)


def csrf_headers(client: Any) -> dict[str, str]:
    """The header that echoes the client's CSRF cookie (fetching one first if needed)."""
    if CSRF_COOKIE not in client.cookies:
        client.get("/api/v1/csrf")
    return {CSRF_HEADER: client.cookies[CSRF_COOKIE]}


def login(client: Any, username: str, password: str) -> Any:
    """POST /api/v1/login with the CSRF header; returns the response."""
    return client.post(
        "/api/v1/login",
        json={"username": username, "password": password},
        headers=csrf_headers(client),
    )


def form_login(client: Any, username: str, password: str, **fields: str) -> Any:
    """Log in through the HTML form at /login as a browser does (the form sets the CSRF
    cookie, the post echoes it); returns the response, redirects not followed."""
    client.get("/login")
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": client.cookies[CSRF_COOKIE],
            **fields,
        },
        follow_redirects=False,
    )


def logged_in_client(app_or_client: Any, username: str, password: str, *, form: bool = False):
    """A test client logged in as ``username``: a new one for an app, or the client given;
    through the JSON API, or the HTML form with ``form``. A refused login fails the test with
    the server's answer."""
    from fastapi.testclient import TestClient

    client = app_or_client if isinstance(app_or_client, TestClient) else TestClient(app_or_client)
    if form:
        res, expected = form_login(client, username, password), 303
    else:
        res, expected = login(client, username, password), 200
    if res.status_code != expected:
        raise AssertionError(f"login as {username}: {res.status_code} {res.text[:500]}")
    return client


def post(client: Any, path: str, json: Any = None) -> Any:
    """A state-changing POST with the CSRF header, as a page's script would send it."""
    return client.post(path, json=json, headers=csrf_headers(client))


def create_accounts(
    store: Any,
    accounts: dict[str, tuple[Any, dict[str, Any]]],
    *,
    settings: Any,
    now: datetime,
    password: str,
) -> None:
    """Create ``{username: (role, attributes)}`` accounts with ``password`` and no forced
    change, as a test's world needs them."""
    from mujun.auth import Actor, create_user

    for name, (role, attrs) in accounts.items():
        create_user(
            store,
            username=name,
            role=role,
            now=now,
            actor=Actor("test", "cli"),
            settings=settings,
            password=password,
            must_change_password=False,
            **attrs,
        )

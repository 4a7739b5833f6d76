"""Cookies, CSRF and response headers.

Sessions: the ``mujun_session`` cookie holds a random token signed with the deployment's secret
(HttpOnly, SameSite=Lax, Secure when configured); the store keeps the token's hash.

CSRF (double submit, bound to the session): the ``mujun_csrf`` cookie holds a signed random
token that pages and scripts can read; every state-changing request must send the same value in
the ``X-CSRF-Token`` header or a ``csrf_token`` form field, and once logged in it must also be
the token issued with the session, so a token planted from elsewhere is useless.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response
from itsdangerous import BadSignature, Signer
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mujun.web.errors import HttpError

SESSION_COOKIE = "mujun_session"
CSRF_COOKIE = "mujun_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# Pages may load only what the server itself serves (design.md: no CDN). Inline styles are
# allowed because chart libraries and htmx set them; inline scripts are not.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}


class Signers:
    """The deployment's signers for session and CSRF cookies."""

    def __init__(self, secret: str) -> None:
        self.session = Signer(secret, salt="mujun-session")
        self.csrf = Signer(secret, salt="mujun-csrf")

    def sign_session(self, token: str) -> str:
        """The cookie value for a session token."""
        return self.session.sign(token).decode()

    def session_token(self, cookie: str | None) -> str | None:
        """The session token in a cookie value, or None when absent or forged."""
        if not cookie:
            return None
        try:
            return self.session.unsign(cookie).decode()
        except BadSignature:
            return None

    def new_csrf(self) -> str:
        """A fresh signed CSRF token."""
        return self.csrf.sign(secrets.token_urlsafe(24)).decode()

    def csrf_valid(self, value: str | None) -> bool:
        """Whether ``value`` is a CSRF token this deployment signed."""
        return bool(value) and self.csrf.validate(value)


def set_cookie(response: Response, name: str, value: str, *, secure: bool, http_only: bool) -> None:
    """Set a site-wide SameSite=Lax cookie that lives as long as the browser session."""
    response.set_cookie(name, value, path="/", httponly=http_only, samesite="lax", secure=secure)


def set_session_cookies(response: Response, session_cookie: str, csrf: str, secure: bool) -> None:
    """Send a new session's cookies."""
    set_cookie(response, SESSION_COOKIE, session_cookie, secure=secure, http_only=True)
    # Readable by the page's scripts, which echo it in the X-CSRF-Token header.
    set_cookie(response, CSRF_COOKIE, csrf, secure=secure, http_only=False)


def clear_session_cookie(response: Response, secure: bool) -> None:
    """Remove the session cookie from the browser."""
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="lax")


async def submitted_csrf(request: Request) -> str | None:
    """The CSRF token sent with a request: the header, else a form field."""
    token = request.headers.get(CSRF_HEADER)
    if token:
        return token
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        # Starlette caches the parsed form on the request, so the endpoint can read it again.
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def check_csrf(request: Request) -> None:
    """Reject a state-changing request without the matching CSRF token (403).

    Installed on the whole app; the session dependency also checks that the cookie is the
    token issued with the session.
    """
    if request.method in SAFE_METHODS:
        return
    signers: Signers = request.app.state.signers
    cookie = request.cookies.get(CSRF_COOKIE)
    sent = await submitted_csrf(request)
    if not (cookie and sent and hmac.compare_digest(cookie, sent) and signers.csrf_valid(cookie)):
        raise HttpError(
            403,
            "缺少或错误的 CSRF 令牌，请刷新页面后重试 / CSRF token missing or wrong: send the "
            f"{CSRF_COOKIE} cookie's value in the {CSRF_HEADER} header",
        )


# Front-end libraries from npm change only with an upgrade; the app's own files with a release.
# Browsers revalidate with the ETag StaticFiles sends once these run out.
STATIC_CACHE = {
    "/assets/vendor/": "public, max-age=86400",
    "/assets/app/": "public, max-age=3600",
}


class SecurityHeaders:
    """ASGI middleware: security headers on every answer, API answers kept out of caches,
    static files cacheable, and a CSRF token for every visitor who has none (a plain ASGI
    middleware: no extra task and stream per request as with ``@app.middleware``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if "cache-control" not in headers:
                    if path.startswith("/api/"):
                        # API answers carry confidential figures: never keep them in a cache.
                        headers["Cache-Control"] = "no-store"
                    else:
                        for prefix, policy in STATIC_CACHE.items():
                            if path.startswith(prefix):
                                headers["Cache-Control"] = policy
                sets_csrf = any(
                    c.startswith(f"{CSRF_COOKIE}=") for c in headers.getlist("set-cookie")
                )
                app = scope["app"]
                signers: Signers = app.state.signers
                if not sets_csrf and not signers.csrf_valid(
                    HTTPConnection(scope).cookies.get(CSRF_COOKIE)
                ):
                    # Every visitor gets a CSRF token before their first form or login.
                    carrier = Response()
                    set_cookie(
                        carrier,
                        CSRF_COOKIE,
                        signers.new_csrf(),
                        secure=app.state.settings.cookie_secure,
                        http_only=False,
                    )
                    for value in carrier.headers.getlist("set-cookie"):
                        headers.append("set-cookie", value)
            await send(message)

        await self.app(scope, receive, send_with_headers)

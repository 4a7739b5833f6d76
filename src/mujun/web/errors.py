"""One error shape for the whole API, and a minimal error page for browsers.

JSON: ``{"ok": false, "error": "a; b", "errors": ["a", "b"], "status": 400}`` for every 4xx/5xx,
including FastAPI's request validation (422) and unknown routes (404).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from mujun.errors import MujunError

log = logging.getLogger("mujun.web")

TEMPLATES_DIR = Path(__file__).parent / "templates"


class PageEnvironment(jinja2.Environment):
    """Jinja's environment for the pages, reading ``x.name`` on a dict as ``x["name"]`` first.

    The pages are rendered from dicts (rows, parameters, choices). Jinja looks an attribute up
    first and, for a dict, only then the key, which costs a raised AttributeError per lookup:
    a third of a rankings page's rendering. A key named like a dict method (``items``,
    ``get`` …) now wins over the method, so such keys are never read with ``.``-syntax."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``obj[attribute]`` for a dict holding that key, else Jinja's own lookup."""
        if isinstance(obj, dict):
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def page_templates() -> Jinja2Templates:
    """The page templates, compiled once: no file check on every render (they change with a
    release)."""
    env = PageEnvironment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(),
        auto_reload=False,
    )
    return Jinja2Templates(env=env)


STATUS_TEXT = {
    400: "请求有误 / Bad request",
    401: "未登录或会话已过期 / Not logged in",
    403: "无权访问 / Forbidden",
    404: "未找到 / Not found",
    405: "不支持的方法 / Method not allowed",
    422: "参数不正确 / Invalid parameters",
    429: "请求过于频繁 / Too many requests",
    500: "服务器内部错误 / Internal error",
}


def in_language(message: str, lang: str) -> str:
    """One language of a bilingual message (中文 / English): the English part on English pages,
    the whole message otherwise (Chinese first, as stored)."""
    if lang == "en" and " / " in message:
        return message.split(" / ", 1)[1]
    return message


class HttpError(Exception):
    """An API error with a status and one or more messages (Chinese first)."""

    def __init__(self, status: int, *errors: str, headers: dict[str, str] | None = None) -> None:
        super().__init__("; ".join(errors))
        self.status = status
        self.errors = list(errors) or [STATUS_TEXT.get(status, str(status))]
        self.headers = headers


def not_logged_in(message: str | None = None) -> HttpError:
    """401 for a request without a valid session."""
    return HttpError(401, message or "未登录，请先登录 / not logged in")


def forbidden(message: str | None = None) -> HttpError:
    """403 for a request outside the user's role or scope."""
    return HttpError(403, message or "无权访问 / forbidden for your role or scope")


def not_found(zh: str, en: str) -> HttpError:
    """404 naming what was not found (also for things outside the user's scope, so that
    their existence is not confirmed)."""
    return HttpError(404, f"未找到{zh} / {en} not found")


def error_body(status: int, errors: list[str]) -> dict:
    """The JSON error shape."""
    return {"ok": False, "error": "; ".join(errors), "errors": errors, "status": status}


def wants_html(request: Request) -> bool:
    """Whether to answer with a page: a browser asking for HTML outside ``/api/``."""
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_response(
    request: Request, status: int, errors: list[str], headers: dict[str, str] | None = None
) -> Response:
    """The error as JSON, or as the error page for a browser."""
    if wants_html(request):
        from mujun.web.pages.i18n import request_lang

        lang = request_lang(request)[0]
        templates: Jinja2Templates = request.app.state.templates
        return templates.TemplateResponse(
            request,
            "error.html",
            {
                "status": status,
                "lang": lang,
                "title": in_language(STATUS_TEXT.get(status, str(status)), lang),
                "errors": [in_language(e, lang) for e in errors],
            },
            status_code=status,
            headers=headers,
        )
    return JSONResponse(error_body(status, errors), status_code=status, headers=headers)


def _validation_messages(exc: RequestValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        out.append(f"{loc}: {err.get('msg', 'invalid')}")
    return out or ["参数不正确 / invalid request"]


def install_error_handlers(app: FastAPI) -> None:
    """Route every error through :func:`error_response`."""

    @app.exception_handler(HttpError)
    async def _http_error(request: Request, exc: HttpError) -> Response:
        return error_response(request, exc.status, exc.errors, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _starlette(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else None
        message = STATUS_TEXT.get(exc.status_code)
        if detail and detail not in ("Not Found", "Method Not Allowed") and detail != message:
            message = detail
        return error_response(
            request, exc.status_code, [message or str(exc.status_code)], exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 422, _validation_messages(exc))

    @app.exception_handler(MujunError)
    async def _mujun(request: Request, exc: MujunError) -> Response:
        errors = [p.strip() for p in exc.message.split("; ") if p.strip()]
        if exc.hint:
            errors.append(exc.hint)
        return error_response(request, 400, errors)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Details go to the server log only: a trace can carry confidential values.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, 500, [STATUS_TEXT[500]])

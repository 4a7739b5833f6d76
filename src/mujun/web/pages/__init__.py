"""Server-rendered pages (Jinja2 + htmx + ECharts) on the same app as the JSON API.

``include_pages(app)`` adds the page routers, the app's own static files under ``/assets/app``
and the front-end libraries installed from npm (``node_modules``) under ``/assets/vendor``.
Nothing is loaded from a CDN; without ``node_modules`` the pages still work and say where the
charts would be.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from mujun.web.errors import page_templates
from mujun.web.pages import (
    admin,
    auth_pages,
    confirm,
    firm,
    home,
    loweff,
    notices,
    objections,
    overview,
    quality,
    rankings,
    runs,
    sms_login,
    upload,
)
from mujun.web.pages import policy as policy_pages
from mujun.web.pages import whatif as whatif_pages
from mujun.web.pages.common import (
    LoginRequired,
    PasswordChangeRequired,
    TreeRenderer,
    login_url,
)

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
# npm package → (folder inside node_modules, file the pages load)
VENDOR_FILES = {
    "echarts": ("echarts/dist", "echarts.min.js"),
    "htmx": ("htmx.org/dist", "htmx.min.js"),
}


def format_number(value: float | None, digits: int = 2) -> str:
    """A number with thousands separators and ``digits`` decimals ('—' for none)."""
    return "—" if value is None else f"{value:,.{digits}f}"


def format_share(value: float | None) -> str:
    """A share as a percentage with one decimal ('—' for none)."""
    return "—" if value is None else f"{100 * value:.1f}%"


def format_change(value: float | None) -> str:
    """A relative change with its sign ('—' for none)."""
    return "—" if value is None else f"{100 * value:+.1f}%"


def find_node_modules(configured: Path | None) -> Path | None:
    """The node_modules folder: the configured one, else the repository's, else the working
    directory's (None when none exists)."""
    repo = Path(__file__).resolve().parents[4] / "node_modules"
    for candidate in (configured, repo, Path.cwd() / "node_modules"):
        if candidate is not None and Path(candidate).is_dir():
            return Path(candidate)
    return None


def mount_vendor(app: FastAPI, node_modules: Path | None) -> dict[str, str | None]:
    """Serve each installed library's dist folder; return the URL of each (None if missing)."""
    urls: dict[str, str | None] = {}
    for name, (folder, entry) in VENDOR_FILES.items():
        dist = node_modules / folder if node_modules else None
        if dist is not None and (dist / entry).is_file():
            app.mount(f"/assets/vendor/{name}", StaticFiles(directory=dist), name=f"vendor-{name}")
            urls[name] = f"/assets/vendor/{name}/{entry}"
        else:
            urls[name] = None
    return urls


def include_pages(app: FastAPI) -> None:
    """Add the pages, their static files and the redirects to login and password change."""
    templates = page_templates()
    templates.env.filters.update(num=format_number, pct=format_share, signedpct=format_change)
    app.state.page_templates = templates
    app.state.tree_renderer = TreeRenderer(templates)
    app.state.vendor_assets = mount_vendor(app, find_node_modules(app.state.settings.vendor_dir))
    app.mount("/assets/app", StaticFiles(directory=STATIC_DIR), name="app-static")
    for module in (
        auth_pages,
        overview,
        rankings,
        firm,
        loweff,
        quality,
        runs,
        objections,
        confirm,
        upload,
        sms_login,
        notices,
        home,
        admin,
    ):
        app.include_router(module.router)
    # The policy ledger and the what-if simulation (mujun.policy, mujun.whatif).
    for module in (policy_pages, whatif_pages):
        app.include_router(module.router)

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        url = login_url(exc.next_url)
        if request.headers.get("HX-Request") == "true":
            # htmx would swap the login page into the table; ask for a full navigation.
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def _to_password(request: Request, exc: PasswordChangeRequired) -> Response:
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": "/password"})
        return RedirectResponse("/password", status_code=303)

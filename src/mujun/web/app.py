"""``create_app(settings)``: the FastAPI application, assembled without import-time state.

Each call opens its own store, so tests (and extra processes) can run apps side by side on
different DuckDB files. Pages (Jinja2 + htmx) are added on the same app by later routers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import Depends, FastAPI

from mujun import __version__
from mujun.auth.clock import utcnow
from mujun.auth.keys import stored_secret
from mujun.auth.sms import SmsDispatcher, gateway_for
from mujun.web.background import UploadJobs, recover_uploads, settle_periodically
from mujun.web.db import Database
from mujun.web.errors import install_error_handlers, page_templates
from mujun.web.pages import include_pages
from mujun.web.routers import (
    audit,
    auth,
    divisions,
    files,
    loweff,
    notifications,
    publication,
    robustness,
    runs,
    sms,
    upload,
    users,
    workflow,
)
from mujun.web.routers import policy as policy_routes
from mujun.web.security import SecurityHeaders, Signers, check_csrf
from mujun.web.settings import WebSettings
from mujun.web.warm import Warmer
from mujun.workflow import WorkflowSettings

API_PREFIX = "/api/v1"


def create_app(settings: WebSettings, *, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """Build the app on the store named by ``settings.db`` (``clock`` gives naive UTC)."""
    db = Database(
        settings.db,
        threads=settings.duckdb_threads,
        cache_mb=settings.cache_mb,
        audit_delay_ms=settings.audit_delay_ms,
    )
    if settings.cookie_secret is not None:
        secret = settings.cookie_secret.get_secret_value()
    else:
        with db.writer() as w:
            secret = stored_secret(w, "cookie_secret", clock())

    # SMS through the deployment's gateway are posted by a background thread, outside the
    # write lock; the default outbox driver needs none.
    gateway = gateway_for(settings)
    dispatcher = SmsDispatcher(db, gateway, clock) if gateway is not None else None

    # The pages' read models are computed after start-up and after every data write, in the
    # background, rather than by the first request that needs them.
    warmer = Warmer(db) if settings.warm_read_models else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if dispatcher is not None:
            dispatcher.start()
        # Uploads a stopped server left half-way were rolled back; say so, then settle runs
        # whose objection window is over, now and periodically.
        recover_uploads(db, clock)
        if warmer is not None:
            warmer.trigger()
        settler = asyncio.create_task(
            settle_periodically(db, clock, app.state.workflow_settings.settle_minutes)
        )
        yield
        settler.cancel()
        app.state.upload_jobs.shutdown()
        if dispatcher is not None:
            dispatcher.stop()
        db.close()

    app = FastAPI(
        title="亩均评价平台 Mujun API",
        version=__version__,
        openapi_url=f"{API_PREFIX}/openapi.json",
        # FastAPI's bundled docs pages load their scripts from a CDN; the platform works
        # offline, so interactive docs come later from locally served assets.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(check_csrf)],
    )
    app.state.settings = settings
    app.state.db = db
    app.state.clock = clock
    app.state.signers = Signers(secret)
    app.state.sms_dispatcher = dispatcher
    app.state.warmer = warmer
    app.state.templates = page_templates()
    install_error_handlers(app)

    app.add_middleware(SecurityHeaders)

    @app.get(f"{API_PREFIX}/health", tags=["health"])
    def health() -> dict:
        """Liveness: answers without a login and without touching confidential data."""
        return {"ok": True, "version": __version__}

    for module in (auth, sms, notifications, runs, divisions, users, audit, files):
        app.include_router(module.router, prefix=API_PREFIX)
    # Publication, confirmation and uploads (mujun.workflow); folders next to the store by default.
    app.state.workflow_settings = WorkflowSettings().folders_for(settings.db)
    app.state.upload_jobs = UploadJobs()
    for module in (publication, workflow, upload, loweff, robustness):
        app.include_router(module.router, prefix=API_PREFIX)
    # Differentiated policies: the ledger of a run (mujun.policy).
    app.include_router(policy_routes.router, prefix=API_PREFIX)
    include_pages(app)  # HTML pages, their static files and the npm front-end libraries
    return app

"""``mujun serve``: run the web platform with Uvicorn (the lead registers ``serve_command``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mujun.errors import MujunError


def serve_command(
    db: Annotated[
        Path | None,
        typer.Option(
            "--db", help="DuckDB 数据库文件 / store file (default $MUJUN_DB or ./mujun.duckdb)"
        ),
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="监听地址 / address to listen on (default 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="端口 / port (default 8000)")] = None,
) -> None:
    """启动网页平台与 API（独占数据库写入）/ Serve the web platform and JSON API.

    The server holds the store for writing while it runs (one writer); stop it before running
    write commands such as `mujun ingest` or `mujun users add`.
    """
    import uvicorn
    from pydantic import ValidationError

    from mujun.auth.cli import settings_problem
    from mujun.web.app import create_app
    from mujun.web.settings import WebSettings

    try:
        settings = WebSettings()
    except ValidationError as exc:
        typer.echo(f"error: {settings_problem(exc)}", err=True)
        raise typer.Exit(2) from None
    updates = {k: v for k, v in {"db": db, "host": host, "port": port}.items() if v is not None}
    settings = settings.model_copy(update=updates)
    try:
        app = create_app(settings)
    except MujunError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            typer.echo(f"hint: {exc.hint}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"亩均评价平台 serving {settings.db} at http://{settings.host}:{settings.port} "
        "(Ctrl+C 停止 / to stop)"
    )
    # One process: the store has one writer (design.md, "One writer"). Read-only replicas of
    # published snapshots are how to scale out, not uvicorn workers on the same file.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        proxy_headers=True,
        timeout_keep_alive=settings.keep_alive_seconds,
    )

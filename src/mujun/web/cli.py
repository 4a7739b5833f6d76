"""``mujun serve``: run the web platform with Uvicorn (the lead registers ``serve_command``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mujun.cli_common import friendly


@friendly
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

    from mujun.web.app import create_app
    from mujun.web.settings import WebSettings

    # A MUJUN_* setting out of bounds or a store in use ends in one line (``friendly``).
    settings = WebSettings()
    updates = {k: v for k, v in {"db": db, "host": host, "port": port}.items() if v is not None}
    settings = settings.model_copy(update=updates)
    app = create_app(settings)
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

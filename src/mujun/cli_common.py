"""Pieces every command group shares: the `--db` option and the one-line error exit."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from mujun.errors import MujunError

err_console = Console(stderr=True, highlight=False, soft_wrap=True)

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db", help="DuckDB 数据库文件 / store file (default ./mujun.duckdb or $MUJUN_DB)"
    ),
]


def settings_problem(exc: ValidationError) -> str:
    """One line naming each bad ``MUJUN_*`` setting and why."""
    return "; ".join(
        f"MUJUN_{'_'.join(str(p) for p in e['loc']).upper()}: "
        + str(e["msg"]).removeprefix("Value error, ")
        for e in exc.errors()
    )


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a MujunError, or a ``MUJUN_*`` setting out of bounds, into one line on stderr and
    exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MujunError as exc:
            err_console.print(f"[bold red]error:[/] {exc.message}")
            if exc.hint:
                err_console.print(f"[yellow]hint:[/] {exc.hint}")
            raise typer.Exit(2) from None
        except ValidationError as exc:
            # Rule, policy and source files wrap their pydantic errors in a MujunError, so what
            # reaches here is a setting read from the environment.
            err_console.print(f"[bold red]error:[/] {settings_problem(exc)}")
            raise typer.Exit(2) from None

    return wrapper

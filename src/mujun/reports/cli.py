"""``mujun publish`` and ``mujun sheet``: thin commands over :mod:`mujun.reports`.

Register with ``app.command("publish")(friendly(publish_command))``; typed errors raised here
(unknown run, firm or region) become one line with a hint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mujun.errors import InputError

__all__ = ["publish_command", "sheet_command"]

RunArg = Annotated[str, typer.Argument(help="批次号 / run id, e.g. E2023-0001")]
DbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db", help="DuckDB 数据库文件 / store file (default ./mujun.duckdb or $MUJUN_DB)"
    ),
]


def _open(db: Path | None):
    from mujun.settings import Settings
    from mujun.store import open_store

    settings = Settings()
    return open_store(db or settings.db, read_only=True, threads=settings.duckdb_threads)


def publish_command(
    run: RunArg,
    region: Annotated[
        str,
        typer.Option(help="行政区划代码 / county, city (xxxx00) or province (330000) code"),
    ],
    out: Annotated[Path, typer.Option(help="输出目录 / output folder")] = Path("."),
    db: DbOpt = None,
) -> None:
    """生成评价结果公示附件：每个区县一份内部版和一份公示版（不含税收等涉密数据）。

    Write each county's result workbook (one sheet per category plus 说明) and its public variant
    without confidential figures; the same run always gives byte-identical files.
    """
    from mujun.reports import write_published_workbooks

    console = Console(highlight=False, soft_wrap=True)
    with _open(db) as store:
        paths = write_published_workbooks(store, run, region, out)
        paths += write_published_workbooks(store, run, region, out, public=True)
    for path in sorted(paths):
        console.print(str(path))
    console.print(f"wrote {len(paths)} workbooks / 已生成 {len(paths)} 个工作簿")


def sheet_command(
    run: RunArg,
    out: Annotated[
        Path, typer.Option(help="输出文件或目录 / output file (one firm) or folder (a region)")
    ],
    uscc: Annotated[
        str | None, typer.Option(help="统一社会信用代码 / one firm's credit code")
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="行政区划代码 / every firm of a county, city or province")
    ] = None,
    db: DbOpt = None,
) -> None:
    """生成一企一单：指定一家企业（--uscc）或一个区域的全部企业（--region，另附目录）。

    Write the one-firm sheet (一企一单) of one firm, or of every firm in a region with an index
    workbook per county.
    """
    from mujun.reports import write_enterprise_sheet, write_enterprise_sheets
    from mujun.reports.enterprise import is_index

    if (uscc is None) == (region is None):
        raise InputError(
            "give exactly one of --uscc and --region",
            "e.g. --uscc 91331081MA2HY0001X or --region 331081",
        )
    console = Console(highlight=False, soft_wrap=True)
    with _open(db) as store:
        if uscc is not None:
            path = write_enterprise_sheet(store, run, uscc, out)
            console.print(str(path))
            return
        paths = write_enterprise_sheets(store, run, region or "", out)
    indexes = [p for p in paths if is_index(p)]
    for path in indexes:
        console.print(str(path))
    console.print(
        f"wrote {len(paths) - len(indexes):,} firm sheets and {len(indexes)} index workbooks "
        f"to {out} / 已生成一企一单"
    )

"""The ``mujun uscc`` sub-command: check unified social credit codes."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from mujun.reference.uscc import normalise_uscc_text, validate_uscc

__all__ = ["uscc_command"]


def uscc_command(
    codes: Annotated[
        list[str],
        typer.Argument(metavar="CODE", help="统一社会信用代码 / unified social credit codes"),
    ],
) -> None:
    """校验统一社会信用代码（GB 32100-2015），每个代码输出一行；全部有效时退出码为 0，否则为 1。

    Check unified social credit codes (GB 32100-2015) exactly as given; exit code 0 if all valid.
    """
    console = Console(highlight=False, soft_wrap=True)
    all_valid = True
    for code in codes:
        result = validate_uscc(code)
        line = Text(code)
        line.append("  ")
        if result.valid:
            line.append("valid", style="green")
        else:
            all_valid = False
            line.append(f"invalid: {result.reason}", style="red")
            cleaned = normalise_uscc_text(code)
            if cleaned != code and validate_uscc(cleaned).valid:
                line.append(f" (cleaned, {cleaned} is valid / 规范化后 {cleaned} 有效)")
        console.print(line)
    if not all_valid:
        raise typer.Exit(code=1)

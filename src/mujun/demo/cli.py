"""``mujun demo-data``: generate the synthetic province with progress bars and a calibration table."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from mujun.cli_common import friendly
from mujun.errors import InputError

_RANGE = re.compile(r"^\s*(\d{4})\s*[-–~]\s*(\d{4})\s*$")


def parse_years(text: str) -> tuple[int, ...]:
    """Years from ``2021-2023`` (a range) or ``2022,2023`` (a list)."""
    m = _RANGE.match(text)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        if a > b:
            raise InputError(f"year range {text!r} runs backwards", "write it as 2021-2023")
        return tuple(range(a, b + 1))
    parts = [p.strip() for p in re.split(r"[,，\s]+", text) if p.strip()]
    if not parts or not all(p.isdigit() and len(p) == 4 for p in parts):
        raise InputError(f"cannot read years {text!r}", "use 2021-2023 or 2022,2023")
    return tuple(sorted({int(p) for p in parts}))


def _fmt(value: float) -> str:
    if value != value:
        return "–"
    if abs(value) < 1:
        return f"{value:.4f}"
    return f"{value:,.2f}" if abs(value) < 10000 else f"{value:,.0f}"


def calibration_table(calibration: dict, wide: bool = True) -> Table:
    """Rich table of the calibration figures against their targets (``wide`` adds the keys)."""
    table = Table(title=f"校准结果 / calibration {calibration['year']} (规上 totals over totals)")
    table.add_column("指标 / figure")
    if wide:
        table.add_column("key")
    table.add_column("实际 value", justify="right")
    table.add_column("目标 target", justify="right")
    table.add_column("范围 range", justify="right", no_wrap=True)
    table.add_column("单位 unit")
    table.add_column("", justify="center")
    for key, f in calibration["figures"].items():
        ok = "[green]PASS[/]" if f["pass"] else "[red]FAIL[/]"
        table.add_row(
            f["label"], *([key] if wide else []), _fmt(f["value"]), _fmt(f["target"]),
            f"{_fmt(f['low'])}–{_fmt(f['high'])}", f["unit"], ok,
        )  # fmt: skip
    return table


@friendly
def demo_data_command(
    out: Annotated[Path, typer.Argument(help="输出目录 / output folder (created if missing)")],
    enterprises: Annotated[
        int, typer.Option(help="每年名录中的企业数 / firms in each year's register")
    ] = 112879,
    years: Annotated[
        str, typer.Option(help="年度：2021-2023 或 2022,2023 / years as a range or a list")
    ] = "2021-2023",
    seed: Annotated[int, typer.Option(help="随机种子，相同参数生成相同文件 / random seed")] = 20231,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="文件格式 xlsx | csv | mixed（最新年度 XLSX，往年 CSV）/ file format",
        ),
    ] = "mixed",
    defect_rate: Annotated[
        float, typer.Option(help="每个文件每类缺陷的比例 / defects per kind per file, as a share")
    ] = 0.004,
) -> None:
    """生成模拟省份的部门数据（名录、税务、统计、电力、环境、用地、用水、事件名单），附缺陷清单
    manifest.json 与真值 truth.parquet / Generate a synthetic province's department files with a
    manifest of injected defects and the true values."""
    from mujun.demo.generate import generate_province

    console = Console()
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    year_list = parse_years(years)
    with Progress(*columns, console=console, transient=False) as bars:
        tasks: dict[str, int] = {}

        def progress(label: str, done: int, total: int) -> None:
            """Create or advance the bar of one step."""
            if label not in tasks:
                names = {
                    "population": "模型 / population model",
                    "truth": "真值与清单 / truth + manifest",
                }
                tasks[label] = bars.add_task(
                    names.get(label, f"写入 / writing {label}"), total=total or 1
                )
            bars.update(tasks[label], completed=done if total else 1, total=total or 1)

        report = generate_province(
            out,
            enterprises=enterprises,
            years=year_list,
            seed=seed,
            fmt=format,
            defect_rate=defect_rate,
            progress=progress,
        )
    console.print(calibration_table(report.calibration, wide=console.width >= 110))
    n_defects = sum(report.defect_counts.values())
    console.print(
        f"{len(report.files)} 个文件 / files, {n_defects} 处缺陷 / defects, "
        f"{report.seconds:.1f} s → {report.out_dir}"
    )

"""The ``mujun composite`` sub-command: run a rule set on a data directory and write a CSV.

Register with ``app.command("composite")(friendly(composite_command))``; typed errors are left to
the caller's error handling.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from mujun.composite.engine import CompositeResult, run_rules

__all__ = ["composite_command", "write_result_csv"]


def _fmt(value: float) -> str:
    # 2 decimals for people; a missing score stays an empty field (as in the input).
    return "" if np.isnan(value) else f"{value + 0.0:.2f}"


def write_result_csv(result: CompositeResult, out: Path, *, indicators: bool = False) -> None:
    """Write one row per unit (best rank first): id, [item scores], aggregates, rank; 2 decimals."""
    aggs = [c for c in result.tree.aggregates if c in result.aggregates]
    header = [result.spec.data.unit_column]
    if indicators:
        header += list(result.indicators)
    header += [*aggs, "rank"]
    # Rank 0 (no total) sorts last; ties keep unit order (rows are sorted by unit id).
    order = np.lexsort(
        (result.units, np.where(result.rank > 0, result.rank, np.iinfo(np.int64).max))
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for i in order.tolist():
            row = [str(result.units[i])]
            if indicators:
                row += [_fmt(v) for v in result.item_scores[i].tolist()]
            row += [_fmt(result.aggregates[c][i]) for c in aggs]
            row.append(str(result.rank[i]) if result.rank[i] > 0 else "")
            writer.writerow(row)


def _print_summary(result: CompositeResult, out: Path, console: Console) -> None:
    log = result.log
    console.print(f"[bold]{result.spec.name}[/] (version {result.spec.version})")
    console.print(
        f"单位 units: {len(result.units)}; 筛除 screened out: {len(log.screened_out)}"
        + (f" ({', '.join(map(str, log.screened_out[:20]))})" if len(log.screened_out) else "")
    )
    if log.imputed:
        console.print(f"插补 imputed cells: {sum(log.imputed.values())}")
    treated = {k: v for k, v in log.outliers.items() if v.status != "passed"}
    if log.outliers:
        table = Table(title="异常值处理 / outlier treatment")
        table.add_column("indicator")
        table.add_column("status")
        table.add_column("points winsorised", justify="right")
        for code, rec in treated.items():
            table.add_row(code, rec.status, str(rec.points))
        console.print(table)
        console.print(f"{len(log.outliers) - len(treated)} other indicator(s) passed untreated")
    for note in log.notes:
        console.print(f"[yellow]note:[/] {note}")
    if result.aggregated and (result.rank > 0).any():
        best = int(np.flatnonzero(result.rank == 1)[0])
        console.print(f"第一 first: {result.units[best]} ({_fmt(result.total[best])})")
    console.print(f"结果 written: {out}")


def composite_command(
    rules: Annotated[Path, typer.Argument(help="规则文件 / rule-set YAML")],
    data_dir: Annotated[
        Path, typer.Argument(help="数据目录 / directory with the data file (and meta file)")
    ],
    out: Annotated[Path, typer.Option("--out", help="输出 CSV / output CSV file")],
    indicators: Annotated[
        bool, typer.Option("--indicators", help="输出各指标得分 / also write item scores")
    ] = False,
) -> None:
    """运行综合指数规则 / Run a composite-indicator rule set on a unit × indicator table.

    Writes one row per unit: its code, every aggregate's score and the rank (2 decimals).
    """
    result = run_rules(rules, data_dir)
    write_result_csv(result, out, indicators=indicators)
    _print_summary(result, out, Console(highlight=False, soft_wrap=True))

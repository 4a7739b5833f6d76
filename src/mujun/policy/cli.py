"""``mujun policy apply|export`` and ``mujun whatif``: thin wrappers printing with Rich."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from mujun.cli_common import DbOption, friendly
from mujun.errors import MujunError

console = Console()
err_console = Console(stderr=True)


policy_app = typer.Typer(
    help="差别化政策台账 / differentiated policies: the ledger of a run", no_args_is_help=True
)


def _db(db: Path | None) -> Path:
    from mujun.settings import Settings

    s = Settings()
    return db if db is not None else s.db


def _wan(v: float | None) -> str:
    return "—" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:,.2f}"


def print_totals(totals: list[dict], title: str) -> None:
    """A table of ledger totals by class and lever."""
    t = Table(title=title)
    for col in ("class", "lever", "firms", "not computed", "万元", "amount", "unit"):
        t.add_column(col, justify="right" if col not in ("class", "lever", "unit") else "left")
    for r in totals:
        t.add_row(
            r["class"],
            r["lever_name"],
            f"{r['firms']:,}",
            f"{r['not_computed']:,}",
            _wan(r["amount_wan"]),
            _wan(r["amount"]) if r["amount_wan"] is None else "",
            r["amount_unit"] if r["amount_wan"] is None else "",
        )
    console.print(t)


@policy_app.command("apply")
@friendly
def apply_command(
    run: Annotated[str, typer.Argument(help="批次号 / run id, e.g. E2023-0001")],
    policy: Annotated[
        Path, typer.Option("--policy", help="政策文件 / policy set YAML (rules/policies/)")
    ],
    out: Annotated[
        Path | None, typer.Option(help="同时导出Excel台账 / also write the ledger workbook")
    ] = None,
    db: DbOption = None,
) -> None:
    """计算并写入政策台账 / Apply a policy set to a run: write its ledger and print the totals."""
    from mujun.policy.ledger import apply_policy, ledger_totals
    from mujun.policy.spec import load_policy
    from mujun.store import open_store

    ps = load_policy(policy)
    with open_store(_db(db)) as store:
        summary = apply_policy(store, run, ps)
        totals = ledger_totals(store, [run], by="")
        if out is not None:
            export_ledger(store, run, out)
    console.print(
        f"[bold]{summary['policy']}[/] → run {run} ({summary['year']}): "
        f"{summary['rows']:,} ledger rows for {summary['firms']:,} classed firms; consecutive "
        "years from published runs: " + (", ".join(summary["previous_runs"]) or "none")
    )
    if summary["unknown_classes"]:
        console.print(
            "[yellow]note:[/] the policy names classes the run does not have: "
            + ", ".join(summary["unknown_classes"])
        )
    print_totals(totals, f"政策台账合计 ledger totals, {run}")
    if out is not None:
        console.print(f"wrote {out} / 台账已导出")


def export_ledger(store, run: str, out: Path, region: str | None = None) -> int:
    """Write the run's ledger (newest application) with totals by county and class."""
    from mujun.auth.scope import region_condition
    from mujun.policy.ledger import (
        latest_application,
        ledger_rows,
        ledger_totals,
        write_ledger_workbook,
    )

    app = latest_application(store, run)
    if app is None:
        raise MujunError(f"no policy applied to run {run}", f"run `mujun policy apply {run}` first")
    where, params = region_condition(region) if region else ("TRUE", [])
    _, rows = ledger_rows(store, run, where=where, params=params)
    totals = ledger_totals(store, [run], by="county_code", where=where, params=params)
    write_ledger_workbook(out, rows, totals, f"{app['name']} · {run} · {app['year']}")
    return len(rows)


@policy_app.command("export")
@friendly
def export_command(
    run: Annotated[str, typer.Argument(help="批次号 / run id")],
    out: Annotated[Path | None, typer.Option(help="输出文件 / output .xlsx")] = None,
    region: Annotated[str | None, typer.Option(help="区县或市代码 / county or city")] = None,
    db: DbOption = None,
) -> None:
    """导出政策台账Excel / Write a run's policy ledger and its totals as a workbook."""
    from mujun.store import open_store

    path = out or Path(f"policy-ledger-{run}.xlsx")
    with open_store(_db(db)) as store:
        n = export_ledger(store, run, path, region)
    console.print(f"wrote {n:,} ledger rows to {path} / 台账已导出")


def whatif_command(
    year: Annotated[int, typer.Option("--year", help="数据年度 / data year")],
    rules: Annotated[Path | None, typer.Option(help="基准规则 / base rule set YAML")] = None,
    rules_map: Annotated[
        Path | None, typer.Option(help="区县→规则映射 / county → rule set mapping")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="改动 KEY=VALUE, e.g. weights.tax_mu=40 (repeatable; docs/whatif.md)"
        ),
    ] = None,
    policy: Annotated[
        Path | None, typer.Option(help="政策文件 / policy set for the fiscal effect")
    ] = None,
    region: Annotated[str | None, typer.Option(help="行政区划代码 / division code")] = None,
    show: Annotated[int, typer.Option(min=0, help="显示的地区、行业行数 / rows per table")] = 15,
    db: DbOption = None,
) -> None:
    """模拟规则调整 / What-if: new classes and policy amounts under changed rules (nothing is
    written)."""
    from mujun.policy.spec import load_policy
    from mujun.reference import division_name
    from mujun.reference.industries import industry_name
    from mujun.rules import load_rules, load_rules_map
    from mujun.store import open_store
    from mujun.whatif import build_base, class_matrix, moves_by, parse_changes, simulate

    if (rules is None) == (rules_map is None):
        raise MujunError("give exactly one of --rules and --rules-map")
    changes = parse_changes(set_ or [])
    rs = load_rules(rules) if rules else None
    rmap = load_rules_map(rules_map) if rules_map else None
    ps = load_policy(policy) if policy else None
    with open_store(_db(db)) as store, console.status(f"scoring {year} under the base rules …"):
        base = build_base(store, year, rules=rs, rules_map=rmap, region=region, policy=ps)
        result = simulate(base, changes, store)
    classed = int((base.classes != "").sum())
    console.print(
        f"[bold]what-if {year}[/]: {base.firms.n:,} firms ({classed:,} classed), "
        f"changes: {', '.join(result.changes) or 'none'}; re-computed by `{result.path}` in "
        f"{result.seconds:.2f} s (base scored in {base.seconds:.2f} s); nothing written"
    )
    if result.n_moved == 0:
        console.print("no firm moves class / 没有企业的分类发生变化")
    else:
        console.print(f"[bold]{result.n_moved:,}[/] firms move class / 分类变化企业数")
        mat = class_matrix(result)
        t = Table(title="分类变化矩阵 base class (rows) → new class (columns)")
        t.add_column("base")
        for lab in mat["labels"]:
            t.add_column(lab or "未分类", justify="right")
        for lab, row in zip(mat["labels"], mat["counts"], strict=True):
            t.add_row(lab or "未分类", *[f"{v:,}" for v in row])
        console.print(t)
        for title, keys, name in (
            ("by county 按区县", base.counties, lambda k: division_name(k) or k or "—"),
            (
                "by industry division 按行业大类",
                base.firms["industry_code"].astype("U3"),
                lambda k: industry_name(k) or k or "—",
            ),
        ):
            rows = sorted(moves_by(result, keys), key=lambda r: (-r["moved"], r["key"]))
            t = Table(title=f"{title} (top {show} by firms moved)")
            for col in ("code", "name", "firms", "moved", "up", "down"):
                t.add_column(
                    col, justify="right" if col in ("firms", "moved", "up", "down") else "left"
                )
            for r in rows[:show]:
                t.add_row(
                    r["key"],
                    name(r["key"]),
                    *[f"{r[k]:,}" for k in ("firms", "moved", "up", "down")],
                )
            console.print(t)
    if result.fiscal:
        t = Table(title="财政效应 fiscal effect (万元: + paid by firms, − relieved)")
        for col in ("lever", "firms base", "firms", "base", "new", "change", "unit"):
            t.add_column(col, justify="left" if col in ("lever", "unit") else "right")
        for f in result.fiscal:
            if f["kind"] == "measure":
                t.add_row(f["name"], f"{f['firms_base']:,}", f"{f['firms']:,}", "", "", "", "")
                continue
            t.add_row(
                f["name"],
                f"{f['firms_base']:,}",
                f"{f['firms']:,}",
                _wan(f["amount_base"]),
                _wan(f["amount"]),
                f"{f['delta']:+,.2f}",
                f["unit"],
            )
        console.print(t)

"""Command line: ``mujun``. Thin: parse arguments, call the library, print with Rich.

Typed errors (:class:`mujun.errors.MujunError`) become one actionable line and exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from mujun.cli_common import DbOption, friendly
from mujun.cli_uscc import uscc_command
from mujun.errors import MujunError
from mujun.settings import Settings

app = typer.Typer(
    name="mujun",
    help="亩均论英雄 evaluation platform / Mujun: per-mu enterprise evaluation for Zhejiang.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


def _settings(db: Path | None) -> Settings:
    s = Settings()
    if db is not None:
        s.db = db
    return s


app.command("uscc")(uscc_command)


def _register_web_commands() -> None:
    from mujun.auth.audit_cli import audit_app
    from mujun.auth.cli import users_app
    from mujun.web.cli import serve_command
    from mujun.workflow.cli import runs_app

    app.add_typer(users_app, name="users", help="账户管理 / user accounts")
    from mujun.loweff.cli import loweff_app

    app.add_typer(loweff_app, name="loweff", help="低效企业认定与整治跟踪 / low-efficiency firms")
    app.add_typer(audit_app, name="audit", help="审计日志 / the audit log")
    app.add_typer(runs_app, name="runs", help="评价批次：公示与定稿 / runs: publish, finalise")
    app.command("serve")(serve_command)


_register_web_commands()


def _register_policy_commands() -> None:
    from mujun.policy.cli import policy_app, whatif_command

    app.add_typer(policy_app, name="policy", help="差别化政策台账 / policy ledger of a run")
    app.command("whatif")(friendly(whatif_command))  # type: ignore[arg-type]


_register_policy_commands()


@app.command("composite")
@friendly
def composite(
    rules: Annotated[Path, typer.Argument(help="综合指数规则YAML / composite rule set")],
    data_dir: Annotated[
        Path, typer.Argument(help="数据目录 / folder with the unit × indicator CSV")
    ],
    out: Annotated[Path, typer.Option("--out", help="输出CSV / output CSV")],
    indicators: Annotated[
        bool, typer.Option(help="同时输出各指标得分 / also write every indicator's score")
    ] = False,
) -> None:
    """运行综合指数规则 / Run a composite-indicator rule set on a unit × indicator table."""
    from mujun.composite.cli import composite_command

    composite_command(rules, data_dir, out, indicators)


@app.command("demo-data")
@friendly
def demo_data(
    out: Annotated[Path, typer.Argument(help="输出目录 / output folder")],
    enterprises: Annotated[int, typer.Option(help="企业数 / number of firms")] = 112_879,
    years: Annotated[str, typer.Option(help="年度, e.g. 2021-2023 or 2022,2023")] = "2021-2023",
    seed: Annotated[int, typer.Option(help="随机种子 / seed (same seed, same files)")] = 20231,
    format: Annotated[
        str, typer.Option("--format", help="xlsx | csv | mixed (latest year XLSX, others CSV)")
    ] = "mixed",
    defect_rate: Annotated[
        float, typer.Option(help="每类缺陷注入比例 / rate of each injected defect kind")
    ] = 0.004,
) -> None:
    """生成演示省份的部门数据文件 / Generate a synthetic province's department files."""
    from mujun.demo import demo_data_command

    demo_data_command(out, enterprises, years, seed, format, defect_rate)


@app.command("ingest")
@friendly
def ingest(
    directory: Annotated[
        Path, typer.Argument(help="部门文件所在目录 / folder of one year's files")
    ],
    year: Annotated[int, typer.Option("--year", help="数据年度 / data year of the files")],
    db: DbOption = None,
    profiles: Annotated[
        Path | None, typer.Option(help="数据源配置目录 / source profiles (rules/sources)")
    ] = None,
) -> None:
    """导入一个年度的部门文件并校验 / Ingest one year's department files, then validate."""
    from mujun.ingest import ingest_directory, load_profiles
    from mujun.store import open_store
    from mujun.validate import validate_year

    settings = _settings(db)
    profs = load_profiles(profiles or settings.rules_dir / "sources")
    files = [p for p in directory.iterdir() if p.is_file()] if directory.is_dir() else []
    with (
        open_store(settings.db, threads=settings.duckdb_threads) as store,
        Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task(f"ingest {year}", total=2 * len(files) + 1)

        def step(msg: str) -> None:
            progress.update(task, advance=1, description=msg)

        report = ingest_directory(store, directory, year, profs, progress=step)
        progress.update(task, description=f"validating {year}")
        summary = validate_year(store, year, profs)
        progress.update(task, completed=2 * len(files) + 1)
    table = Table(title=f"导入 ingest {year} → {settings.db}")
    for col in ("file", "source", "status", "read", "stored", "quarantined", "skipped", "issues"):
        table.add_column(
            col, justify="right" if col not in ("file", "source", "status") else "left"
        )
    for f in report.files:
        table.add_row(
            Path(f.path).name,
            f.source or "-",
            f.status,
            str(f.rows_read),
            str(f.rows_stored),
            str(f.rows_quarantined),
            str(f.rows_skipped),
            str(f.issues) if f.issues else f.message,
        )
    console.print(table)
    console.print(
        f"{summary.errors} errors in {year}; run [bold]mujun validate --year {year}[/] for the "
        "report / 运行 mujun validate 查看问题清单"
    )


@app.command("validate")
@friendly
def validate(
    year: Annotated[int | None, typer.Option(help="数据年度 / year (default: latest)")] = None,
    db: DbOption = None,
    out: Annotated[
        Path | None, typer.Option(help="问题清单Excel / issues workbook (default issues-YEAR.xlsx)")
    ] = None,
    show: Annotated[int, typer.Option(min=0, help="显示前N条问题 / problem rows to print")] = 20,
    profiles: Annotated[Path | None, typer.Option(help="数据源配置目录 / source profiles")] = None,
) -> None:
    """校验并输出问题清单 / Validate a year: counts, first problems, Excel report; exit 1 on errors."""
    from mujun.exports import write_validation_workbook
    from mujun.ingest import load_profiles
    from mujun.store import open_store
    from mujun.validate import validate_year

    settings = _settings(db)
    profs = load_profiles(profiles or settings.rules_dir / "sources")
    if not settings.db.exists():
        raise MujunError(f"store {settings.db} does not exist", "run `mujun ingest` first")
    with open_store(settings.db, threads=settings.duckdb_threads) as store:
        years = [r[0] for r in store.rows("SELECT DISTINCT year FROM files ORDER BY year")]
        if not years:
            raise MujunError(f"store {settings.db} holds no files", "run `mujun ingest` first")
        y = year if year is not None else years[-1]
        if y not in years:
            raise MujunError(f"no files for {y} in {settings.db}", f"years present: {years}")
        report = validate_year(store, y, profs)
        _print_report(store, report, show)
        path = out or Path(f"issues-{y}.xlsx")
        n = write_validation_workbook(store, y, path)
    console.print(f"wrote {n} issues to {path} / 问题清单已写入")
    if report.errors:
        raise typer.Exit(1)


def _print_report(store, report, show: int) -> None:
    counts = Table(title=f"问题统计 issues by department and code, {report.year}")
    for col in ("source", "code", "severity", "count"):
        counts.add_column(col, justify="right" if col == "count" else "left")
    for source, code, severity, n in report.counts:
        style = {"error": "red", "warning": "yellow"}.get(severity, "")
        counts.add_row(source, code, f"[{style}]{severity}[/]" if style else severity, f"{n:,}")
    console.print(counts)
    match = Table(title="匹配报告 match report")
    for col in (
        "source",
        "file",
        "rows",
        "firms",
        "matched",
        "unmatched",
        "dup rows",
        "dup keys",
        "missing",
        "quarantined",
    ):
        match.add_column(col, justify="left" if col in ("source", "file") else "right")
    for row in report.match:
        match.add_row(*[f"{v:,}" if isinstance(v, int) else str(v) for v in row])
    console.print(match)
    rows = store.rows(
        "SELECT source, code, file, row_no, column_name, value, message FROM issues "
        "WHERE year = ? AND severity = 'error' AND (stage = 'validate' OR file_id IN "
        "(SELECT file_id FROM files WHERE status IN ('current', 'rejected'))) "
        "ORDER BY source, file, row_no NULLS LAST LIMIT ?",
        [report.year, show],
    )
    if rows:
        first = Table(title=f"前{len(rows)}条错误 first error rows")
        for col in ("source", "code", "file", "row", "column", "value", "message"):
            first.add_column(col, overflow="fold")
        for r in rows:
            first.add_row(*["" if v is None else str(v) for v in r])
        console.print(first)


@app.command("evaluate")
@friendly
def evaluate_cmd(
    year: Annotated[int, typer.Option("--year", help="数据年度 / data year")],
    rules: Annotated[Path | None, typer.Option(help="规则文件 / rule set YAML")] = None,
    rules_map: Annotated[
        Path | None, typer.Option(help="区县→规则映射 / county → rule set mapping YAML")
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="行政区划代码 / division code (county, city or 330000)")
    ] = None,
    db: DbOption = None,
) -> None:
    """评价并分类，生成草稿批次 / Score and classify a year into a new draft run."""
    from mujun.evaluation import evaluate
    from mujun.rules import load_rules, load_rules_map
    from mujun.store import open_store

    settings = _settings(db)
    if (rules is None) == (rules_map is None):
        raise MujunError(
            "give exactly one of --rules and --rules-map",
            "e.g. --rules rules/zhejiang-default.yaml",
        )
    rs = load_rules(rules) if rules else None
    rmap = load_rules_map(rules_map) if rules_map else None
    with (
        open_store(settings.db, threads=settings.duckdb_threads) as store,
        console.status(f"evaluating {year} …"),
    ):
        summary = evaluate(
            store,
            year,
            rules=rs,
            rules_map=rmap,
            region=region,
            params={"rules": str(rules or rules_map)},
        )
    _print_run_summary(summary)


def _print_run_summary(s) -> None:
    console.print(
        f"[bold]批次 run {s.run_id}[/] (draft) — {s.year}, {s.firms:,} firms: "
        + ", ".join(f"{k} {v:,}" for k, v in s.by_status.items())
    )
    from mujun.reference import division_name

    counts: dict[tuple, dict[str, int]] = {}
    classes: list[str] = []
    for city, county, size, klass, n in s.by_class:
        counts.setdefault((city, county, size), {})[klass] = n
        if klass not in classes:
            classes.append(klass)
    classes.sort()
    table = Table(title="分类统计 classes by city and county")
    for col in ("city", "county", "size", *classes, "total"):
        table.add_column(col, justify="right" if col in classes or col == "total" else "left")
    last_city = None
    for (city, county, size), by in sorted(counts.items()):
        cname = (division_name(city) or city) if city != last_city else ""
        last_city = city
        table.add_row(
            cname,
            f"{division_name(county) or county}",
            "规上" if size == "above" else "规下",
            *[f"{by.get(k, 0):,}" for k in classes],
            f"{sum(by.values()):,}",
        )
    console.print(table)
    for title, rows in (("最高 top", s.top), ("最低 bottom", s.bottom)):
        t = Table(title=f"{title} 5")
        for col in ("uscc", "name", "county", "size", "total", "class", "rank"):
            t.add_column(col)
        for uscc, name, county, size, total, klass, rank, n in rows:
            t.add_row(
                uscc,
                name,
                division_name(county) or county,
                size,
                f"{total:.2f}",
                klass,
                f"{rank}/{n}",
            )
        console.print(t)


@app.command("results")
@friendly
def results_cmd(
    run: Annotated[str, typer.Argument(help="批次号 / run id, e.g. E2023-0001")],
    format: Annotated[str, typer.Option("--format", help="csv | xlsx | parquet")] = "csv",
    out: Annotated[Path | None, typer.Option(help="输出文件 / output file")] = None,
    db: DbOption = None,
) -> None:
    """导出评价结果 / Export a run's results (one row per firm, every indicator and score)."""
    from mujun.evaluation.exports import export_results
    from mujun.store import open_store

    settings = _settings(db)
    path = out or Path(f"results-{run}.{format}")
    with open_store(settings.db, threads=settings.duckdb_threads) as store:
        n = export_results(store, run, format, path)
    console.print(f"wrote {n:,} firms to {path} / 结果已导出")


@app.command("diff")
@friendly
def diff_cmd(
    run_a: Annotated[str, typer.Argument(help="批次A / first run")],
    run_b: Annotated[str, typer.Argument(help="批次B / second run")],
    show: Annotated[int, typer.Option(min=0, help="显示条数 / rows to print")] = 50,
    db: DbOption = None,
) -> None:
    """比较两个批次的分类变化 / List firms whose class changed between two runs, and why."""
    from mujun.evaluation.exports import diff_runs
    from mujun.store import open_store

    settings = _settings(db)
    with open_store(settings.db, threads=settings.duckdb_threads) as store:
        rows = diff_runs(store, run_a, run_b)
    console.print(f"{len(rows):,} firms changed class from {run_a} to {run_b} / 分类变化企业数")
    t = Table()
    for col in ("uscc", "name", run_a, run_b, "total A", "total B", "reasons (B)"):
        t.add_column(col, overflow="fold")
    for uscc, name, ka, kb, ta, tb, why in rows[:show]:
        t.add_row(
            uscc,
            name or "",
            ka,
            kb,
            "" if ta is None else f"{ta:.2f}",
            "" if tb is None else f"{tb:.2f}",
            why or "",
        )
    console.print(t)


@app.command("publish")
@friendly
def publish_cmd(
    run: Annotated[str, typer.Argument(help="批次号 / run id")],
    region: Annotated[str, typer.Option(help="区县、市或省代码 / county, city or 330000")],
    out: Annotated[Path, typer.Option(help="输出目录 / output folder")] = Path("."),
    db: DbOption = None,
) -> None:
    """生成公示名单（内部版与公示版）/ Write the published class lists, internal and public."""
    from mujun.reports.cli import publish_command

    publish_command(run, region, out, _settings(db).db)


@app.command("sheet")
@friendly
def sheet_cmd(
    run: Annotated[str, typer.Argument(help="批次号 / run id")],
    out: Annotated[Path, typer.Option(help="输出文件或目录 / output file or folder")] = Path("."),
    uscc: Annotated[str | None, typer.Option(help="统一社会信用代码 / one firm")] = None,
    region: Annotated[str | None, typer.Option(help="区县代码 / a county batch")] = None,
    db: DbOption = None,
) -> None:
    """生成一企一单 / Write the one-firm sheet for a firm or a county batch."""
    from mujun.reports.cli import sheet_command

    sheet_command(run, out, uscc, region, _settings(db).db)


@app.command("robustness")
@friendly
def robustness_cmd(
    run: Annotated[str, typer.Argument(help="批次号 / run id, e.g. E2023-0001")],
    draws: Annotated[int, typer.Option(min=1, help="蒙特卡洛次数 / Monte Carlo draws")] = 1000,
    spread: Annotated[
        float, typer.Option(help="权重扰动幅度 / each weight × U(1 − s, 1 + s), then re-normalised")
    ] = 0.2,
    benchmarks: Annotated[
        str,
        typer.Option(
            help="基准值口径 / benchmark strategies drawn from: run, cohort-ratio-of-totals, "
            "cohort-mean, cohort-median (comma-separated)"
        ),
    ] = "run",
    methods: Annotated[
        str,
        typer.Option(
            help="标准化方法 / normalisation methods drawn from: run, ratio-to-benchmark, minmax, "
            "percentile-rank (comma-separated)"
        ),
    ] = "run",
    threshold: Annotated[
        float, typer.Option(help="脆弱阈值 / fragile when P(published class) is below this")
    ] = 0.8,
    seed: Annotated[int, typer.Option(help="随机种子 / seed")] = 20231,
    sobol_n: Annotated[
        int, typer.Option(help="Sobol 基样本数（2的幂，0=不做）/ Saltelli base samples N")
    ] = 128,
    paths: Annotated[
        bool, typer.Option(help="同时计算升级路径 / also compute paths to the next class")
    ] = True,
    db: DbOption = None,
) -> None:
    """分类稳健性与升级路径 / Robustness of a run's classes and paths to the next class."""
    from mujun.robustness.cli import robustness_command

    settings = _settings(db)
    robustness_command(
        console, settings.db, settings.duckdb_threads, run, draws=draws, spread=spread,
        benchmarks=benchmarks, methods=methods, threshold=threshold, seed=seed,
        sobol_n=sobol_n, paths=paths,
    )  # fmt: skip


def main() -> None:
    """Entry point for ``python -m mujun``."""
    app(prog_name="mujun")


if __name__ == "__main__":
    sys.exit(main())

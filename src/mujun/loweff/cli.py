"""``mujun loweff …``: identify a year's low-efficiency firms, list and export the list, change a
case's status, show a case and summarise. Writes are audited with the operating-system user as
actor; while ``mujun serve`` holds the store, a write says so and stops."""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from mujun.auth.audit import Actor
from mujun.auth.clock import utcnow
from mujun.auth.roles import PROVINCE_CODE
from mujun.auth.scope import region_condition
from mujun.cli_common import DbOption, friendly
from mujun.errors import MujunError
from mujun.settings import Settings

loweff_app = typer.Typer(
    help="低效企业认定与整治跟踪 / Low-efficiency firms: identify, list, export, status.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(highlight=False, soft_wrap=True)

RegionOption = Annotated[
    str | None, typer.Option("--region", help="地区代码 / division code (default: all)")
]


def _db(db: Path | None) -> Path:
    return db if db is not None else Settings().db


def _actor() -> Actor:
    return Actor(f"cli:{getpass.getuser()}", "cli")


def _all_lists(store) -> list[int]:
    from mujun.loweff.cases import visible_list_ids

    return visible_list_ids(store, lambda status, region: True)


def _region_cond(region: str | None) -> tuple[str, list]:
    if region and not (len(region) == 6 and region.isdigit()):
        raise MujunError(f"地区代码 {region!r} 应为6位数字 / --region takes a 6-digit code")
    return region_condition(region or PROVINCE_CODE, "e")


@loweff_app.command("identify")
@friendly
def identify_command(
    year: Annotated[int, typer.Option("--year", help="数据年度 / data year")],
    rules: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            help="低效认定规则 / rule set (default rules/low-efficiency/tax-under-1.yaml)",
        ),
    ] = None,
    run: Annotated[
        str | None,
        typer.Option(
            "--run",
            help="评价批次 / run (default: the year's newest final, "
            "else published, else draft run)",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """按规则认定一个年度的低效企业名单 / Screen a year's run into the low-efficiency list."""
    from mujun.loweff.identify import identify
    from mujun.loweff.rules import load_loweff_rules
    from mujun.store import open_store

    path = rules or Settings().rules_dir / "low-efficiency" / "tax-under-1.yaml"
    rule_set = load_loweff_rules(path)
    with open_store(_db(db)) as store:
        rep = identify(
            store, year, rule_set, actor=_actor(), now=utcnow(), run_id=run, origin=str(path)
        )
    console.print(
        f"名单 {rep.list_id}：{rep.year} 年度，批次 {rep.run_id}，地区 {rep.region}，规则「{rep.rules_name}」"
    )
    console.print(
        f"list {rep.list_id}: screened {rep.screened}, listed {rep.listed} "
        f"(new cases {rep.new_cases}, continuing {rep.continuing}), left the list {rep.left_list}"
        + (f", replaced {rep.replaced} earlier entries of {rep.year}" if rep.replaced else "")
    )
    table = Table("规则 rule", "命中 hits")
    for code, n in rep.by_rule.items():
        table.add_row(code, str(n))
    console.print(table)


@loweff_app.command("list")
@friendly
def list_command(
    year: Annotated[int, typer.Option("--year", help="年度 / year")],
    region: RegionOption = None,
    status: Annotated[
        str | None,
        typer.Option(
            help="案件状态 / status: identified, plan_agreed, upgraded, "
            "upgraded_by_data, merged, exited"
        ),
    ] = None,
    left: Annotated[
        bool, typer.Option("--left", help="列出已出列（数据达标）的企业 / firms that left the list")
    ] = False,
    show: Annotated[int, typer.Option(help="最多显示行数 / rows to show")] = 50,
    db: DbOption = None,
) -> None:
    """列出一个年度的低效企业名单 / Print a year's list."""
    from mujun.loweff.cases import STATUS_LABELS, EntryQuery, list_entries, status_label
    from mujun.store import open_store

    if status and status not in STATUS_LABELS:
        raise MujunError(f"未知状态 {status!r} / unknown status; one of {', '.join(STATUS_LABELS)}")
    cond, params = _region_cond(region)
    with open_store(_db(db), read_only=True) as store:
        query = EntryQuery(year=year, status=status, listed=not left, page_size=max(1, show))
        total, rows = list_entries(store, query, cond, params, _all_lists(store))
    table = Table("案件", "信用代码", "企业名称", "区县", "亩", "亩均税收", "认定依据", "状态")
    for r in rows:
        tax = r["figures"].get("tax_mu")
        table.add_row(
            str(r["case_id"]),
            r["uscc"],
            r["name"] or "",
            r["county_name"] or "",
            f"{r['land_mu']:.2f}" if r["land_mu"] is not None else "",
            f"{tax:.2f}" if tax is not None else "",
            r["hit_names"] or "",
            status_label(r["effective_status"]),
        )
    console.print(table)
    console.print(f"{year} 年度 {'出列' if left else '在列'} {total} 家 / {total} firms")


@loweff_app.command("export")
@friendly
def export_command(
    year: Annotated[int, typer.Option("--year", help="年度 / year")],
    out: Annotated[Path, typer.Option("--out", help="输出 XLSX / output workbook")],
    region: RegionOption = None,
    lang: Annotated[str, typer.Option(help="zh | en")] = "zh",
    db: DbOption = None,
) -> None:
    """导出一个年度的低效企业名单（Excel）/ Export a year's list, listed and left, as XLSX."""
    from mujun.loweff.cases import EntryQuery, list_entries
    from mujun.loweff.export import list_workbook
    from mujun.store import open_store

    cond, params = _region_cond(region)
    with open_store(_db(db), read_only=True) as store:
        total, rows = list_entries(
            store,
            EntryQuery(year=year, listed=None),
            cond,
            params,
            _all_lists(store),
            everything=True,
        )
    out.write_bytes(
        list_workbook(f"低效企业{year}" if lang != "en" else f"low-eff {year}", rows, lang)
    )
    console.print(f"已写出 {total} 行 / wrote {total} rows to {out}")


@loweff_app.command("status")
@friendly
def status_command(
    case_id: Annotated[int, typer.Argument(help="案件编号 / case number")],
    to: Annotated[str, typer.Option("--to", help="plan_agreed | upgraded | merged | exited")],
    note: Annotated[str, typer.Option("--note", help="说明 / note (方案名称、文号等)")],
    on: Annotated[
        str | None, typer.Option("--date", help="日期 YYYY-MM-DD / date (default today)")
    ] = None,
    land_freed: Annotated[
        float | None, typer.Option("--land-freed", help="腾出土地（亩）/ land freed, mu")
    ] = None,
    db: DbOption = None,
) -> None:
    """变更案件状态 / Move a case to its next status (audited)."""
    from mujun.loweff.cases import Transition, change_status, status_label
    from mujun.store import open_store
    from mujun.workflow.runs import local_today

    now = utcnow()
    try:
        day = date.fromisoformat(on) if on else local_today(now)
    except ValueError:
        raise MujunError(f"日期 {on!r} 应为 YYYY-MM-DD / --date takes YYYY-MM-DD") from None
    with open_store(_db(db)) as store:
        case = change_status(
            store,
            case_id,
            Transition(to=to, on=day, note=note, land_freed_mu=land_freed),
            actor=_actor(),
            now=now,
        )
    console.print(
        f"案件 {case_id}（{case['name']}）→ {status_label(case['status'])} / case {case_id} is "
        f"now {case['status']}"
    )


@loweff_app.command("show")
@friendly
def show_command(
    case_id: Annotated[int, typer.Argument(help="案件编号 / case number")], db: DbOption = None
) -> None:
    """显示一个案件的历年认定和状态变更 / Show a case across years and its status changes."""
    from mujun.loweff.cases import get_case, status_label
    from mujun.store import open_store

    with open_store(_db(db), read_only=True) as store:
        case = get_case(store, case_id)
    console.print(
        f"案件 {case_id}：{case['name']}（{case['uscc']}，{case['county_name']}）"
        f"状态 {status_label(case['effective_status'])}"
        + (f"，腾出土地 {case['land_freed_mu']:g} 亩" if case["land_freed_mu"] is not None else "")
    )
    years = Table("年度", "在列", "亩", "亩均税收", "认定依据", "批次")
    for e in case["entries"]:
        tax = e["figures"].get("tax_mu")
        years.add_row(
            str(e["year"]),
            "在列" if e["listed"] else "出列",
            f"{e['land_mu']:.2f}" if e["land_mu"] is not None else "",
            f"{tax:.2f}" if tax is not None else "",
            e["hit_names"],
            e["run_id"],
        )
    console.print(years)
    events = Table("日期", "从", "到", "说明", "腾出土地", "操作人")
    for v in case["events"]:
        events.add_row(
            v["event_date"].isoformat(),
            status_label(v["from_status"]),
            status_label(v["to_status"]),
            v["note"],
            f"{v['land_freed_mu']:g}" if v["land_freed_mu"] is not None else "",
            v["actor"],
        )
    console.print(events)


@loweff_app.command("summary")
@friendly
def summary_command(
    year: Annotated[int | None, typer.Option("--year", help="年度 / year (default all)")] = None,
    region: RegionOption = None,
    db: DbOption = None,
) -> None:
    """各年度、各地区案件状态与腾出土地 / Cases by status and land freed per year and area."""
    from mujun.loweff.cases import STATUSES, status_label, summarise
    from mujun.store import open_store

    cond, params = _region_cond(region)
    with open_store(_db(db), read_only=True) as store:
        rows = summarise(store, cond, params, _all_lists(store), region, year)
    table = Table(
        "年度", "地区", "在列", "新认定", *(status_label(s) for s in STATUSES), "腾出土地（亩）"
    )
    for r in rows:
        table.add_row(
            str(r["year"]),
            r["area_name"] or r["area"] or "合计",
            str(r["cases"]),
            str(r["new_cases"]),
            *(str(r[s]) for s in STATUSES),
            f"{r['land_freed_mu']:.2f}",
        )
    console.print(table)

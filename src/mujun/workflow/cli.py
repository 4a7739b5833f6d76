"""``mujun runs …``: the runs' workflow at the server's console, through the same library
functions as the web pages and the API (:mod:`mujun.workflow.publication`), audited with the
operating-system user as actor.

Like every write command it opens the store read-write, so while ``mujun serve`` holds the file it
says so and stops (design.md, "One writer"): publish through the web then.
"""

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
from mujun.cli_common import DbOption, friendly
from mujun.errors import InputError
from mujun.reference.divisions import division_name
from mujun.settings import Settings
from mujun.store import Store, open_store
from mujun.workflow.publication import (
    DEFAULT_WINDOW_DAYS,
    BasisDocument,
    PublicationSpec,
    finalise_due_runs,
    finalise_run,
    latest_publication,
    publish_run,
)
from mujun.workflow.runs import STATUS_ZH, UNPUBLISHED, get_run, local_today
from mujun.workflow.settings import WorkflowSettings

runs_app = typer.Typer(
    help="评价批次：列表、公示、定稿 / Runs: list, publish with an objection window, finalise.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(highlight=False, soft_wrap=True)


def _db(db: Path | None) -> Path:
    return db if db is not None else Settings().db


def _actor() -> Actor:
    return Actor(f"cli:{getpass.getuser()}", "cli")


def parse_basis(text: str) -> BasisDocument:
    """``标题|文号`` as a basis document (invalid input says how to write it)."""
    title, sep, doc_no = text.rpartition("|")
    if not sep or not title.strip() or not doc_no.strip():
        raise InputError(
            f"--basis {text!r} 应写作 文件名称|文号 / write --basis as TITLE|DOCUMENT-NUMBER",
            '--basis "关于深化亩均论英雄改革的指导意见|浙政发〔2018〕5号"',
        )
    return BasisDocument(title.strip(), doc_no.strip())


def newest_draft(store: Store, year: int, region: str | None) -> str:
    """The newest unpublished run of ``year`` for ``region`` (the province when None)."""
    wanted = region or PROVINCE_CODE
    for (run_id,) in store.rows(
        "SELECT run_id FROM runs WHERE kind = 'evaluation' AND year = ? "
        "ORDER BY created_at DESC, run_id DESC",
        [year],
    ):
        run = get_run(store, run_id)
        if run.status in UNPUBLISHED and run.region == wanted:
            return run_id
    raise InputError(
        f"{year} 年度没有 {wanted} 的草稿批次 / no draft run of {year} for {wanted}",
        "run `mujun evaluate` first, or pass the run id",
    )


@runs_app.command("list")
@friendly
def list_runs(
    year: Annotated[int | None, typer.Option(help="年度 / year")] = None,
    db: DbOption = None,
) -> None:
    """列出评价批次及其状态 / List evaluation runs with their status and notice."""
    with open_store(_db(db), read_only=True) as store:
        today = local_today(utcnow())
        cond, params = ("AND year = ?", [year]) if year else ("", [])
        rows = store.rows(
            f"SELECT run_id FROM runs WHERE kind = 'evaluation' {cond} "
            "ORDER BY year DESC, created_at DESC, run_id DESC",
            params,
        )
        table = Table("run", "year", "region", "status", "notice window", "state")
        for (run_id,) in rows:
            run = get_run(store, run_id)
            pub = latest_publication(store, run_id, today)
            table.add_row(
                run_id,
                str(run.year),
                f"{run.region} {division_name(run.region) or ''}".strip(),
                f"{run.status} {STATUS_ZH.get(run.status, '')}",
                f"{pub['window_start']} – {pub['window_end']}" if pub else "",
                pub["state"] if pub else "",
            )
    console.print(table)


@runs_app.command("publish")
@friendly
def publish(
    run: Annotated[str | None, typer.Argument(help="批次号（不填则取该年度最新草稿）")] = None,
    year: Annotated[int | None, typer.Option(help="年度：公示其最新草稿 / year")] = None,
    region: Annotated[
        str | None, typer.Option(help="与 --year 同用：地区代码 / region of the draft")
    ] = None,
    basis: Annotated[
        list[str] | None,
        typer.Option(help="公示依据 文件名称|文号（可多次）/ basis document TITLE|NUMBER"),
    ] = None,
    contact: Annotated[str, typer.Option(help="联系电话 / contact phone")] = "",
    start: Annotated[
        str | None, typer.Option(help="公示开始日期 YYYY-MM-DD（默认今天）/ window start")
    ] = None,
    end: Annotated[str | None, typer.Option(help="公示结束日期 / window end")] = None,
    days: Annotated[
        int, typer.Option(help="公示天数（含首日）/ window days")
    ] = DEFAULT_WINDOW_DAYS,
    title: Annotated[str | None, typer.Option(help="公示标题 / notice title")] = None,
    procedure: Annotated[str | None, typer.Option(help="异议方式 / how to object")] = None,
    historical: Annotated[
        bool,
        typer.Option(
            "--historical",
            help="补录已经进行过的公示（日期可早于今天）/ record a past publication",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """公示评价批次 / Publish a run: notice, objection window, public annexes (as the web does)."""
    if (run is None) == (year is None):
        raise InputError("请给出批次号或 --year / pass a run id or --year (not both)")
    documents = [parse_basis(b) for b in basis or []]
    if not documents:
        raise InputError("请用 --basis 列出公示依据 / list the basis documents with --basis")
    spec = PublicationSpec(
        basis=documents,
        contact_phone=contact.strip(),
        window_start=_date(start, "--start"),
        window_end=_date(end, "--end"),
        window_days=days,
        title=title,
        procedure=procedure,
        historical=historical,
    )
    path = _db(db)
    annex_root = WorkflowSettings().folders_for(path).publish_dir
    assert annex_root is not None
    with open_store(path) as store:
        run_id = run or newest_draft(store, year or 0, region)
        pub = publish_run(store, run_id, spec, actor=_actor(), now=utcnow(), annex_root=annex_root)
    counts = "，".join(f"{c['name']} {c['firms']}" for c in pub["counts"]["by_class"])
    console.print(f"published {run_id}: {pub['title']}")
    console.print(f"window {pub['window_start']} – {pub['window_end']}; {counts}")
    console.print(f"annexes in {Path(annex_root) / run_id}")


@runs_app.command("finalise")
@friendly
def finalise(
    run: Annotated[str, typer.Argument(help="批次号 / run id")],
    db: DbOption = None,
) -> None:
    """公示期满后定稿 / Make a published run final once its window is over."""
    with open_store(_db(db)) as store:
        finalise_run(store, run, actor=_actor(), now=utcnow())
    console.print(f"{run} is final")


@runs_app.command("settle")
@friendly
def settle(db: DbOption = None) -> None:
    """定稿所有公示期满且异议已处理的批次 / Finalise every run whose window is over."""
    with open_store(_db(db)) as store:
        done = finalise_due_runs(store, now=utcnow(), actor=_actor())
    console.print(f"final now: {', '.join(done)}" if done else "no run is due")


def _date(text: str | None, option: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} {text!r} 不是日期 / not a date", "write YYYY-MM-DD") from None

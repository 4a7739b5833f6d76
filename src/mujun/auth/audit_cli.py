"""``mujun audit …``: export the audit log, verify its hash chain, archive old entries."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from mujun.auth.audit import audit_head, record, verify_audit_chain
from mujun.auth.audit_archive import archive_audit, export_audit, verify_archives
from mujun.auth.cli import _actor, _db, console
from mujun.auth.clock import utcnow
from mujun.auth.settings import AuthSettings
from mujun.cli_common import DbOption, err_console, friendly, settings_problem
from mujun.errors import MujunError
from mujun.store import open_store

audit_app = typer.Typer(
    help="审计日志：导出、校验哈希链、归档超过保存期限的记录 / Export, verify and archive the audit log.",
    no_args_is_help=True,
    add_completion=False,
)


def _day(text: str | None, option: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time())
    except ValueError:
        raise MujunError(
            f"{option} 应为日期 YYYY-MM-DD，得到 {text!r} / {option} takes a date"
        ) from None


def retention_days() -> int:
    """``MUJUN_AUDIT_RETENTION_DAYS``; a value under 180 stops with one clear line."""
    try:
        return AuthSettings().audit_retention_days
    except ValidationError as exc:
        raise MujunError(settings_problem(exc)) from None


def default_archive_dir(db: Path) -> Path:
    """Where archives go by default: next to the store."""
    return db.parent / f"{db.stem}-files" / "audit-archive"


@audit_app.command("export")
@friendly
def export_cmd(
    out: Annotated[Path, typer.Option("--out", help="导出文件 .xlsx 或 .csv / output file")],
    since: Annotated[str | None, typer.Option(help="起始日期（UTC，含）/ from date")] = None,
    until: Annotated[
        str | None, typer.Option(help="截止日期（UTC，含）/ to date, inclusive")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="操作者 / actor")] = None,
    action: Annotated[str | None, typer.Option(help="操作前缀，如 login / action prefix")] = None,
    db: DbOption = None,
) -> None:
    """导出审计日志（Excel 或 CSV，所有值按文本写出）/ Export audit entries (every value as text)."""
    start, end = _day(since, "--since"), _day(until, "--until")
    with open_store(_db(db)) as store:
        n = export_audit(
            store,
            out,
            actor=actor,
            action=action,
            since=start,
            until=end + timedelta(days=1) if end else None,
        )
        record(store, _actor(), utcnow(), "audit.export", f"file:{out.name}", f"ok: {n}")
    console.print(f"已导出 {n} 条审计记录到 {out} / exported {n} entries")


@audit_app.command("verify")
@friendly
def verify_cmd(
    expect_head: Annotated[
        str | None,
        typer.Option(help="此前记录的末条 SEQ:HASH，检测末尾被截断或整体重写 / recorded head"),
    ] = None,
    archives: Annotated[
        Path | None, typer.Option(help="归档文件目录，一并校验 / also check the archive files")
    ] = None,
    db: DbOption = None,
) -> None:
    """校验审计日志哈希链（含归档锚点）；有问题时退出码 1 / Verify the hash chain; exit 1 on problems."""
    head = None
    if expect_head:
        seq, _, digest = expect_head.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise MujunError("--expect-head 应为 SEQ:HASH（64 位十六进制）/ takes SEQ:HASH")
        head = (int(seq), digest)
    with open_store(_db(db), read_only=True) as store:
        problems = verify_audit_chain(store, head)
        if archives is not None:
            problems += verify_archives(store, archives)
        now_head = audit_head(store)
    for p in problems:
        err_console.print(f"[bold red]problem:[/] {p}")
    if now_head:
        console.print(f"末条 head: {now_head[0]}:{now_head[1]}")
    if problems:
        console.print(f"发现 {len(problems)} 个问题 / {len(problems)} problems")
        raise typer.Exit(1)
    console.print("哈希链完整 / the chain verifies")


@audit_app.command("archive")
@friendly
def archive_cmd(
    out_dir: Annotated[
        Path | None,
        typer.Option("--dir", help="归档目录（默认库文件旁 <库名>-files/audit-archive）/ folder"),
    ] = None,
    db: DbOption = None,
) -> None:
    """把超过保存期限（MUJUN_AUDIT_RETENTION_DAYS，至少 180 天）的最早记录归档到文件并记录锚点 /
    Archive entries older than the retention to a file, anchored so the chain still verifies."""
    days = retention_days()
    path = _db(db)
    folder = out_dir or default_archive_dir(path)
    with open_store(path) as store:
        anchor = archive_audit(store, folder, now=utcnow(), retention_days=days, actor=_actor())
    if anchor is None:
        console.print(f"没有早于 {days} 天的记录，未归档 / nothing older than {days} days")
        return
    console.print(
        f"已归档第 {anchor['first_seq']}–{anchor['last_seq']} 条（{anchor['entries']} 条）到 "
        f"{folder / anchor['file_name']}，SHA-256 {anchor['file_sha256']} / archived"
    )

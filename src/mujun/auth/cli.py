"""``mujun users …``: account management at the server's console (Typer sub-app ``users_app``).

The lead registers it with ``app.add_typer(users_app, name="users")``. Each command opens the
store read-write, so while ``mujun serve`` holds it the command says so and stops; every change
is audited with the operating-system user as actor.
"""

from __future__ import annotations

import csv
import getpass
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from mujun.auth.audit import Actor
from mujun.auth.clock import utcnow
from mujun.auth.phones import mask_phone
from mujun.auth.roles import ROLE_NAMES, parse_role
from mujun.auth.settings import AuthSettings
from mujun.auth.users import (
    create_user,
    import_enterprise_users,
    list_users,
    reset_password,
    set_disabled,
    set_phone,
    unlock_user,
)
from mujun.cli_common import DbOption, friendly
from mujun.errors import MujunError
from mujun.settings import Settings
from mujun.store import open_store

users_app = typer.Typer(
    help="用户管理（新增、批量导入企业、重置口令、列表、停用）/ Manage accounts.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(highlight=False, soft_wrap=True)


def _db(db: Path | None) -> Path:
    return db if db is not None else Settings().db


def _actor() -> Actor:
    return Actor(f"cli:{getpass.getuser()}", "cli")


@users_app.command("add")
@friendly
def add_user(
    username: Annotated[str, typer.Argument(help="用户名 / username")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="角色 / role: province_admin, city_analyst, county_analyst, "
            "department_uploader, enterprise, system_admin, security_admin, audit_admin",
        ),
    ],
    scope: Annotated[
        str | None, typer.Option(help="分析员的地区代码 / division code for an analyst")
    ] = None,
    department: Annotated[
        str | None, typer.Option(help="报送员的数据源，如 tax / uploader's source key")
    ] = None,
    uscc: Annotated[
        str | None, typer.Option(help="企业用户的统一社会信用代码 / enterprise's credit code")
    ] = None,
    display_name: Annotated[str | None, typer.Option(help="显示名称 / display name")] = None,
    phone: Annotated[
        str | None,
        typer.Option(
            help="指定联系人手机（企业据此短信登录）/ designated mobile number (enterprises then "
            "log in by SMS code)"
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """新增用户并打印初始口令（首次登录须修改）/ Add an account; prints its initial password."""
    try:
        parsed = parse_role(role)
    except ValueError as exc:
        raise MujunError(str(exc)) from None
    with open_store(_db(db)) as store:
        user, password = create_user(
            store,
            username=username,
            role=parsed,
            now=utcnow(),
            actor=_actor(),
            settings=AuthSettings(),
            scope=scope,
            department=department,
            uscc=uscc,
            display_name=display_name,
            phone=phone,
        )
    if user.logs_in_by_sms:
        console.print(
            f"已新增 {user.username}（{ROLE_NAMES[user.role]}），短信验证码登录，手机 "
            f"{mask_phone(user.phone)} / added; logs in by SMS code"
        )
        return
    console.print(f"已新增 {user.username}（{ROLE_NAMES[user.role]}）/ added {user.role.value}")
    console.print(f"初始口令 / initial password: {password}")
    console.print("首次登录须修改口令 / it must be changed at first login")


@users_app.command("import")
@friendly
def import_users(
    year: Annotated[int, typer.Option("--year", help="企业名录年度 / register year")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="初始口令表（.xlsx 或 .csv，默认 enterprise-passwords-YEAR.xlsx）/ "
            "where to write the initial passwords",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """按企业名录批量创建企业账号（用户名为信用代码，首次登录须改口令；可重复执行）/
    Create enterprise accounts from the register; running it again adds only new firms."""
    out = out or Path(f"enterprise-passwords-{year}.xlsx")
    with open_store(_db(db)) as store:
        report = import_enterprise_users(store, year, now=utcnow(), actor=_actor())
    if report.passwords:
        write_password_sheet(report.passwords, out)
    console.print(
        f"新建 {report.created} 个企业账号，已有 {report.existing} 个，跳过无效信用代码 "
        f"{report.invalid} 个 / created {report.created}, existing {report.existing}, "
        f"invalid codes skipped {report.invalid}"
    )
    if report.phones_set or report.bad_phones:
        console.print(
            f"按名录登记指定联系人手机 {report.phones_set} 个（这些企业用短信验证码登录），无效手机号 "
            f"{report.bad_phones} 个未登记 / designated phones from the register: "
            f"{report.phones_set} (they log in by SMS code); invalid numbers left out: "
            f"{report.bad_phones}"
        )
    if report.passwords:
        console.print(
            f"初始口令已写入 {out}（仅本人可读，分发后请删除）/ initial passwords in {out}; "
            "delete the file once they are handed out"
        )


def write_password_sheet(rows: list[tuple[str, str, str]], out: Path) -> None:
    """Write (credit code, name, initial password) to XLSX (codes as text) or CSV, owner-only."""
    out.parent.mkdir(parents=True, exist_ok=True)
    # Create the file owner-readable before any secret is written into it.
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    os.chmod(out, 0o600)
    header = ("统一社会信用代码", "企业名称", "初始口令")
    if out.suffix.lower() == ".csv":
        with out.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
        return
    import xlsxwriter

    with xlsxwriter.Workbook(str(out)) as book:
        sheet = book.add_worksheet("初始口令")
        text = book.add_format({"num_format": "@"})
        sheet.write_row(0, 0, header)
        for i, row in enumerate(rows, start=1):
            # write_string keeps all-digit credit codes as text (Excel would show 9.13E+17).
            for j, value in enumerate(row):
                sheet.write_string(i, j, value, text)
        sheet.set_column(0, 0, 22)
        sheet.set_column(1, 1, 36)
        sheet.set_column(2, 2, 18)


@users_app.command("passwd")
@friendly
def passwd(
    username: Annotated[str, typer.Argument(help="用户名 / username")],
    db: DbOption = None,
) -> None:
    """重置口令并解锁，打印新口令（下次登录须修改）/ Reset a password; prints the new one."""
    with open_store(_db(db)) as store:
        password = reset_password(store, username, now=utcnow(), actor=_actor())
    console.print(f"{username} 的新口令 / new password: {password}")
    console.print("下次登录须修改口令，原有会话已结束 / must be changed at next login")


@users_app.command("list")
@friendly
def list_cmd(
    role: Annotated[str | None, typer.Option(help="只列出该角色 / only this role")] = None,
    db: DbOption = None,
) -> None:
    """列出用户 / List accounts."""
    try:
        parsed = parse_role(role) if role else None
    except ValueError as exc:
        raise MujunError(str(exc)) from None
    with open_store(_db(db)) as store:
        users = list_users(store, parsed)
        now = utcnow()
    table = Table(title=f"用户 users ({len(users)})")
    for col in (
        "username",
        "role",
        "scope/department/uscc",
        "name",
        "phone",
        "state",
        "last login",
    ):
        table.add_column(col)
    for u in users:
        state = []
        if u.disabled:
            state.append("停用 disabled")
        if u.locked_until is not None and u.locked_until > now:
            state.append(f"锁定至 locked until {u.locked_until:%Y-%m-%d %H:%M}")
        if u.must_change_password:
            state.append("须改口令 must change password")
        table.add_row(
            u.username,
            f"{u.role.value} {ROLE_NAMES[u.role]}",
            u.scope or u.department or u.uscc or "",
            u.display_name or "",
            mask_phone(u.phone) or "",
            "; ".join(state) or "正常 active",
            f"{u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else "",
        )
    console.print(table)


@users_app.command("disable")
@friendly
def disable(
    username: Annotated[str, typer.Argument(help="用户名 / username")],
    enable: Annotated[bool, typer.Option("--enable", help="重新启用 / re-enable instead")] = False,
    db: DbOption = None,
) -> None:
    """停用用户并结束其会话（--enable 重新启用）/ Disable an account and end its sessions."""
    with open_store(_db(db)) as store:
        set_disabled(store, username, not enable, now=utcnow(), actor=_actor())
    console.print(f"{username} 已{'启用 enabled' if enable else '停用 disabled'}")


@users_app.command("unlock")
@friendly
def unlock(
    username: Annotated[str, typer.Argument(help="用户名 / username")],
    db: DbOption = None,
) -> None:
    """解除登录失败锁定 / Clear a lockout after repeated failed logins."""
    with open_store(_db(db)) as store:
        unlock_user(store, username, now=utcnow(), actor=_actor())
    console.print(f"{username} 已解锁 / unlocked")


@users_app.command("phone")
@friendly
def phone_cmd(
    username: Annotated[str, typer.Argument(help="用户名 / username")],
    phone: Annotated[
        str | None, typer.Argument(help="11 位手机号 / mobile number (omit with --clear)")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="清除手机号 / remove the number")] = False,
    db: DbOption = None,
) -> None:
    """登记或清除指定联系人手机（企业账户据此用短信验证码登录）/ Set or clear the designated
    mobile number; an enterprise with one logs in by SMS code."""
    if (phone is None) == (not clear):
        raise MujunError("请给出手机号，或用 --clear 清除 / give a number, or --clear to remove it")
    with open_store(_db(db)) as store:
        user = set_phone(store, username, None if clear else phone, now=utcnow(), actor=_actor())
    if user.phone:
        console.print(f"{username} 的指定联系人手机：{mask_phone(user.phone)} / phone set")
    else:
        console.print(f"{username} 的手机号已清除 / phone cleared")

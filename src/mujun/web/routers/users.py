"""Account management for administrators: the system administrator manages accounts, the
security administrator clears lockouts. Neither sees evaluation data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from mujun.auth.roles import ASSIGNABLE_BY_SYSTEM_ADMIN, Role, parse_role
from mujun.auth.users import (
    User,
    create_user,
    list_users,
    require_user,
    reset_password,
    set_disabled,
    unlock_user,
)
from mujun.web.db import Database
from mujun.web.deps import ActorDep, DatabaseDep, NowDep, SettingsDep, StoreDep, require_roles
from mujun.web.errors import HttpError, forbidden, not_found
from mujun.web.models import COMMON_ERRORS, CreatedUserOut, UserIn, UserOut, UsersOut

router = APIRouter(tags=["users 用户管理"], responses=COMMON_ERRORS)
SystemAdmin = Annotated[User, Depends(require_roles(Role.SYSTEM_ADMIN))]
SecurityAdmin = Annotated[User, Depends(require_roles(Role.SECURITY_ADMIN))]
AccountReader = Annotated[User, Depends(require_roles(Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN))]
Username = Annotated[str, Path(min_length=2, max_length=64)]


@router.get("/users", response_model=UsersOut)
def get_users(_: AccountReader, store: StoreDep) -> UsersOut:
    """Every account (system and security administrators)."""
    return UsersOut(users=[UserOut.of(u) for u in list_users(store)])


@router.post("/users", response_model=CreatedUserOut, status_code=201)
def post_user(
    body: UserIn,
    _: SystemAdmin,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    settings: SettingsDep,
) -> CreatedUserOut:
    """Add a business account; returns its one-time initial password."""
    try:
        role = parse_role(body.role)
    except ValueError as exc:
        raise HttpError(400, str(exc)) from None
    if role not in ASSIGNABLE_BY_SYSTEM_ADMIN:
        raise forbidden(
            "管理员账号只能在服务器上用 mujun users add 创建 / administrator accounts are "
            "created with `mujun users add` on the server"
        )
    with db.writer() as w:
        user, password = create_user(
            w,
            username=body.username,
            role=role,
            now=now,
            actor=actor,
            settings=settings,
            scope=body.scope,
            department=body.department,
            uscc=body.uscc,
            display_name=body.display_name,
        )
    return CreatedUserOut(user=UserOut.of(user), initial_password=password)


def _check_target(db: Database, username: str, *, admin_ok: bool = False) -> None:
    """404 for an unknown account; 403 for an administrator account unless ``admin_ok``."""
    with db.reader() as r:
        target = r.scalar("SELECT role FROM users WHERE username = ?", [username])
    if target is None:
        raise not_found(f"用户 {username}", f"user {username}")
    if not admin_ok and Role(target) not in ASSIGNABLE_BY_SYSTEM_ADMIN:
        raise forbidden(
            "不能通过网页修改管理员账号 / administrator accounts are managed on the server"
        )


@router.post("/users/{username}/disable", response_model=UserOut)
def disable_user(
    username: Username, _: SystemAdmin, db: DatabaseDep, actor: ActorDep, now: NowDep
) -> UserOut:
    """Disable a business account and end its sessions."""
    _check_target(db, username)
    with db.writer() as w:
        return UserOut.of(set_disabled(w, username, True, now=now, actor=actor))


@router.post("/users/{username}/enable", response_model=UserOut)
def enable_user(
    username: Username, _: SystemAdmin, db: DatabaseDep, actor: ActorDep, now: NowDep
) -> UserOut:
    """Re-enable a business account."""
    _check_target(db, username)
    with db.writer() as w:
        return UserOut.of(set_disabled(w, username, False, now=now, actor=actor))


@router.post("/users/{username}/reset-password", response_model=CreatedUserOut)
def reset_user_password(
    username: Username,
    _: SystemAdmin,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    settings: SettingsDep,
) -> CreatedUserOut:
    """Give a business account a new one-time password (to change at next login)."""
    _check_target(db, username)
    with db.writer() as w:
        password = reset_password(w, username, now=now, actor=actor)
        user = UserOut.of(require_user(w, username))
    return CreatedUserOut(user=user, initial_password=password)


@router.post("/users/{username}/unlock", response_model=UserOut)
def unlock(
    username: Username, _: SecurityAdmin, db: DatabaseDep, actor: ActorDep, now: NowDep
) -> UserOut:
    """Clear a lockout (security administrator)."""
    _check_target(db, username, admin_ok=True)
    with db.writer() as w:
        return UserOut.of(unlock_user(w, username, now=now, actor=actor))

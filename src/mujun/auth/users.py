"""Accounts: create, authenticate (with lockout), change passwords, disable, unlock, bulk import.

Every change is written with its audit entry in the same transaction, so a change without its
record (or the reverse) cannot happen. Call these from the store's one writer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from mujun.auth.audit import Actor, record
from mujun.auth.passwords import (
    ONE_TIME_HASHER,
    check_password_policy,
    generate_password,
    hash_password,
    needs_rehash,
    verify_dummy,
    verify_password,
)
from mujun.auth.phones import mask_phone, normalise_phone, require_phone
from mujun.auth.roles import PROVINCE_CODE, REGION_ROLES, Role, check_account
from mujun.auth.sessions import end_user_sessions
from mujun.auth.settings import AuthSettings
from mujun.errors import InputError
from mujun.reference.uscc import validate_uscc
from mujun.store import Store

USERNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}")
_USER_COLUMNS = (
    "username, display_name, role, scope, department, uscc, password_hash, must_change_password, "
    "failed_logins, locked_until, disabled, password_changed_at, last_login_at, created_at, "
    "created_by, phone"
)


@dataclass(frozen=True)
class User:
    """An account as stored in ``users``."""

    username: str
    display_name: str | None
    role: Role
    scope: str | None
    department: str | None
    uscc: str | None
    password_hash: str = field(repr=False)
    must_change_password: bool
    failed_logins: int
    locked_until: datetime | None
    disabled: bool
    password_changed_at: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    created_by: str | None
    phone: str | None = field(default=None, repr=False)

    @property
    def logs_in_by_sms(self) -> bool:
        """Whether the account logs in with an SMS code to its designated phone (an enterprise
        with a phone on record) instead of a password."""
        return self.role == Role.ENTERPRISE and bool(self.phone)

    @property
    def region(self) -> str | None:
        """The division code whose data this account sees (and everything below it)."""
        if self.role == Role.PROVINCE_ADMIN:
            return PROVINCE_CODE
        return self.scope if self.role in REGION_ROLES else None

    def public(self) -> dict[str, Any]:
        """The account without its password hash, for output and the audit log."""
        out = asdict(self)
        del out["password_hash"]
        out["role"] = self.role.value
        # Personal data: the designated contact's number is shown (and audited) masked only.
        out["phone"] = mask_phone(self.phone)
        return out


@dataclass
class LoginResult:
    """Outcome of :func:`authenticate`: the user on success, otherwise a reason code."""

    user: User | None
    reason: str | None = None  # bad-credentials | bad-code | locked | disabled | sms-only
    locked_until: datetime | None = None


@dataclass
class ImportReport:
    """What :func:`import_enterprise_users` did."""

    created: int = 0
    existing: int = 0
    invalid: int = 0
    passwords: list[tuple[str, str, str]] = field(default_factory=list)  # username, name, password
    phones_set: int = 0  # accounts given the register's designated phone (new or without one)
    bad_phones: int = 0  # register phones that are not valid mobile numbers (left unset)


def _user(row: tuple) -> User:
    values = list(row)
    values[2] = Role(values[2])
    return User(*values)


def get_user(store: Store, username: str) -> User | None:
    """The account called ``username``, or None."""
    rows = store.rows(f"SELECT {_USER_COLUMNS} FROM users WHERE username = ?", [username])
    return _user(rows[0]) if rows else None


def require_user(store: Store, username: str) -> User:
    """The account called ``username``; InputError when there is none."""
    user = get_user(store, username)
    if user is None:
        raise InputError(
            f"用户 {username} 不存在 / no such user", "list users with `mujun users list`"
        )
    return user


def list_users(store: Store, role: Role | None = None) -> list[User]:
    """Every account (or those of one role), ordered by username."""
    if role is None:
        rows = store.rows(f"SELECT {_USER_COLUMNS} FROM users ORDER BY username")
    else:
        rows = store.rows(
            f"SELECT {_USER_COLUMNS} FROM users WHERE role = ? ORDER BY username", [role.value]
        )
    return [_user(r) for r in rows]


def password_change_reason(user: User, now: datetime, settings: AuthSettings) -> str | None:
    """Why ``user`` must change the password before anything else, or None."""
    if user.logs_in_by_sms:
        return None  # no password in use: the account logs in by SMS code
    if user.must_change_password:
        return "首次登录或口令被重置，请先修改口令 / change the initial password first"
    if settings.password_max_age_days and (
        user.password_changed_at is None
        or now - user.password_changed_at > timedelta(days=settings.password_max_age_days)
    ):
        return (
            f"口令已超过 {settings.password_max_age_days} 天未更换，请先修改口令 / "
            "the password has expired; change it first"
        )
    return None


def create_user(
    store: Store,
    *,
    username: str,
    role: Role,
    now: datetime,
    actor: Actor,
    settings: AuthSettings,
    scope: str | None = None,
    department: str | None = None,
    uscc: str | None = None,
    display_name: str | None = None,
    password: str | None = None,
    must_change_password: bool = True,
    phone: str | None = None,
) -> tuple[User, str]:
    """Add an account and return it with its password (generated unless given)."""
    errors = []
    if not USERNAME_RE.fullmatch(username):
        errors.append(
            "用户名为 2–64 位字母、数字或 _.@-，以字母或数字开头 / "
            "username: 2-64 letters, digits or _.@-"
        )
    errors += check_account(role, scope, department, uscc)
    if role == Role.PROVINCE_ADMIN:
        scope = PROVINCE_CODE
    if password is not None:
        errors += check_password_policy(password, settings, username)
    if phone is not None:
        try:
            phone = require_phone(phone)
        except InputError as exc:
            errors.append(exc.message)
    if errors:
        raise InputError("; ".join(errors))
    generated = password is None
    password = password or generate_password()
    # A generated password is one-time and high-entropy (see reset_password).
    password_hash = (
        ONE_TIME_HASHER.hash(password) if generated else hash_password(password, settings)
    )
    with store.transaction():
        if store.scalar("SELECT count(*) FROM users WHERE username = ?", [username]):
            raise InputError(f"用户 {username} 已存在 / user already exists")
        store.execute(
            f"INSERT INTO users ({_USER_COLUMNS}) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, FALSE, ?, NULL, ?, ?, ?)",
            [
                username,
                display_name,
                role.value,
                scope,
                department,
                uscc,
                password_hash,
                must_change_password or generated,
                now,
                now,
                actor.name,
                phone,
            ],
        )
        user = require_user(store, username)
        record(store, actor, now, "user.create", f"user:{username}", after=user.public())
    return user, password


@dataclass(frozen=True)
class LoginCheck:
    """A verified login attempt, not yet written (see :func:`check_login`)."""

    username: str
    outcome: str  # ok | bad-credentials | bad-code | locked | disabled | sms-only
    user: User | None = None
    new_hash: str | None = None  # a stronger hash of the same password, to store on success
    method: str = "password"  # password | sms


def check_login(
    store: Store, username: str, password: str, *, now: datetime, settings: AuthSettings
) -> LoginCheck:
    """Verify a login without writing anything. Slow by design (argon2), so the web app calls
    it outside the write lock and then :func:`record_login` inside it."""
    user = get_user(store, username)
    if user is None:
        verify_dummy(password, settings)
        return LoginCheck(username, "bad-credentials")
    if user.disabled:
        return LoginCheck(username, "disabled", user)
    if user.locked_until is not None and user.locked_until > now:
        return LoginCheck(username, "locked", user)
    if user.role == Role.ENTERPRISE and (user.phone or not settings.enterprise_password_fallback):
        # Enterprises log in with an SMS code to the designated contact (ux.md); a password is
        # only the fallback for accounts without a phone on record, when allowed.
        return LoginCheck(username, "sms-only", user)
    if not verify_password(user.password_hash, password):
        return LoginCheck(username, "bad-credentials", user)
    stronger = (
        hash_password(password, settings) if needs_rehash(user.password_hash, settings) else None
    )
    return LoginCheck(username, "ok", user, stronger)


def record_login(
    store: Store,
    check: LoginCheck,
    *,
    now: datetime,
    settings: AuthSettings,
    ip: str | None = None,
) -> LoginResult:
    """Write a checked login: reset or count failures (locking after too many); audited.
    Call it from the store's one writer; it re-reads the account so that concurrent attempts
    are counted exactly."""
    # Usernames in the audit log are cut short: the field is attacker-controlled on failure.
    name = check.username[:64]
    obj = f"user:{name}"
    with store.transaction():
        user = get_user(store, check.username) if check.user is not None else None
        actor = Actor(name, user.role.value if user else None, ip)
        outcome = check.outcome
        if user is not None and outcome in ("ok", "bad-credentials", "bad-code"):
            # Another request may have locked or disabled the account since the check.
            if user.disabled:
                outcome = "disabled"
            elif user.locked_until is not None and user.locked_until > now:
                outcome = "locked"
        if user is None or outcome in ("disabled", "locked", "sms-only"):
            record(store, actor, now, "login", obj, f"failure: {outcome}")
            until = user.locked_until if user is not None and outcome == "locked" else None
            return LoginResult(None, outcome, until)
        if outcome in ("bad-credentials", "bad-code"):
            # An expired lock starts a fresh count.
            failures = 1 if user.locked_until is not None else user.failed_logins + 1
            locked = failures >= settings.lockout_failures
            until = now + timedelta(minutes=settings.lockout_minutes) if locked else None
            store.execute(
                "UPDATE users SET failed_logins = ?, locked_until = ? WHERE username = ?",
                [0 if locked else failures, until, user.username],
            )
            record(
                store,
                actor,
                now,
                "login",
                obj,
                f"failure: {outcome}"
                + (f"; locked until {until:%Y-%m-%d %H:%M}" if locked else ""),
                before={"failed_logins": user.failed_logins, "locked_until": user.locked_until},
                after={"failed_logins": 0 if locked else failures, "locked_until": until},
            )
            return LoginResult(None, "locked", until) if locked else LoginResult(None, outcome)
        store.execute(
            "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ?, "
            "password_hash = coalesce(?, password_hash) WHERE username = ?",
            [now, check.new_hash, user.username],
        )
        method = {"method": check.method} if check.method != "password" else None
        record(store, actor, now, "login", obj, "ok", after=method)
        return LoginResult(require_user(store, user.username))


def authenticate(
    store: Store,
    username: str,
    password: str,
    *,
    now: datetime,
    settings: AuthSettings,
    ip: str | None = None,
) -> LoginResult:
    """Check and record a login in one go (for a caller that is the only writer)."""
    check = check_login(store, username, password, now=now, settings=settings)
    return record_login(store, check, now=now, settings=settings, ip=ip)


@dataclass(frozen=True)
class PasswordChange:
    """A checked password change: its problems, or the new hash to store."""

    errors: list[str]
    new_hash: str | None = None


def check_password_change(
    user: User, current: str, new: str, settings: AuthSettings
) -> PasswordChange:
    """Verify the current password and the policy, and hash the new one; writes nothing
    (slow by design: call it outside the write lock)."""
    errors = []
    if not verify_password(user.password_hash, current):
        errors.append("当前口令错误 / the current password is wrong")
    errors += check_password_policy(new, settings, user.username)
    if not errors and verify_password(user.password_hash, new):
        errors.append("新口令不能与当前口令相同 / the new password must differ from the current")
    if errors:
        return PasswordChange(errors)
    return PasswordChange([], hash_password(new, settings))


def record_password_change(
    store: Store,
    user: User,
    change: PasswordChange,
    *,
    now: datetime,
    actor: Actor,
    keep_session: str | None = None,
) -> list[str]:
    """Store a checked change (ending the user's other sessions) or audit its failure;
    return the problems."""
    if change.errors or change.new_hash is None:
        record(store, actor, now, "password.change", f"user:{user.username}", "failure")
        return change.errors
    _store_password(
        store, user, change.new_hash, False, now, actor, "password.change", keep_session
    )
    return []


def change_password(
    store: Store,
    user: User,
    current: str,
    new: str,
    *,
    now: datetime,
    settings: AuthSettings,
    actor: Actor,
    keep_session: str | None = None,
) -> list[str]:
    """Change a user's own password after checking the current one; the problems, if any.
    Every other session of the user ends."""
    change = check_password_change(user, current, new, settings)
    return record_password_change(
        store, user, change, now=now, actor=actor, keep_session=keep_session
    )


def reset_password(store: Store, username: str, *, now: datetime, actor: Actor) -> str:
    """Give an account a new generated password (to change at next login), unlock it and end
    its sessions."""
    user = require_user(store, username)
    password = generate_password()
    # Generated passwords are one-time and high-entropy: the cheap profile keeps the write
    # lock short; the forced change stores a full-cost hash.
    _store_password(store, user, ONE_TIME_HASHER.hash(password), True, now, actor, "password.reset")
    return password


def _store_password(
    store: Store,
    user: User,
    new_hash: str,
    must_change: bool,
    now: datetime,
    actor: Actor,
    action: str,
    keep_session: str | None = None,
) -> None:
    with store.transaction():
        # Whoever held the old password loses every session it opened.
        end_user_sessions(store, user.username, keep_session)
        store.execute(
            "UPDATE users SET password_hash = ?, must_change_password = ?, "
            "password_changed_at = ?, failed_logins = 0, locked_until = NULL WHERE username = ?",
            [new_hash, must_change, now, user.username],
        )
        record(
            store,
            actor,
            now,
            action,
            f"user:{user.username}",
            before={
                "must_change_password": user.must_change_password,
                "password_changed_at": user.password_changed_at,
            },
            after={"must_change_password": must_change, "password_changed_at": now},
        )


def set_disabled(
    store: Store, username: str, disabled: bool, *, now: datetime, actor: Actor
) -> User:
    """Disable (or re-enable) an account; disabling ends its sessions."""
    user = require_user(store, username)
    with store.transaction():
        store.execute("UPDATE users SET disabled = ? WHERE username = ?", [disabled, username])
        if disabled:
            store.execute("DELETE FROM sessions WHERE username = ?", [username])
        record(
            store,
            actor,
            now,
            "user.disable" if disabled else "user.enable",
            f"user:{username}",
            before={"disabled": user.disabled},
            after={"disabled": disabled},
        )
    return require_user(store, username)


def unlock_user(store: Store, username: str, *, now: datetime, actor: Actor) -> User:
    """Clear a lockout and the failure count."""
    user = require_user(store, username)
    with store.transaction():
        store.execute(
            "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE username = ?",
            [username],
        )
        record(
            store,
            actor,
            now,
            "user.unlock",
            f"user:{username}",
            before={"failed_logins": user.failed_logins, "locked_until": user.locked_until},
            after={"failed_logins": 0, "locked_until": None},
        )
    return require_user(store, username)


def import_enterprise_users(
    store: Store,
    year: int,
    *,
    now: datetime,
    actor: Actor,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Create an enterprise account (username = credit code) for every register firm of
    ``year`` that has none; existing accounts are left alone, so running it twice is safe."""
    if not store.table_exists("enterprises"):
        raise InputError(
            "库中没有企业名录 / the store has no enterprise register", "run `mujun ingest` first"
        )
    # The register's designated contact (联系人手机) when the year's register file had one.
    has_phone = "contact_phone" in store.table_columns("enterprises")
    phone_col = "any_value(e.contact_phone)" if has_phone else "NULL"
    rows = store.rows(
        f"SELECT e.uscc, any_value(e.name), {phone_col} FROM enterprises e "
        "WHERE e.year = ? AND e.uscc IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM users u WHERE u.username = e.uscc) "
        "GROUP BY e.uscc ORDER BY e.uscc",
        [year],
    )
    report = ImportReport()
    report.existing = int(
        store.scalar(
            "SELECT count(DISTINCT e.uscc) FROM enterprises e JOIN users u ON u.username = e.uscc "
            "WHERE e.year = ?",
            [year],
        )
    )
    if not rows and not report.existing:
        raise InputError(
            f"{year} 年企业名录为空 / no register firms for {year}",
            "check --year, or ingest that year's files",
        )
    records = []
    for i, (uscc, name, raw_phone) in enumerate(rows):
        if not validate_uscc(uscc).valid:
            report.invalid += 1
            continue
        phone = normalise_phone(raw_phone)
        report.bad_phones += raw_phone is not None and str(raw_phone).strip() != "" and not phone
        password = generate_password()
        records.append((uscc, name, ONE_TIME_HASHER.hash(password), phone))
        if phone:
            # Logs in by SMS code to the designated phone: the password is never used.
            report.passwords.append(
                (uscc, name or "", f"短信验证码登录 / SMS login {mask_phone(phone)}")
            )
        else:
            report.passwords.append((uscc, name or "", password))
        if progress and i % 1000 == 0:
            progress(i, len(rows))
    with store.transaction():
        if records:
            n = len(records)
            table = pa.table(
                {
                    "username": [r[0] for r in records],
                    "display_name": [r[1] for r in records],
                    "role": [Role.ENTERPRISE.value] * n,
                    "uscc": [r[0] for r in records],
                    "password_hash": [r[2] for r in records],
                    "must_change_password": [True] * n,
                    "failed_logins": pa.array([0] * n, pa.int32()),
                    "disabled": [False] * n,
                    "password_changed_at": pa.array([now] * n, pa.timestamp("us")),
                    "created_at": pa.array([now] * n, pa.timestamp("us")),
                    "created_by": [actor.name] * n,
                    "phone": pa.array([r[3] for r in records], pa.string()),
                }
            )
            store.insert_arrow("users", table)
        report.created = len(records)
        report.phones_set = sum(1 for r in records if r[3])
        if has_phone:
            report.phones_set += _fill_register_phones(store, year)
        record(
            store,
            actor,
            now,
            "user.import",
            f"enterprises:{year}",
            after={
                "created": report.created,
                "existing": report.existing,
                "invalid": report.invalid,
                "phones_set": report.phones_set,
                "bad_phones": report.bad_phones,
            },
        )
    if progress:
        progress(len(rows), len(rows))
    return report


def _fill_register_phones(store: Store, year: int) -> int:
    """Give existing enterprise accounts without a phone the register's designated contact
    (a phone set by an administrator is never overwritten); return how many got one."""
    rows = store.rows(
        "SELECT u.username, any_value(e.contact_phone) FROM users u JOIN enterprises e "
        "ON e.uscc = u.username AND e.year = ? WHERE u.role = 'enterprise' AND u.phone IS NULL "
        "AND e.contact_phone IS NOT NULL GROUP BY u.username",
        [year],
    )
    pairs = [(u, p) for u, p in ((u, normalise_phone(raw)) for u, raw in rows) if p]
    if pairs:
        store.execute(
            "CREATE OR REPLACE TEMP TABLE register_phones (username VARCHAR, phone VARCHAR)"
        )
        store.insert_arrow(
            "register_phones",
            pa.table({"username": [u for u, _ in pairs], "phone": [p for _, p in pairs]}),
        )
        store.execute(
            "UPDATE users SET phone = r.phone FROM register_phones r "
            "WHERE users.username = r.username AND users.phone IS NULL"
        )
        store.execute("DROP TABLE register_phones")
    return len(pairs)


def set_phone(
    store: Store, username: str, phone: str | None, *, now: datetime, actor: Actor
) -> User:
    """Set (or clear, with None) the designated contact's mobile number of an account; audited
    with the numbers masked. An enterprise with a phone logs in by SMS code from then on."""
    user = require_user(store, username)
    new = require_phone(phone) if phone is not None else None
    with store.transaction():
        store.execute("UPDATE users SET phone = ? WHERE username = ?", [new, username])
        record(
            store,
            actor,
            now,
            "user.phone",
            f"user:{username}",
            before={"phone": mask_phone(user.phone)},
            after={"phone": mask_phone(new)},
        )
    return require_user(store, username)

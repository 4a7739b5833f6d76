"""Enterprise login by SMS code (ux.md: the company's account is its credit code, and a code goes
to the staff member the legal representative designated).

Codes are 6 random digits, kept only as an HMAC (keyed with a secret generated into the store),
valid for ``sms_code_minutes`` (5) and once. A new code may be asked for after
``sms_resend_seconds`` (60) and at most ``sms_max_codes_per_hour`` (5) times an hour; each code
allows ``sms_code_attempts`` (3) tries. Every wrong or stale code is a failed login: it counts
towards the account's lockout (``lockout_failures``), exactly as a wrong password does. Requests,
refusals and logins are all audited.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from mujun.auth.audit import Actor, record
from mujun.auth.keys import stored_secret
from mujun.auth.phones import mask_phone
from mujun.auth.roles import Role
from mujun.auth.settings import AuthSettings
from mujun.auth.sms import queue_sms
from mujun.auth.users import LoginCheck, LoginResult, User, get_user, record_login
from mujun.store import Store

PURPOSE_LOGIN = "login"
CODE_KEY = "sms_code_key"


@dataclass(frozen=True)
class CodeRequest:
    """Outcome of :func:`request_login_code`."""

    sent: bool
    reason: str | None = None  # unknown | no-phone | disabled | locked | too-soon | hourly-limit
    phone: str | None = None  # masked
    expires_at: datetime | None = None
    retry_after: int | None = None  # seconds until a new code may be asked for
    locked_until: datetime | None = None
    message_id: int | None = None

    def message(self, settings: AuthSettings) -> str:
        """What to tell the person asking (Chinese, then English)."""
        if self.sent:
            return (
                f"验证码已发送至 {self.phone}，{settings.sms_code_minutes} 分钟内有效 / a code was "
                f"sent to {self.phone}; valid for {settings.sms_code_minutes} minutes"
            )
        return {
            "unknown": "没有该信用代码的企业账户 / no enterprise account with this credit code",
            "no-phone": "该企业账户未登记接收验证码的手机，请联系所在区县经信部门登记 / no "
            "designated phone on this account; ask the county bureau to register one",
            "disabled": "账户已停用 / this account is disabled",
            "locked": f"连续登录失败次数过多，账户已锁定至 {self.locked_until:%Y-%m-%d %H:%M} UTC / "
            "account locked after repeated failures"
            if self.locked_until
            else "账户已锁定 / account locked",
            "too-soon": f"请 {self.retry_after} 秒后再获取验证码 / wait {self.retry_after} s "
            "before asking for a new code",
            "hourly-limit": f"获取验证码过于频繁，请 {self.retry_after} 秒后再试 / too many codes "
            f"this hour; try again in {self.retry_after} s",
        }.get(self.reason or "", "无法发送验证码 / cannot send a code")


def code_hash(key: str, code_id: int, username: str, code: str) -> str:
    """The stored form of a code: HMAC-SHA256 under the store's secret, bound to its row."""
    return hmac.new(
        key.encode(), f"{code_id}:{username}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def _enterprise(store: Store, username: str) -> User | None:
    user = get_user(store, username)
    return user if user is not None and user.role == Role.ENTERPRISE else None


def request_login_code(
    store: Store,
    username: str,
    *,
    now: datetime,
    settings: AuthSettings,
    ip: str | None = None,
) -> CodeRequest:
    """Send a new login code to the account's designated phone, within the rate limits.
    Call it from the store's one writer."""
    name = username[:64]
    with store.transaction():
        user = _enterprise(store, username)
        actor = Actor(name, user.role.value if user else None, ip)
        result = _check_request(store, user, now, settings)
        if result is not None:
            record(store, actor, now, "sms.code", f"user:{name}", f"refused: {result.reason}")
            return result
        assert user is not None and user.phone
        code = f"{secrets.randbelow(10**6):06d}"
        code_id = int(store.scalar("SELECT nextval('sms_code_id_seq')"))
        expires = now + timedelta(minutes=settings.sms_code_minutes)
        text = (
            f"{settings.sms_signature}您的登录验证码为 {code}，{settings.sms_code_minutes} 分钟内有效。"
            "请勿告知他人；如非本人操作，请忽略本短信。"
        )
        message_id = queue_sms(
            store,
            phone=user.phone,
            text=text,
            kind="login-code",
            now=now,
            settings=settings,
            username=user.username,
        )
        key = stored_secret(store, CODE_KEY, now)
        store.execute(
            "INSERT INTO sms_codes (code_id, username, purpose, code_hash, created_at, expires_at, "
            "used_at, attempts, message_id, ip) VALUES (?, ?, ?, ?, ?, ?, NULL, 0, ?, ?)",
            [
                code_id,
                user.username,
                PURPOSE_LOGIN,
                code_hash(key, code_id, user.username, code),
                now,
                expires,
                message_id,
                ip,
            ],
        )
        masked = mask_phone(user.phone)
        record(
            store,
            actor,
            now,
            "sms.code",
            f"user:{user.username}",
            "sent",
            after={"phone": masked, "expires_at": expires, "message_id": message_id},
        )
    return CodeRequest(True, phone=masked, expires_at=expires, message_id=message_id)


def _check_request(
    store: Store, user: User | None, now: datetime, settings: AuthSettings
) -> CodeRequest | None:
    """Why no code may be sent now (None when one may)."""
    if user is None:
        return CodeRequest(False, "unknown")
    if not user.phone:
        return CodeRequest(False, "no-phone")
    if user.disabled:
        return CodeRequest(False, "disabled")
    if user.locked_until is not None and user.locked_until > now:
        return CodeRequest(False, "locked", locked_until=user.locked_until)
    hour_ago = now - timedelta(hours=1)
    recent = [
        r[0]
        for r in store.rows(
            "SELECT created_at FROM sms_codes WHERE username = ? AND purpose = ? "
            "AND created_at > ? ORDER BY created_at DESC",
            [user.username, PURPOSE_LOGIN, hour_ago],
        )
    ]
    if recent:
        wait = recent[0] + timedelta(seconds=settings.sms_resend_seconds) - now
        if wait > timedelta(0):
            return CodeRequest(False, "too-soon", retry_after=_seconds(wait))
    if len(recent) >= settings.sms_max_codes_per_hour:
        wait = recent[settings.sms_max_codes_per_hour - 1] + timedelta(hours=1) - now
        return CodeRequest(False, "hourly-limit", retry_after=_seconds(wait))
    return None


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))


@dataclass(frozen=True)
class CodeLogin:
    """Outcome of :func:`log_in_with_code`: the recorded login and, on failure, why."""

    result: LoginResult
    problem: str | None = None  # no-code | expired | wrong | used-up

    def message(self) -> str:
        """What to tell the person logging in."""
        if self.result.reason == "locked":
            until = self.result.locked_until
            return (
                f"连续登录失败次数过多，账户已锁定至 {until:%Y-%m-%d %H:%M} UTC / account locked "
                "after repeated failures"
                if until
                else "账户已锁定 / account locked"
            )
        if self.result.reason == "disabled":
            return "账户已停用 / this account is disabled"
        return {
            "expired": "验证码已过期，请重新获取 / the code has expired; ask for a new one",
            "used-up": "验证码错误次数过多已失效，请重新获取 / too many wrong tries; ask for a "
            "new code",
            "no-code": "请先获取验证码 / ask for a code first",
        }.get(self.problem or "", "信用代码或验证码错误 / wrong credit code or SMS code")


def log_in_with_code(
    store: Store,
    username: str,
    code: str,
    *,
    now: datetime,
    settings: AuthSettings,
    ip: str | None = None,
) -> CodeLogin:
    """Check an SMS code and record the login (a failure counts towards the lockout).
    Call it from the store's one writer."""
    code = code.strip()
    with store.transaction():
        user = _enterprise(store, username)
        if user is None or not user.phone:
            check = LoginCheck(username, "bad-code", user, method="sms")
            return CodeLogin(
                record_login(store, check, now=now, settings=settings, ip=ip), "no-code"
            )
        if user.disabled or (user.locked_until is not None and user.locked_until > now):
            outcome = "disabled" if user.disabled else "locked"
            check = LoginCheck(username, outcome, user, method="sms")
            return CodeLogin(record_login(store, check, now=now, settings=settings, ip=ip))
        rows = store.rows(
            "SELECT code_id, code_hash, expires_at, used_at, attempts FROM sms_codes "
            "WHERE username = ? AND purpose = ? ORDER BY created_at DESC, code_id DESC LIMIT 1",
            [user.username, PURPOSE_LOGIN],
        )
        problem = None
        if not rows or rows[0][3] is not None:
            problem = "no-code"  # none asked for, or the latest one was used already
        else:
            code_id, stored, expires, _, attempts = rows[0]
            if attempts >= settings.sms_code_attempts:
                problem = "used-up"
            elif now >= expires:
                problem = "expired"
            else:
                key = stored_secret(store, CODE_KEY, now)
                given = code_hash(key, code_id, user.username, code) if code.isdigit() else ""
                if hmac.compare_digest(given, stored):
                    store.execute(
                        "UPDATE sms_codes SET used_at = ? WHERE code_id = ?", [now, code_id]
                    )
                    check = LoginCheck(username, "ok", user, method="sms")
                    return CodeLogin(record_login(store, check, now=now, settings=settings, ip=ip))
                store.execute(
                    "UPDATE sms_codes SET attempts = attempts + 1 WHERE code_id = ?", [code_id]
                )
                problem = "wrong" if attempts + 1 < settings.sms_code_attempts else "used-up"
        check = LoginCheck(username, "bad-code", user, method="sms")
        return CodeLogin(record_login(store, check, now=now, settings=settings, ip=ip), problem)

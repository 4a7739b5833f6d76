"""Enterprise login by SMS code, the designated phone of an account, and the SMS outbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from mujun.auth.roles import ADMIN_ROLES, Role
from mujun.auth.sms import list_outbox
from mujun.auth.users import User, password_change_reason, require_user, set_phone
from mujun.web.deps import (
    ActorDep,
    DatabaseDep,
    NowDep,
    OptionalSessionDep,
    SettingsDep,
    StoreDep,
    require_roles,
)
from mujun.web.errors import HttpError, forbidden
from mujun.web.login import log_in_by_sms, send_login_code
from mujun.web.models import LoginOut, UserOut, error_responses
from mujun.web.models_account import (
    PhoneIn,
    SmsCodeIn,
    SmsCodeOut,
    SmsLoginIn,
    SmsMessageOut,
    SmsOutboxOut,
)
from mujun.web.security import Signers, set_session_cookies

router = APIRouter(tags=["sms 短信登录"], responses=error_responses(400, 401, 403, 404, 422, 429))
SystemAdmin = Annotated[User, Depends(require_roles(Role.SYSTEM_ADMIN))]
REFUSAL_STATUS = {"too-soon": 429, "hourly-limit": 429, "locked": 403, "disabled": 403}


@router.post("/login/sms/code", response_model=SmsCodeOut)
def post_sms_code(
    body: SmsCodeIn, request: Request, db: DatabaseDep, now: NowDep, settings: SettingsDep
) -> SmsCodeOut:
    """Send a 6-digit login code to the enterprise's designated phone (429 while rate-limited,
    with ``Retry-After``)."""
    result = send_login_code(request, db, body.username, now=now, settings=settings)
    if not result.sent:
        headers = {"Retry-After": str(result.retry_after)} if result.retry_after else None
        raise HttpError(
            REFUSAL_STATUS.get(result.reason or "", 400), result.message(settings), headers=headers
        )
    assert result.phone is not None and result.expires_at is not None
    return SmsCodeOut(
        message=result.message(settings),
        phone=result.phone,
        expires_at=result.expires_at,
        resend_after_seconds=settings.sms_resend_seconds,
    )


@router.post("/login/sms", response_model=LoginOut)
def post_sms_login(
    body: SmsLoginIn,
    request: Request,
    response: Response,
    db: DatabaseDep,
    now: NowDep,
    settings: SettingsDep,
    current: OptionalSessionDep,
) -> LoginOut:
    """Log in with the credit code and the SMS code: a new session on success; 401 for a wrong,
    stale or used code (each counts towards the lockout), 403 while locked or disabled."""
    outcome = log_in_by_sms(
        request, db, body.username, body.code, now=now, settings=settings, current=current
    )
    user = outcome.result.user
    if user is None:
        status = 403 if outcome.result.reason in ("locked", "disabled") else 401
        raise HttpError(status, outcome.message or "登录失败 / login failed")
    signers: Signers = request.app.state.signers
    set_session_cookies(
        response, signers.sign_session(outcome.token), outcome.csrf, settings.cookie_secure
    )
    return LoginOut(
        user=UserOut.of(user),
        password_change_required=password_change_reason(user, now, settings),
        csrf_token=outcome.csrf,
    )


@router.put("/users/{username}/phone", response_model=UserOut, tags=["users 用户管理"])
def put_phone(
    body: PhoneIn,
    _: SystemAdmin,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    username: Annotated[str, Path(min_length=2, max_length=64)],
) -> UserOut:
    """Set or clear an account's designated mobile number (system administrator; business
    accounts only). An enterprise with a phone logs in by SMS code from then on."""
    with db.writer(data=False) as w:  # an account and the audit log only
        if require_user(w, username).role in ADMIN_ROLES:
            raise forbidden(
                "管理员账号只能在服务器上用 mujun users 管理 / administrator accounts are managed "
                "with `mujun users` on the server"
            )
        return UserOut.of(set_phone(w, username, body.phone, now=now, actor=actor))


@router.get("/sms/outbox", response_model=SmsOutboxOut)
def get_outbox(
    _: SystemAdmin,
    store: StoreDep,
    db: DatabaseDep,
    actor: ActorDep,
    now: NowDep,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
    kind: Annotated[str | None, Query(max_length=32)] = None,
) -> SmsOutboxOut:
    """Messages the platform sent, newest first (system administrator; the read is audited,
    since login codes are in the texts)."""
    total, messages = list_outbox(store, limit=page_size, offset=(page - 1) * page_size, kind=kind)
    db.audit(actor, now, "sms.outbox.read", f"sms/outbox?page={page}", f"ok: {len(messages)}")
    return SmsOutboxOut(
        total=total,
        page=page,
        page_size=page_size,
        messages=[SmsMessageOut.model_validate(m, from_attributes=True) for m in messages],
    )

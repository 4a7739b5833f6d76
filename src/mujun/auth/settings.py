"""Security settings (classified protection level 3 basics), read from ``MUJUN_*``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Classified protection keeps audit records at least six months.
MIN_AUDIT_RETENTION_DAYS = 180


class AuthSettings(BaseSettings):
    """Password, lockout and session policy; every field can be set by ``MUJUN_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="MUJUN_", extra="ignore")

    password_min_length: int = Field(8, ge=8, description="最短口令长度 / minimum length")
    password_min_classes: int = Field(
        3,
        ge=1,
        le=4,
        description="至少包含的字符类别数 / classes of 4 (lower, upper, digit, symbol)",
    )
    password_max_age_days: int = Field(
        90, ge=0, description="口令定期更换天数，0 为不强制 / days before a change is forced"
    )
    lockout_failures: int = Field(5, ge=1, description="连续失败次数后锁定 / failures before lock")
    lockout_minutes: int = Field(30, ge=1, description="锁定时长（分钟） / lock duration")
    idle_timeout_minutes: int = Field(30, ge=1, description="空闲超时（分钟） / idle timeout")
    session_lifetime_hours: int = Field(12, ge=1, description="会话最长时长 / absolute lifetime")
    # argon2id cost: RFC 9106's second recommended option by default (64 MiB, 3 passes).
    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_kib: int = Field(65536, ge=8)
    argon2_parallelism: int = Field(4, ge=1)

    # Enterprise login (ux.md: credit code + SMS code to the designated staff member). An
    # enterprise account with a phone on record logs in by SMS code only; the password is the
    # fallback for accounts without one, unless this is false (then SMS only, for every firm).
    enterprise_password_fallback: bool = Field(
        True,
        description="无登记手机的企业账户可用口令登录 / enterprises without a phone may use a password",
    )
    # SMS: "outbox" keeps messages in the store for the system administrator (closed networks
    # have no public SMS API); "http" posts each one to the deployment's own gateway.
    sms_driver: Literal["outbox", "http"] = "outbox"
    sms_http_url: str | None = Field(None, description="短信网关地址 / gateway URL (http driver)")
    sms_http_token: SecretStr | None = Field(None, description="网关令牌 / bearer token")
    sms_http_timeout_seconds: float = Field(5.0, gt=0)
    sms_signature: str = Field("【亩均评价】", description="短信签名 / SMS signature")
    sms_code_minutes: int = Field(5, ge=1, le=30, description="验证码有效期 / code lifetime")
    sms_resend_seconds: int = Field(60, ge=10, description="重发间隔 / wait before a new code")
    sms_max_codes_per_hour: int = Field(5, ge=1, description="每小时最多发送 / codes per hour")
    sms_code_attempts: int = Field(3, ge=1, le=10, description="每个验证码可试次数 / tries")
    # Audit log retention: entries younger than this can never be archived out of the store.
    audit_retention_days: int = Field(
        MIN_AUDIT_RETENTION_DAYS, description="审计日志保存天数（至少 180）/ days kept"
    )

    @field_validator("audit_retention_days")
    @classmethod
    def _retention_at_least_six_months(cls, value: int) -> int:
        if value < MIN_AUDIT_RETENTION_DAYS:
            raise ValueError(
                f"审计日志至少保存 {MIN_AUDIT_RETENTION_DAYS} 天（等级保护要求六个月），不能设为 "
                f"{value} 天 / MUJUN_AUDIT_RETENTION_DAYS must be at least "
                f"{MIN_AUDIT_RETENTION_DAYS} (classified protection keeps six months); got {value}"
            )
        return value

    @field_validator("sms_http_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"MUJUN_SMS_HTTP_URL must be an http(s) URL, got {value!r}")
        return value

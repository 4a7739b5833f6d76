"""Security settings (classified protection level 3 basics), read from ``MUJUN_*``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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

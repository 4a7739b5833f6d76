"""API models of the account features added after the foundation: SMS login, the SMS outbox,
notifications and the audit log's export and archive."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class SmsCodeIn(BaseModel):
    """Ask for an SMS login code: the enterprise account (its credit code)."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64, description="统一社会信用代码 / credit code")


class SmsCodeOut(BaseModel):
    """A code was sent: to which (masked) number, until when, and when a new one may be asked."""

    ok: bool = True
    message: str
    phone: str
    expires_at: datetime
    resend_after_seconds: int


class SmsLoginIn(BaseModel):
    """Log in with the credit code and the SMS code."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    code: str = Field(min_length=1, max_length=12)


class SmsMessageOut(BaseModel):
    """One message of the SMS outbox."""

    message_id: int
    created_at: datetime
    username: str | None
    phone: str
    kind: str
    text: str
    driver: str
    status: str
    tries: int
    sent_at: datetime | None
    error: str | None


class SmsOutboxOut(BaseModel):
    """A page of the SMS outbox, newest first."""

    ok: bool = True
    total: int
    page: int
    page_size: int
    messages: list[SmsMessageOut]


class PhoneIn(BaseModel):
    """The designated contact's mobile number (null clears it)."""

    model_config = ConfigDict(extra="forbid")
    phone: str | None = Field(None, max_length=32)


class NotificationOut(BaseModel):
    """One in-app notification."""

    notification_id: int
    kind: str
    title: str
    body: str | None
    link: str | None
    created_at: datetime
    read_at: datetime | None


class NotificationsOut(BaseModel):
    """The user's notifications, newest first, and how many are unread."""

    ok: bool = True
    unread: int
    total: int
    page: int
    page_size: int
    notifications: list[NotificationOut]


class MarkReadIn(BaseModel):
    """Notifications to mark as read: the ids, or none for all of them."""

    model_config = ConfigDict(extra="forbid")
    ids: list[int] | None = None


class MarkedOut(BaseModel):
    """How many notifications were marked read."""

    ok: bool = True
    marked: int
    unread: int


class AuditArchiveOut(BaseModel):
    """An archive of old audit entries and its anchor."""

    ok: bool = True
    archive_id: int
    first_seq: int
    last_seq: int
    entries: int
    last_hash: str
    file_name: str
    file_sha256: str
    cutoff: datetime


class AuditArchivesOut(BaseModel):
    """Every archive of the audit log, oldest first, and the retention in force."""

    ok: bool = True
    retention_days: int
    archives: list[AuditArchiveOut]

"""Time for accounts, sessions and the audit log: naive UTC, so stored times compare plainly."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time in UTC without tzinfo (as stored in TIMESTAMP columns)."""
    return datetime.now(UTC).replace(tzinfo=None)

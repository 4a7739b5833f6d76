"""Secrets the deployment keeps in its store: generated on first use, never hard-coded."""

from __future__ import annotations

import secrets
from datetime import datetime

from mujun.store import Store


def stored_secret(store: Store, name: str, now: datetime) -> str:
    """The secret called ``name``, generating and storing a random one on first use."""
    with store.transaction():
        value = store.scalar("SELECT value FROM app_secrets WHERE name = ?", [name])
        if value is None:
            value = secrets.token_urlsafe(48)
            store.execute("INSERT INTO app_secrets VALUES (?, ?, ?)", [name, value, now])
    return str(value)

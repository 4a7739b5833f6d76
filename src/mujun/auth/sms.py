"""Text messages (SMS) through a pluggable sender.

Every message the platform sends is first a row of ``sms_outbox`` (kind, number, text, state),
written in the same transaction as the change that caused it. What happens next depends on
``MUJUN_SMS_DRIVER``:

- ``outbox`` (default, and the test driver): the row is the delivery. Government networks have
  no public SMS API, so the system administrator reads the outbox (``GET /api/v1/sms/outbox``,
  the ``/admin/sms`` page) or a relay reads the table. Each message is also logged (number
  masked, never the text, which may carry a login code).
- ``http``: the row waits as ``queued`` until :func:`deliver_queued` posts it to the
  deployment's own gateway (``MUJUN_SMS_HTTP_URL``, JSON ``{"id", "phone", "text"}``, bearer
  ``MUJUN_SMS_HTTP_TOKEN``); a 2xx answer marks it ``sent``, anything else ``failed`` after
  three tries. :class:`SmsDispatcher` does this in the background, outside the write lock, so
  a slow gateway never holds up other writes.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import pyarrow as pa

from mujun.auth.phones import mask_phone
from mujun.auth.settings import AuthSettings
from mujun.store import Store

log = logging.getLogger("mujun.sms")
MAX_TRIES = 3
_OUTBOX_COLUMNS = (
    "message_id, created_at, username, phone, kind, text, driver, status, tries, sent_at, error"
)


@dataclass(frozen=True)
class SmsMessage:
    """One row of ``sms_outbox``."""

    message_id: int
    created_at: datetime
    username: str | None
    phone: str
    kind: str
    text: str
    driver: str
    status: str  # outbox | queued | sent | failed
    tries: int
    sent_at: datetime | None
    error: str | None


def _initial_status(settings: AuthSettings) -> str:
    return "outbox" if settings.sms_driver == "outbox" else "queued"


def queue_sms(
    store: Store,
    *,
    phone: str,
    text: str,
    kind: str,
    now: datetime,
    settings: AuthSettings,
    username: str | None = None,
) -> int:
    """Record one message for ``phone`` (in the caller's transaction); return its id."""
    message_id = int(store.scalar("SELECT nextval('sms_message_id_seq')"))
    store.execute(
        f"INSERT INTO sms_outbox ({_OUTBOX_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL)",
        [
            message_id,
            now,
            username,
            phone,
            kind,
            text,
            settings.sms_driver,
            _initial_status(settings),
        ],
    )
    log.info(
        "SMS #%s (%s) to %s: %s", message_id, kind, mask_phone(phone), _initial_status(settings)
    )
    return message_id


def queue_sms_bulk(
    store: Store,
    rows: list[tuple[str, str, str]],
    *,
    kind: str,
    now: datetime,
    settings: AuthSettings,
) -> int:
    """Record one message per (username, phone, text) in one insert; return how many."""
    if not rows:
        return 0
    n = len(rows)
    batch = pa.table(
        {
            "username": [r[0] for r in rows],
            "phone": [r[1] for r in rows],
            "text": [r[2] for r in rows],
        }
    )
    store.con.register("_sms_batch", batch)
    try:
        store.execute(
            f"INSERT INTO sms_outbox ({_OUTBOX_COLUMNS}) SELECT nextval('sms_message_id_seq'), "
            "?, username, phone, ?, text, ?, ?, 0, NULL, NULL FROM _sms_batch",
            [now, kind, settings.sms_driver, _initial_status(settings)],
        )
    finally:
        store.con.unregister("_sms_batch")
    log.info("%d SMS (%s): %s", n, kind, _initial_status(settings))
    return n


def list_outbox(
    store: Store, *, limit: int = 50, offset: int = 0, kind: str | None = None
) -> tuple[int, list[SmsMessage]]:
    """Messages newest first (optionally of one kind) and how many there are in all."""
    cond, params = ("kind = ?", [kind]) if kind else ("TRUE", [])
    total = int(store.scalar(f"SELECT count(*) FROM sms_outbox WHERE {cond}", params))
    rows = store.rows(
        f"SELECT {_OUTBOX_COLUMNS} FROM sms_outbox WHERE {cond} "
        "ORDER BY message_id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return total, [SmsMessage(*r) for r in rows]


class Gateway(Protocol):
    """Something that delivers one message; returns None on success, else the problem."""

    def send(self, message: SmsMessage) -> str | None: ...


@dataclass(frozen=True)
class HttpGateway:
    """The deployment's SMS gateway: one JSON POST per message."""

    url: str
    token: str | None = None
    timeout: float = 5.0

    def send(self, message: SmsMessage) -> str | None:
        """POST ``{"id", "phone", "text"}``; None on a 2xx answer, else what went wrong."""
        body = json.dumps(
            {"id": message.message_id, "phone": message.phone, "text": message.text},
            ensure_ascii=False,
        ).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return None if 200 <= answer.status < 300 else f"HTTP {answer.status}"
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            return f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"


def gateway_for(settings: AuthSettings) -> Gateway | None:
    """The configured gateway (None for the outbox driver)."""
    if settings.sms_driver != "http":
        return None
    if not settings.sms_http_url:
        raise ValueError("MUJUN_SMS_DRIVER=http needs MUJUN_SMS_HTTP_URL")
    token = settings.sms_http_token.get_secret_value() if settings.sms_http_token else None
    return HttpGateway(settings.sms_http_url, token, settings.sms_http_timeout_seconds)


class StoreAccess(Protocol):
    """The app's store holder: readers, and the one writer."""

    def reader(self) -> Any: ...

    def writer(self) -> Any: ...


def deliver_queued(
    db: StoreAccess, gateway: Gateway, now: Callable[[], datetime], limit: int = 200
) -> tuple[int, int]:
    """Send queued messages through ``gateway`` (network calls outside the write lock);
    return (sent, failed for good)."""
    with db.reader() as r:
        rows = r.rows(
            f"SELECT {_OUTBOX_COLUMNS} FROM sms_outbox WHERE status = 'queued' "
            "ORDER BY message_id LIMIT ?",
            [limit],
        )
    sent = failed = 0
    for row in rows:
        message = SmsMessage(*row)
        problem = gateway.send(message)
        tries = message.tries + 1
        if problem is None:
            status, sent = "sent", sent + 1
        elif tries >= MAX_TRIES:
            status, failed = "failed", failed + 1
        else:
            status = "queued"
        with db.writer() as w:
            w.execute(
                "UPDATE sms_outbox SET status = ?, tries = ?, error = ?, sent_at = ? "
                "WHERE message_id = ?",
                [status, tries, problem, now() if problem is None else None, message.message_id],
            )
        log.info(
            "SMS #%s to %s: %s", message.message_id, mask_phone(message.phone), problem or status
        )
    return sent, failed


class SmsDispatcher:
    """A background thread delivering queued messages (the ``http`` driver); :meth:`wake`
    sends at once, for login codes."""

    def __init__(
        self, db: StoreAccess, gateway: Gateway, now: Callable[[], datetime], every: float = 5.0
    ) -> None:
        self._db, self._gateway, self._now, self._every = db, gateway, now, every
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mujun-sms", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def wake(self) -> None:
        """Deliver now instead of at the next tick."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread (waits for the current delivery)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._every)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                deliver_queued(self._db, self._gateway, self._now)
            except Exception:  # keep the thread alive; the next tick retries
                log.exception("SMS delivery failed")

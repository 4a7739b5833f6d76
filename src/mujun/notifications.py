"""In-app notifications, with an SMS through the same sender when the recipient has a phone.

Raised by the workflow in the transaction of the change itself, so a notice exists exactly when
the change does: enterprises hear when confirmation opens for their firm, when a publication
(公示) covering their firm is issued (with its window), and when their objection is decided;
analysts (and the province administrator) hear of a new objection from a firm in their region.
Recipients are chosen in SQL (one insert however many firms a run holds), and scoped as
everything else: an enterprise only about its own firm, an analyst only about firms in its
region. Disabled accounts are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mujun.auth.settings import AuthSettings
from mujun.auth.sms import queue_sms_bulk
from mujun.store import Store

_COLUMNS = "notification_id, kind, title, body, link, created_at, read_at"
SMS_MAX = 300


@dataclass(frozen=True)
class Notice:
    """What to tell: a kind (``confirmation.open`` …), a title, a body and a page link."""

    kind: str
    title: str
    body: str
    link: str | None = None
    ref: str | None = None


def _send(
    store: Store,
    recipients_sql: str,
    params: list,
    notice: Notice,
    now: datetime,
    settings: AuthSettings | None,
) -> int:
    """Insert one notification per recipient (``recipients_sql`` selects ``username, phone``)
    and queue an SMS for those with a phone; return how many were notified."""
    settings = settings or AuthSettings()
    store.execute(
        "CREATE OR REPLACE TEMP TABLE notice_recipients AS "
        f"SELECT DISTINCT username, phone FROM ({recipients_sql})",
        params,
    )
    n = int(store.scalar("SELECT count(*) FROM notice_recipients"))
    if n:
        store.execute(
            "INSERT INTO notifications (notification_id, username, kind, title, body, link, ref, "
            "created_at, read_at) SELECT nextval('notification_id_seq'), username, ?, ?, ?, ?, ?, "
            "?, NULL FROM notice_recipients ORDER BY username",
            [notice.kind, notice.title, notice.body, notice.link, notice.ref, now],
        )
        text = f"{settings.sms_signature}{notice.title}。{notice.body}"[:SMS_MAX]
        phones = store.rows(
            "SELECT username, phone FROM notice_recipients WHERE phone IS NOT NULL ORDER BY username"
        )
        queue_sms_bulk(
            store, [(u, p, text) for u, p in phones], kind=notice.kind, now=now, settings=settings
        )
    store.execute("DROP TABLE notice_recipients")
    return n


# Recipients ------------------------------------------------------------------------------------

_RUN_FIRMS = (
    "SELECT u.username, u.phone FROM users u JOIN results r ON r.uscc = u.uscc AND r.run_id = ? "
    "WHERE u.role = 'enterprise' AND NOT u.disabled"
)
_FIRM = "SELECT username, phone FROM users WHERE role = 'enterprise' AND uscc = ? AND NOT disabled"
# Analysts whose region holds the firm (county, its city) and the province administrator.
_ANALYSTS = (
    "SELECT u.username, u.phone FROM users u WHERE NOT u.disabled AND ("
    "u.role = 'province_admin' OR (u.role = 'county_analyst' AND u.scope = ?) "
    "OR (u.role = 'city_analyst' AND u.scope = ?))"
)


def notify_confirmation_open(
    store: Store,
    run_id: str,
    year: int | None,
    stage: str,
    closes_on: Any,
    now: datetime,
    settings: AuthSettings | None = None,
) -> int:
    """Tell every firm of the run that confirmation (land areas, or the whole sheet) is open."""
    what = "用地面积" if stage == "land" else "一企一单"
    until = f"请于 {closes_on} 前" if closes_on else "请尽快"
    notice = Notice(
        "confirmation.open",
        f"{year or ''}年度亩均评价{what}确认已开放",
        f"{until}登录平台核对{what}，逐项确认或提出异议并上传证明材料。",
        f"/confirm?run={run_id}",
        f"run:{run_id}/confirm:{stage}",
    )
    return _send(store, _RUN_FIRMS, [run_id], notice, now, settings)


def notify_publication(
    store: Store, publication: dict[str, Any], now: datetime, settings: AuthSettings | None = None
) -> int:
    """Tell every firm of the published run that the publication (公示) and its objection
    window cover it."""
    run_id = publication["run_id"]
    notice = Notice(
        "publication.open",
        f"{publication['title']}",
        f"公示期 {publication['window_start']} 至 {publication['window_end']}，对本企业结果有异议的，"
        f"请在公示期内登录平台提出并上传证明材料，逾期不予受理。联系电话 {publication['contact_phone']}。",
        f"/confirm?run={run_id}",
        f"run:{run_id}/publication:{publication['publication_id']}",
    )
    return _send(store, _RUN_FIRMS, [run_id], notice, now, settings)


def notify_objection_filed(
    store: Store, filing: dict[str, Any], now: datetime, settings: AuthSettings | None = None
) -> int:
    """Tell the analysts whose region holds the firm that it contested a figure."""
    cid = filing["confirmation_id"]
    notice = Notice(
        "objection.new",
        f"新异议：{filing.get('name') or filing['uscc']}（{filing['label']}）",
        f"{filing.get('name') or filing['uscc']} 对批次 {filing['run_id']} 的{filing['label']}提出异议"
        f"（异议 #{cid}），请审核。",
        f"/objections/{cid}",
        f"objection:{cid}",
    )
    county, city = filing.get("county_code"), filing.get("city_code")
    return _send(store, _ANALYSTS, [county, city], notice, now, settings)


def notify_objection_decided(
    store: Store, filing: dict[str, Any], now: datetime, settings: AuthSettings | None = None
) -> int:
    """Tell the firm that its objection was accepted or rejected, with the analyst's note."""
    cid = filing["confirmation_id"]
    verdict = "已采纳" if filing["status"] == "accepted" else "未采纳"
    notice = Notice(
        "objection.decided",
        f"您对{filing['label']}的异议{verdict}",
        f"异议 #{cid}（批次 {filing['run_id']}）{verdict}。审核意见：{filing.get('note') or ''}",
        f"/confirm?run={filing['run_id']}",
        f"objection:{cid}/decided",
    )
    return _send(store, _FIRM, [filing["uscc"]], notice, now, settings)


# Reading ---------------------------------------------------------------------------------------


def list_notifications(
    store: Store, username: str, *, limit: int = 20, offset: int = 0, unread_only: bool = False
) -> tuple[int, int, list[dict[str, Any]]]:
    """(total, unread, page) of a user's notifications, newest first."""
    cond = " AND read_at IS NULL" if unread_only else ""
    total, unread = store.rows(
        "SELECT count(*), count(*) FILTER (read_at IS NULL) FROM notifications WHERE username = ?",
        [username],
    )[0]
    cur = store.con.execute(
        f"SELECT {_COLUMNS} FROM notifications WHERE username = ?{cond} "
        "ORDER BY created_at DESC, notification_id DESC LIMIT ? OFFSET ?",
        [username, limit, offset],
    )
    names = [d[0] for d in cur.description]
    return int(total), int(unread), [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def unread_count(store: Store, username: str) -> int:
    """How many of the user's notifications are unread (for the bell in the header)."""
    return int(
        store.scalar(
            "SELECT count(*) FROM notifications WHERE username = ? AND read_at IS NULL", [username]
        )
    )


def mark_read(store: Store, username: str, ids: list[int] | None, now: datetime) -> int:
    """Mark the user's notifications ``ids`` (or all) read; another user's ids are ignored."""
    cond, params = "", []
    if ids is not None:
        if not ids:
            return 0
        cond = f" AND notification_id IN ({', '.join('?' * len(ids))})"
        params = list(ids)
    n = int(
        store.scalar(
            f"SELECT count(*) FROM notifications WHERE username = ? AND read_at IS NULL{cond}",
            [username, *params],
        )
    )
    store.execute(
        f"UPDATE notifications SET read_at = ? WHERE username = ? AND read_at IS NULL{cond}",
        [now, username, *params],
    )
    return n

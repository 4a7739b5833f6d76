"""The append-only, hash-chained audit log.

Every row stores the SHA-256 of its own content and of the row before it (``prev_hash``), so an
edited row no longer matches its hash and a deleted row breaks the sequence and the chain. This
module offers no update or delete. A chain can still be rewritten wholesale by someone with write
access to the file, so :func:`audit_head` gives the latest (seq, hash) to record elsewhere
(the operator's log, a printout) and :func:`verify_audit_chain` checks against it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mujun.store import Store

GENESIS = "0" * 64
_COLUMNS = (
    "seq, logged_at, actor, role, action, object, result, before::VARCHAR, after::VARCHAR, ip"
)


@dataclass(frozen=True)
class Actor:
    """Who does something: a user (with role and address) or an operator at the CLI."""

    name: str
    role: str | None
    ip: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One row of ``audit_log`` as read back."""

    seq: int
    logged_at: datetime
    actor: str
    role: str | None
    action: str
    object: str | None
    result: str
    before: Any
    after: Any
    ip: str | None
    prev_hash: str
    hash: str


def to_json(value: Any) -> str | None:
    """Canonical JSON text for a before/after value (None stays None)."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(row: tuple, prev_hash: str) -> str:
    """SHA-256 of a row's content (``_COLUMNS`` order, JSON as text) chained to ``prev_hash``."""
    seq, at, *rest = row
    payload = [int(seq), at.isoformat(timespec="microseconds"), *rest, prev_hash]
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _head(store: Store) -> tuple[int, str]:
    """The last (seq, hash) of the chain, or (0, GENESIS) while it is empty."""
    # max() then a primary-key lookup: cheaper than sorting the whole log as it grows.
    seq = store.scalar("SELECT max(seq) FROM audit_log")
    if seq is None:
        return 0, GENESIS
    return int(seq), store.scalar("SELECT hash FROM audit_log WHERE seq = ?", [seq])


def append_audit_entries(
    store: Store, entries: list[dict[str, Any]], *, head: tuple[int, str] | None = None
) -> list[tuple[int, str]]:
    """Append entries (keyword arguments of :func:`append_audit`) in order, chained, in one
    statement; return each one's (seq, hash). Call it from the store's one writer.

    ``head`` is the chain's last (seq, hash) when the caller knows it for certain (it holds the
    write lock and saw every append since); otherwise it is read from the log."""
    if not entries:
        return []
    with contextlib.nullcontext() if head is not None else store.transaction():
        seq, prev = head if head is not None else _head(store)
        values, out = [], []
        for e in entries:
            seq += 1
            row = (
                seq,
                e["at"],
                e["actor"],
                e.get("role"),
                e["action"],
                e.get("object"),
                e.get("result", "ok"),
                to_json(e.get("before")),
                to_json(e.get("after")),
                e.get("ip"),
            )
            digest = entry_hash(row, prev)
            values.extend([*row, prev, digest])
            out.append((seq, digest))
            prev = digest
        marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(entries))
        # One statement: atomic on its own when no transaction is open.
        store.execute(
            "INSERT INTO audit_log (seq, logged_at, actor, role, action, object, result, before, "
            f"after, ip, prev_hash, hash) VALUES {marks}",
            values,
        )
    return out


def append_audit(
    store: Store,
    *,
    at: datetime,
    actor: str,
    role: str | None,
    action: str,
    object: str | None = None,
    result: str = "ok",
    before: Any = None,
    after: Any = None,
    ip: str | None = None,
) -> int:
    """Append one entry and return its sequence number; call it from the store's one writer."""
    entry = {
        "at": at,
        "actor": actor,
        "role": role,
        "action": action,
        "object": object,
        "result": result,
        "before": before,
        "after": after,
        "ip": ip,
    }
    return append_audit_entries(store, [entry])[0][0]


def record(
    store: Store,
    actor: Actor,
    at: datetime,
    action: str,
    object: str | None = None,
    result: str = "ok",
    before: Any = None,
    after: Any = None,
) -> int:
    """Append an entry for ``actor`` (shorthand for :func:`append_audit`)."""
    return append_audit(
        store,
        at=at,
        actor=actor.name,
        role=actor.role,
        action=action,
        object=object,
        result=result,
        before=before,
        after=after,
        ip=actor.ip,
    )


def audit_head(store: Store) -> tuple[int, str] | None:
    """The latest (seq, hash), to record outside the store; None while the log is empty."""
    rows = store.rows("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    return (int(rows[0][0]), rows[0][1]) if rows else None


def anchors(store: Store) -> list[dict[str, Any]]:
    """Archives of old entries, oldest first (see :mod:`mujun.auth.audit_archive`)."""
    cur = store.con.execute(
        "SELECT archive_id, first_seq, last_seq, last_hash, entries, cutoff, file_name, "
        "file_sha256, archived_at, archived_by FROM audit_anchors ORDER BY archive_id"
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _check_anchors(store: Store, found: list[dict[str, Any]], problems: list[str]) -> None:
    """Archives must cover seq 1.. without gaps, and the newest must be recorded in the log."""
    expected = 1
    for a in found:
        if a["first_seq"] != expected:
            problems.append(
                f"归档 {a['archive_id']} 应从第 {expected} 条开始，实为第 {a['first_seq']} 条 / "
                f"archive {a['archive_id']} should start at entry {expected}"
            )
        expected = a["last_seq"] + 1
    if not found:
        return
    last = found[-1]
    # The archive's own entry (appended right after it) vouches for the anchor: a forged or
    # edited anchor no longer matches it, and that entry is itself in the hash chain.
    vouched = store.scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'audit.archive' AND seq > ? "
        "AND json_extract_string(after, '$.archive_id')::INTEGER = ? "
        "AND json_extract_string(after, '$.last_seq')::BIGINT = ? "
        "AND json_extract_string(after, '$.last_hash') = ? "
        "AND json_extract_string(after, '$.file_sha256') = ?",
        [
            last["last_seq"],
            last["archive_id"],
            last["last_seq"],
            last["last_hash"],
            last["file_sha256"],
        ],
    )
    if not vouched:
        problems.append(
            f"归档锚点 {last['archive_id']} 与审计日志中的归档记录不符 / archive anchor "
            f"{last['archive_id']} does not match its audit.archive entry"
        )


def verify_audit_chain(store: Store, expect_head: tuple[int, str] | None = None) -> list[str]:
    """Problems in the audit log: edited, deleted or re-ordered rows (empty when intact).

    Entries archived out of the store (:func:`mujun.auth.audit_archive.archive_audit`) are
    replaced by their anchor: the chain continues from the hash of the last archived entry."""
    problems: list[str] = []
    found = anchors(store)
    _check_anchors(store, found, problems)
    expected_seq, prev = (
        (found[-1]["last_seq"] + 1, found[-1]["last_hash"]) if found else (1, GENESIS)
    )
    cur = store.stream(f"SELECT {_COLUMNS}, prev_hash, hash FROM audit_log ORDER BY seq")
    last: tuple[int, str] | None = None
    while batch := cur.fetchmany(10_000):
        for *row, prev_hash, stored in batch:
            seq = int(row[0])
            if seq != expected_seq:
                problems.append(
                    f"第 {expected_seq}–{seq - 1} 条审计记录缺失（被删除）/ "
                    f"entries {expected_seq}..{seq - 1} missing (deleted)"
                )
            if prev_hash != prev:
                problems.append(
                    f"第 {seq} 条的前序哈希与上一条不符 / entry {seq}: chain broken before it"
                )
            if entry_hash(tuple(row), prev_hash) != stored:
                problems.append(f"第 {seq} 条内容被修改 / entry {seq}: content does not match hash")
            expected_seq, prev, last = seq + 1, stored, (seq, stored)
    if expect_head is not None:
        head_seq, head_hash = expect_head
        if last is None or last[0] < head_seq:
            problems.append(
                f"审计日志末尾缺少记录（应至少到第 {head_seq} 条）/ entries missing at the end "
                f"(expected up to {head_seq})"
            )
        elif store.scalar("SELECT hash FROM audit_log WHERE seq = ?", [head_seq]) != head_hash:
            problems.append(
                f"第 {head_seq} 条与记录的哈希不符，日志被重写 / entry {head_seq} differs from "
                "the recorded head: the log was rewritten"
            )
    return problems


def list_audit(
    store: Store,
    *,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[AuditEntry]]:
    """Entries matching the filters, newest first, and how many match in all."""
    cond, params = ["TRUE"], []
    for sql, value in (
        ("actor = ?", actor),
        ("action LIKE ? || '%'", action),
        ("logged_at >= ?", since),
        ("logged_at < ?", until),
    ):
        if value is not None:
            cond.append(sql)
            params.append(value)
    where = " AND ".join(cond)
    total = int(store.scalar(f"SELECT count(*) FROM audit_log WHERE {where}", params))
    rows = store.rows(
        f"SELECT {_COLUMNS}, prev_hash, hash FROM audit_log WHERE {where} "
        "ORDER BY seq DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    entries = [
        AuditEntry(
            int(r[0]),
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            json.loads(r[7]) if r[7] is not None else None,
            json.loads(r[8]) if r[8] is not None else None,
            r[9],
            r[10],
            r[11],
        )
        for r in rows
    ]
    return total, entries

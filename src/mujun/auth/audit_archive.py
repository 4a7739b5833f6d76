"""Export of the audit log (CSV, Excel: every value as text) and archiving of old entries.

Entries are never deleted silently. Once older than the retention (``audit_retention_days``,
at least 180), the oldest entries may be *archived*: written to a JSON Lines file holding every
column (so the file can be verified on its own), the file's SHA-256 and the hash of its last
entry recorded as an anchor in ``audit_anchors``, the entries removed from the store, and an
``audit.archive`` entry appended. The remaining chain then starts from the anchor and still
verifies; the newest anchor is vouched for by its ``audit.archive`` entry in the chain.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mujun.auth.audit import _COLUMNS, GENESIS, Actor, anchors, entry_hash, record
from mujun.auth.settings import MIN_AUDIT_RETENTION_DAYS
from mujun.errors import InputError
from mujun.store import Store

HEADER = (
    "序号 seq",
    "时间(UTC) logged_at",
    "操作者 actor",
    "角色 role",
    "操作 action",
    "对象 object",
    "结果 result",
    "变更前 before",
    "变更后 after",
    "地址 ip",
    "前序哈希 prev_hash",
    "哈希 hash",
)


def audit_filter(
    *,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[str, list]:
    """SQL condition and parameters for the audit filters (``action`` is a prefix)."""
    cond, params = ["TRUE"], []
    for sql, value in (
        ("actor = ?", actor),
        ("action LIKE ? || '%'", action),
        ("logged_at >= ?", since),
        ("logged_at < ?", until),
    ):
        if value is not None and value != "":
            cond.append(sql)
            params.append(value)
    return " AND ".join(cond), params


def _rows(store: Store, where: str, params: list) -> Iterator[tuple]:
    cur = store.stream(
        f"SELECT {_COLUMNS}, prev_hash, hash FROM audit_log WHERE {where} ORDER BY seq", params
    )
    while batch := cur.fetchmany(10_000):
        yield from batch


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    return str(value)


def export_audit(store: Store, out: Path, **filters: Any) -> int:
    """Write the entries matching ``filters`` (oldest first) to ``out`` (.csv or .xlsx), every
    value as text so credit codes and hashes keep every digit; return how many."""
    where, params = audit_filter(**filters)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InputError(f"导出文件须为 .csv 或 .xlsx：{out.name} / export to .csv or .xlsx")
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    if suffix == ".csv":
        with out.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(HEADER)
            for row in _rows(store, where, params):
                writer.writerow([_text(v) for v in row])
                n += 1
        return n
    import xlsxwriter

    with xlsxwriter.Workbook(str(out), {"constant_memory": True}) as book:
        sheet = book.add_worksheet("审计日志")
        text = book.add_format({"num_format": "@"})
        sheet.write_row(0, 0, HEADER)
        for i, row in enumerate(_rows(store, where, params), start=1):
            for j, value in enumerate(row):
                # write_string: an 18-digit credit code in an object stays text, never 9.1E+17.
                sheet.write_string(i, j, _text(value), text)
            n += 1
        for col, width in enumerate((8, 26, 22, 14, 22, 40, 24, 30, 30, 14, 20, 20)):
            sheet.set_column(col, col, width)
    return n


def archive_cutoff(now: datetime, retention_days: int) -> datetime:
    """Entries logged before this may be archived; refuses retentions under 180 days."""
    if retention_days < MIN_AUDIT_RETENTION_DAYS:
        raise InputError(
            f"审计日志至少保存 {MIN_AUDIT_RETENTION_DAYS} 天，不能按 {retention_days} 天归档 / "
            f"the retention must be at least {MIN_AUDIT_RETENTION_DAYS} days; got {retention_days}"
        )
    return now - timedelta(days=retention_days)


def archive_audit(
    store: Store,
    archive_dir: Path,
    *,
    now: datetime,
    retention_days: int,
    actor: Actor,
) -> dict[str, Any] | None:
    """Archive the oldest entries logged before the retention cut-off (as one contiguous run
    from the start of the log) to a JSON Lines file; return the anchor, or None when no entry
    is old enough. Call it from the store's one writer."""
    cutoff = archive_cutoff(now, retention_days)
    found = anchors(store)
    first = found[-1]["last_seq"] + 1 if found else 1
    # Only a prefix of the log can go: up to the first entry that is still within retention.
    young = store.scalar("SELECT min(seq) FROM audit_log WHERE logged_at >= ?", [cutoff])
    last = store.scalar(
        "SELECT max(seq) FROM audit_log WHERE seq < coalesce(?, 9223372036854775807)", [young]
    )
    if last is None or last < first:
        return None
    archive_id = (found[-1]["archive_id"] + 1) if found else 1
    archive_dir.mkdir(parents=True, exist_ok=True)
    path = archive_dir / f"audit-archive-{archive_id:04d}-{first}-{last}.jsonl"
    digest = hashlib.sha256()
    entries, last_hash = 0, None
    with path.open("wb") as f:
        for row in _rows(store, "seq BETWEEN ? AND ?", [first, last]):
            line = json.dumps(_archive_record(row), ensure_ascii=False, sort_keys=True) + "\n"
            data = line.encode("utf-8")
            f.write(data)
            digest.update(data)
            entries, last_hash = entries + 1, row[-1]
    anchor = {
        "archive_id": archive_id,
        "first_seq": first,
        "last_seq": int(last),
        "last_hash": last_hash,
        "entries": entries,
        "cutoff": cutoff,
        "file_name": path.name,
        "file_sha256": digest.hexdigest(),
        "archived_at": now,
        "archived_by": actor.name,
    }
    try:
        with store.transaction():
            store.execute(
                "INSERT INTO audit_anchors VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                list(anchor.values()),
            )
            store.execute("DELETE FROM audit_log WHERE seq BETWEEN ? AND ?", [first, last])
            record(
                store,
                actor,
                now,
                "audit.archive",
                f"audit:{first}-{last}",
                after={
                    k: anchor[k]
                    for k in (
                        "archive_id",
                        "first_seq",
                        "last_seq",
                        "last_hash",
                        "entries",
                        "file_name",
                        "file_sha256",
                        "cutoff",
                    )
                },
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return anchor


def _archive_record(row: tuple) -> dict[str, Any]:
    seq, at, actor, role, action, obj, result, before, after, ip, prev_hash, hash_ = row
    return {
        "seq": int(seq),
        "logged_at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "role": role,
        "action": action,
        "object": obj,
        "result": result,
        "before": before,
        "after": after,
        "ip": ip,
        "prev_hash": prev_hash,
        "hash": hash_,
    }


def verify_archives(store: Store, archive_dir: Path) -> list[str]:
    """Check every anchored archive file: present, its SHA-256, and the chain inside it from
    the previous anchor to the anchor's last hash."""
    problems: list[str] = []
    prev = GENESIS
    for a in anchors(store):
        path = archive_dir / a["file_name"]
        if not path.is_file():
            problems.append(f"归档文件缺失 / archive file missing: {path}")
            prev = a["last_hash"]
            continue
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != a["file_sha256"]:
            problems.append(
                f"归档文件 {a['file_name']} 的 SHA-256 与锚点不符（被修改）/ archive file "
                f"{a['file_name']} does not match its anchor's SHA-256"
            )
        expected_seq = a["first_seq"]
        for line in data.decode("utf-8").splitlines():
            e = json.loads(line)
            row = (
                e["seq"],
                datetime.fromisoformat(e["logged_at"]),
                e["actor"],
                e["role"],
                e["action"],
                e["object"],
                e["result"],
                e["before"],
                e["after"],
                e["ip"],
            )
            if e["seq"] != expected_seq or e["prev_hash"] != prev:
                problems.append(
                    f"{a['file_name']}: 第 {e['seq']} 条链接断开 / entry {e['seq']}: chain broken"
                )
            if entry_hash(row, e["prev_hash"]) != e["hash"]:
                problems.append(
                    f"{a['file_name']}: 第 {e['seq']} 条内容被修改 / entry {e['seq']} edited"
                )
            expected_seq, prev = e["seq"] + 1, e["hash"]
        if prev != a["last_hash"] or expected_seq != a["last_seq"] + 1:
            problems.append(
                f"{a['file_name']}: 末条与锚点不符 / the file does not end at the anchor's entry"
            )
        prev = a["last_hash"]
    return problems

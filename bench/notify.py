"""Benchmark: notifications and SMS at province scale, SMS login codes, and the audit export.

A synthetic store with 112,879 enterprise accounts (half with a designated phone) and one run
holding all their firms: time the notice of a publication to every firm (in-app rows plus SMS
rows in the outbox, one transaction), the unread count the top bar reads on every page, a burst
of SMS login code requests and logins, and the export of the resulting audit log to Excel.
Best of 3 for each; the machine may be shared, so read the figures as indications.

    .venv/bin/python bench/notify.py [--firms 112879]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa

from mujun.auth.audit_archive import export_audit
from mujun.auth.settings import AuthSettings
from mujun.auth.sms_login import log_in_with_code, request_login_code
from mujun.notifications import notify_publication, unread_count
from mujun.store import open_store

NOW = datetime(2030, 1, 7, 9, 0, 0)


def build(db: Path, n: int) -> list[str]:
    """n enterprise accounts (every other one with a phone) and a run with their firms."""
    codes = [f"91330102MA{i:08d}" for i in range(n)]
    with open_store(db) as store:
        store.insert_arrow(
            "users",
            pa.table(
                {
                    "username": codes,
                    "role": ["enterprise"] * n,
                    "uscc": codes,
                    "password_hash": ["x"] * n,
                    "must_change_password": [False] * n,
                    "failed_logins": pa.array([0] * n, pa.int32()),
                    "disabled": [False] * n,
                    "created_at": pa.array([NOW] * n, pa.timestamp("us")),
                    "phone": [f"138{i:08d}" if i % 2 == 0 else None for i in range(n)],
                }
            ),
        )
        store.insert_arrow(
            "results",
            pa.table(
                {
                    "run_id": ["E2030-0001"] * n,
                    "year": pa.array([2030] * n, pa.int32()),
                    "uscc": codes,
                    "status": ["classified"] * n,
                    "county_code": ["330102"] * n,
                    "city_code": ["330100"] * n,
                }
            ),
        )
    return codes


def best_of(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--firms", type=int, default=112_879)
    args = parser.parse_args()
    settings = AuthSettings(sms_resend_seconds=10, sms_max_codes_per_hour=1000)
    with tempfile.TemporaryDirectory(prefix="mujun-bench-notify-") as tmp:
        db = Path(tmp) / "n.duckdb"
        codes = build(db, args.firms)
        with open_store(db) as store:
            publication = {
                "publication_id": 1,
                "run_id": "E2030-0001",
                "title": "2030年度亩均效益综合评价结果公示",
                "window_start": "2030-01-08",
                "window_end": "2030-01-14",
                "contact_phone": "0571-00000000",
            }

            def publish() -> None:
                with store.transaction():
                    notify_publication(store, publication, NOW, settings)

            t_notify = best_of(publish)
            notices = store.scalar("SELECT count(*) FROM notifications")
            sms = store.scalar("SELECT count(*) FROM sms_outbox")
            t_unread = best_of(lambda: [unread_count(store, c) for c in codes[:1000]]) / 1000

            clock = [NOW]

            def logins() -> None:
                clock[0] += timedelta(minutes=1)
                for c in codes[:200:2]:
                    request_login_code(store, c, now=clock[0], settings=settings)
                    text = store.scalar(
                        "SELECT text FROM sms_outbox WHERE username = ? ORDER BY message_id DESC "
                        "LIMIT 1",
                        [c],
                    )
                    code = re.search(r"(\d{6})", text).group(1)
                    ok = log_in_with_code(store, c, code, now=clock[0], settings=settings)
                    assert ok.result.user is not None

            t_login = best_of(logins) / 100
            entries = store.scalar("SELECT count(*) FROM audit_log")
            out = Path(tmp) / "audit.xlsx"
            t_export = best_of(lambda: export_audit(store, out), runs=1)
    print(f"firms: {args.firms:,}")
    print(
        f"publication notice to every firm: {t_notify:.2f} s best of 3 "
        f"({notices // 3:,} notifications and {sms // 3:,} SMS per run)"
    )
    print(f"unread count (top bar, per page): {1000 * t_unread:.2f} ms")
    print(f"SMS login (code request + login, store only): {1000 * t_login:.1f} ms per login")
    print(f"audit export to Excel: {entries:,} entries in {t_export:.2f} s")
    print("(best of 3; the machine is shared with other engineers' tests and benchmarks)")


if __name__ == "__main__":
    main()

"""The DuckDB store: the only module that opens DuckDB. Schema, migrations and bulk writes.

One writer at a time: DuckDB allows one read-write process, so a second writer gets a
:class:`StoreBusyError` with a plain message instead of DuckDB's lock error.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from mujun.errors import StoreBusyError, StoreError

# Offline by principle (design.md §6): never download or auto-load an extension.
OFFLINE_CONFIG = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}

# Column option for near-unique strings (credit codes, names, parcel and meter numbers).
# DuckDB's own choice for them, dictionary + FSST, saves little on values that hardly repeat
# and was the costliest part of writing a province's files and of scanning them again in
# validation (ingest + validate of one year ≈ 0.25 s faster plain); one year's store grows
# from 48 to 89 MB, and the web's per-request cost is unchanged (docs/ingest.md). Codes of a
# few values (county, industry, tenure) keep DuckDB's choice, which shrinks them 4-7 times
# for almost nothing.
PLAIN_STRINGS = " USING COMPRESSION uncompressed"

# Rows per row group of the tables written to the store. A row group is DuckDB's unit of
# parallel work, both for scans and for compressing data at commit and checkpoint. With the
# default (122,880 rows) a department file of a whole province (40,000–150,000 rows) is one or
# two row groups, so its writes and scans use one core; at 32,768 they use every core
# (measured in docs/ingest.md, Performance). The size is an option of ATTACH, not of the file:
# every store opened here is attached with it.
ROW_GROUP_SIZE = 32_768
CATALOG = "store"


@dataclass(frozen=True)
class Migration:
    """One schema step; applied once, in order, and recorded in ``schema_migrations``."""

    version: int
    name: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "ingest and validation tables",
        """
        CREATE SEQUENCE IF NOT EXISTS file_id_seq START 1;
        CREATE SEQUENCE IF NOT EXISTS change_id_seq START 1;
        CREATE TABLE files (
            file_id INTEGER PRIMARY KEY,
            year INTEGER NOT NULL,
            source VARCHAR,
            path VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            format VARCHAR NOT NULL,
            encoding VARCHAR,
            sheet VARCHAR,
            title_rows INTEGER,
            header_rows INTEGER,
            rows_total INTEGER,
            rows_read INTEGER,
            rows_stored INTEGER,
            rows_quarantined INTEGER,
            rows_skipped INTEGER,
            columns JSON,
            units JSON,
            status VARCHAR NOT NULL,
            version INTEGER,
            superseded_by INTEGER,
            ingested_at TIMESTAMP NOT NULL
        );
        CREATE TABLE slot_changes (
            change_id INTEGER PRIMARY KEY,
            year INTEGER NOT NULL,
            source VARCHAR NOT NULL,
            old_file_id INTEGER,
            new_file_id INTEGER NOT NULL,
            old_name VARCHAR,
            new_name VARCHAR NOT NULL,
            old_rows INTEGER,
            new_rows INTEGER,
            changed_at TIMESTAMP NOT NULL
        );
        CREATE TABLE skipped_rows (
            file_id INTEGER NOT NULL,
            row_no INTEGER NOT NULL,
            kind VARCHAR NOT NULL,
            text VARCHAR
        );
        CREATE TABLE quarantine (
            file_id INTEGER NOT NULL,
            year INTEGER NOT NULL,
            source VARCHAR NOT NULL,
            row_no INTEGER NOT NULL,
            codes VARCHAR NOT NULL,
            raw JSON NOT NULL
        );
        CREATE TABLE issues (
            year INTEGER NOT NULL,
            stage VARCHAR NOT NULL,
            source VARCHAR,
            file_id INTEGER,
            file VARCHAR,
            sheet VARCHAR,
            row_no INTEGER,
            column_name VARCHAR,
            field VARCHAR,
            value VARCHAR,
            code VARCHAR NOT NULL,
            severity VARCHAR NOT NULL,
            message VARCHAR NOT NULL,
            uscc VARCHAR,
            suggestion VARCHAR
        );
        CREATE TABLE match_report (
            year INTEGER NOT NULL,
            source VARCHAR NOT NULL,
            file_id INTEGER,
            file VARCHAR,
            rows_stored INTEGER,
            firms INTEGER,
            matched INTEGER,
            unmatched INTEGER,
            duplicate_rows INTEGER,
            duplicate_keys INTEGER,
            missing_enterprises INTEGER,
            quarantined INTEGER
        );
        CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY,
            kind VARCHAR NOT NULL,
            year INTEGER,
            status VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR,
            rules_hash VARCHAR,
            params JSON,
            summary JSON
        );
        """,
    ),
)

MIGRATIONS += (
    Migration(
        2,
        "evaluation results",
        """
        CREATE TABLE rule_sets (
            rules_hash VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            version VARCHAR NOT NULL,
            region VARCHAR,
            body JSON NOT NULL
        );
        CREATE TABLE run_rules (
            run_id VARCHAR NOT NULL,
            county_code VARCHAR NOT NULL,
            rules_hash VARCHAR NOT NULL
        );
        CREATE TABLE results (
            run_id VARCHAR NOT NULL,
            year INTEGER NOT NULL,
            uscc VARCHAR NOT NULL,
            name VARCHAR,
            county_code VARCHAR,
            city_code VARCHAR,
            industry_code VARCHAR,
            size VARCHAR,
            category VARCHAR,
            status VARCHAR NOT NULL,
            status_reason VARCHAR,
            cohort VARCHAR,
            rules_hash VARCHAR,
            land_mu DOUBLE,
            land_rule VARCHAR,
            composite_total DOUBLE,
            bonus DOUBLE,
            penalty DOUBLE,
            total DOUBLE,
            band_class VARCHAR,
            class VARCHAR,
            class_name VARCHAR,
            rank INTEGER,
            cohort_size INTEGER,
            percentile DOUBLE,
            cap VARCHAR,
            floor VARCHAR,
            adjust_reason VARCHAR,
            limit_reason VARCHAR,
            imputed VARCHAR,
            zeroed VARCHAR,
            tenant_of VARCHAR,
            flags VARCHAR,
            reasons VARCHAR
        );
        CREATE TABLE result_items (
            run_id VARCHAR NOT NULL,
            uscc VARCHAR NOT NULL,
            indicator VARCHAR NOT NULL,
            name VARCHAR,
            unit VARCHAR,
            value DOUBLE,
            benchmark DOUBLE,
            score DOUBLE,
            weight DOUBLE,
            imputed BOOLEAN
        );
        """,
    ),
)

MIGRATIONS += (
    Migration(
        3,
        "accounts, sessions and the audit log",
        # Times are naive UTC. sessions.session_id is the SHA-256 of the cookie token, so a copy
        # of the store does not hand out live sessions. audit_log is append-only by convention
        # (mujun.auth.audit offers no update or delete) and hash-chained to detect tampering.
        """
        CREATE TABLE users (
            username VARCHAR PRIMARY KEY,
            display_name VARCHAR,
            role VARCHAR NOT NULL,
            scope VARCHAR,
            department VARCHAR,
            uscc VARCHAR,
            password_hash VARCHAR NOT NULL,
            must_change_password BOOLEAN NOT NULL,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            locked_until TIMESTAMP,
            disabled BOOLEAN NOT NULL DEFAULT FALSE,
            password_changed_at TIMESTAMP,
            last_login_at TIMESTAMP,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR
        );
        CREATE TABLE sessions (
            session_id VARCHAR PRIMARY KEY,
            username VARCHAR NOT NULL,
            csrf_token VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            last_seen TIMESTAMP NOT NULL,
            expires_at TIMESTAMP NOT NULL,
            ip VARCHAR,
            user_agent VARCHAR
        );
        CREATE TABLE audit_log (
            seq BIGINT PRIMARY KEY,
            logged_at TIMESTAMP NOT NULL,
            actor VARCHAR NOT NULL,
            role VARCHAR,
            action VARCHAR NOT NULL,
            object VARCHAR,
            result VARCHAR NOT NULL,
            before JSON,
            after JSON,
            ip VARCHAR,
            prev_hash VARCHAR NOT NULL,
            hash VARCHAR NOT NULL
        );
        CREATE TABLE app_secrets (
            name VARCHAR PRIMARY KEY,
            value VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL
        );
        """,
    ),
)

MIGRATIONS += (
    Migration(
        4,
        "publication, confirmations and objections, overrides, uploads",
        # Runs stay immutable: a publication, a confirmation or an accepted correction is a row
        # here, never an edit of results or facts. overrides holds the corrected facts one run
        # was evaluated with (the original facts are untouched). Evidence files live in the store
        # (evidence.data) with their SHA-256, so a correction and its proof are one transaction.
        """
        CREATE SEQUENCE IF NOT EXISTS publication_id_seq START 1;
        CREATE SEQUENCE IF NOT EXISTS confirmation_id_seq START 1;
        CREATE SEQUENCE IF NOT EXISTS evidence_id_seq START 1;
        CREATE SEQUENCE IF NOT EXISTS upload_id_seq START 1;
        CREATE TABLE publications (
            publication_id INTEGER PRIMARY KEY,
            run_id VARCHAR NOT NULL,
            region VARCHAR NOT NULL,
            title VARCHAR NOT NULL,
            window_start DATE NOT NULL,
            window_end DATE NOT NULL,
            basis JSON NOT NULL,
            contact_phone VARCHAR NOT NULL,
            procedure VARCHAR NOT NULL,
            counts JSON NOT NULL,
            annex_dir VARCHAR,
            annexes JSON,
            published_at TIMESTAMP NOT NULL,
            published_by VARCHAR NOT NULL,
            finalised_at TIMESTAMP,
            finalised_by VARCHAR
        );
        CREATE TABLE confirmation_rounds (
            run_id VARCHAR NOT NULL,
            stage VARCHAR NOT NULL,
            opened_at TIMESTAMP NOT NULL,
            opened_by VARCHAR NOT NULL,
            closes_on DATE,
            PRIMARY KEY (run_id, stage)
        );
        CREATE TABLE evidence (
            evidence_id INTEGER PRIMARY KEY,
            filename VARCHAR NOT NULL,
            content_type VARCHAR NOT NULL,
            size INTEGER NOT NULL,
            sha256 VARCHAR NOT NULL,
            data BLOB NOT NULL,
            uploaded_at TIMESTAMP NOT NULL,
            uploaded_by VARCHAR NOT NULL
        );
        CREATE TABLE confirmations (
            confirmation_id INTEGER PRIMARY KEY,
            run_id VARCHAR NOT NULL,
            year INTEGER NOT NULL,
            uscc VARCHAR NOT NULL,
            field VARCHAR NOT NULL,
            phase VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            original_value DOUBLE,
            proposed_value DOUBLE,
            reason VARCHAR,
            evidence_id INTEGER,
            filed_at TIMESTAMP NOT NULL,
            filed_by VARCHAR NOT NULL,
            accepted_value DOUBLE,
            note VARCHAR,
            reviewed_at TIMESTAMP,
            reviewed_by VARCHAR
        );
        CREATE TABLE overrides (
            run_id VARCHAR NOT NULL,
            year INTEGER NOT NULL,
            uscc VARCHAR NOT NULL,
            field VARCHAR NOT NULL,
            value DOUBLE,
            original_value DOUBLE,
            confirmation_id INTEGER NOT NULL,
            base_run_id VARCHAR NOT NULL,
            PRIMARY KEY (run_id, uscc, field)
        );
        CREATE TABLE uploads (
            upload_id INTEGER PRIMARY KEY,
            year INTEGER NOT NULL,
            department VARCHAR,
            filename VARCHAR NOT NULL,
            size BIGINT,
            sha256 VARCHAR,
            status VARCHAR NOT NULL,
            message VARCHAR,
            file_ids JSON,
            report JSON,
            stored_path VARCHAR,
            uploaded_at TIMESTAMP NOT NULL,
            uploaded_by VARCHAR NOT NULL,
            finished_at TIMESTAMP
        );
        """,
    ),
)

MIGRATIONS += (
    Migration(
        6,
        "designated phones, SMS codes and outbox, notifications, audit archive anchors",
        # sms_codes keeps only a keyed hash of each code (HMAC with a stored secret: a plain hash
        # of 6 digits is reversed by trying the million codes). sms_outbox is every SMS the
        # platform sent, whatever the driver; the "outbox" driver stops there for an operator
        # to read. audit_anchors records each archive of old audit entries: the hash of the last
        # archived entry (so the remaining chain still verifies) and the archive file's SHA-256.
        """
        ALTER TABLE users ADD COLUMN phone VARCHAR;
        CREATE SEQUENCE IF NOT EXISTS sms_code_id_seq START 1;
        CREATE SEQUENCE IF NOT EXISTS sms_message_id_seq START 1;
        CREATE SEQUENCE IF NOT EXISTS notification_id_seq START 1;
        CREATE TABLE sms_codes (
            code_id BIGINT PRIMARY KEY,
            username VARCHAR NOT NULL,
            purpose VARCHAR NOT NULL,
            code_hash VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            expires_at TIMESTAMP NOT NULL,
            used_at TIMESTAMP,
            attempts INTEGER NOT NULL DEFAULT 0,
            message_id BIGINT,
            ip VARCHAR
        );
        CREATE TABLE sms_outbox (
            message_id BIGINT PRIMARY KEY,
            created_at TIMESTAMP NOT NULL,
            username VARCHAR,
            phone VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            text VARCHAR NOT NULL,
            driver VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            tries INTEGER NOT NULL DEFAULT 0,
            sent_at TIMESTAMP,
            error VARCHAR
        );
        CREATE TABLE notifications (
            notification_id BIGINT PRIMARY KEY,
            username VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            title VARCHAR NOT NULL,
            body VARCHAR,
            link VARCHAR,
            ref VARCHAR,
            created_at TIMESTAMP NOT NULL,
            read_at TIMESTAMP
        );
        CREATE INDEX notifications_user ON notifications (username);
        CREATE TABLE audit_anchors (
            archive_id INTEGER PRIMARY KEY,
            first_seq BIGINT NOT NULL,
            last_seq BIGINT NOT NULL,
            last_hash VARCHAR NOT NULL,
            entries BIGINT NOT NULL,
            cutoff TIMESTAMP NOT NULL,
            file_name VARCHAR NOT NULL,
            file_sha256 VARCHAR NOT NULL,
            archived_at TIMESTAMP NOT NULL,
            archived_by VARCHAR NOT NULL
        );
        """,
    ),
    Migration(
        7,
        "run states: in confirmation, superseded publications",
        # Statuses are explicit: a draft opened for confirmation is 'confirming'; a published or
        # final run replaced by a later publication of the same year and region is
        # 'superseded', and its notice records when and by which run (kept, never removed).
        """
        ALTER TABLE publications ADD COLUMN superseded_at TIMESTAMP;
        ALTER TABLE publications ADD COLUMN superseded_by VARCHAR;
        ALTER TABLE publications ADD COLUMN superseded_by_publication INTEGER;
        UPDATE runs SET status = 'confirming' WHERE status = 'draft'
            AND run_id IN (SELECT run_id FROM confirmation_rounds);
        """,
    ),
)

MIGRATIONS += (
    Migration(
        10,
        "low-efficiency lists and cases",
        # loweff_lists: one row per identification (the rules it used, kept whole). loweff_entries:
        # the current list of each year, one row per firm (listed, or followed: an open case the
        # rules no longer hit). loweff_cases: a firm's case across years with its status;
        # loweff_events: every status change (append-only, also in the audit log).
        """
        CREATE SEQUENCE IF NOT EXISTS loweff_list_id_seq START 1;
        CREATE SEQUENCE IF NOT EXISTS loweff_event_id_seq START 1;
        CREATE TABLE loweff_lists (
            list_id INTEGER PRIMARY KEY,
            year INTEGER NOT NULL,
            run_id VARCHAR NOT NULL,
            region VARCHAR NOT NULL,
            rules_hash VARCHAR NOT NULL,
            rules_name VARCHAR NOT NULL,
            rules_body JSON NOT NULL,
            summary JSON,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR NOT NULL
        );
        CREATE TABLE loweff_cases (
            case_id INTEGER NOT NULL,
            uscc VARCHAR NOT NULL,
            name VARCHAR,
            county_code VARCHAR,
            city_code VARCHAR,
            status VARCHAR NOT NULL,
            status_date DATE,
            land_freed_mu DOUBLE,
            land_mu DOUBLE,
            first_year INTEGER,
            last_year INTEGER,
            last_listed_year INTEGER,
            last_listed BOOLEAN,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL
        );
        CREATE TABLE loweff_entries (
            year INTEGER NOT NULL,
            uscc VARCHAR NOT NULL,
            case_id INTEGER NOT NULL,
            list_id INTEGER NOT NULL,
            listed BOOLEAN NOT NULL,
            name VARCHAR,
            county_code VARCHAR,
            city_code VARCHAR,
            industry_code VARCHAR,
            size VARCHAR,
            "class" VARCHAR,
            land_mu DOUBLE,
            total DOUBLE,
            hits VARCHAR,
            hit_names VARCHAR,
            figures JSON
        );
        CREATE TABLE loweff_events (
            event_id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL,
            from_status VARCHAR NOT NULL,
            to_status VARCHAR NOT NULL,
            event_date DATE NOT NULL,
            note VARCHAR NOT NULL,
            land_freed_mu DOUBLE,
            actor VARCHAR NOT NULL,
            role VARCHAR,
            recorded_at TIMESTAMP NOT NULL
        );
        """,
    ),
)

MIGRATIONS += (
    Migration(
        9,
        "robustness of classes and paths to the next class",
        # One row per analysis (`mujun robustness RUN`); per firm its class probabilities (JSON
        # {class: p}, "" = not classified), rank quantiles and the fragile flag; averaged Sobol
        # indices and leave-one-out shifts per size class; per firm × lever its path.
        """
        CREATE TABLE robustness_analyses (
            analysis_id VARCHAR PRIMARY KEY,
            run_id VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR,
            settings JSON NOT NULL,
            summary JSON
        );
        CREATE TABLE robustness_firms (
            analysis_id VARCHAR NOT NULL,
            run_id VARCHAR NOT NULL,
            uscc VARCHAR NOT NULL,
            "class" VARCHAR,
            p_class DOUBLE,
            probs JSON,
            rank INTEGER,
            rank_p05 DOUBLE,
            rank_p50 DOUBLE,
            rank_p95 DOUBLE,
            cohort_size INTEGER,
            fragile BOOLEAN NOT NULL
        );
        CREATE TABLE robustness_sensitivity (
            analysis_id VARCHAR NOT NULL,
            rules_hash VARCHAR NOT NULL,
            size VARCHAR NOT NULL,
            output VARCHAR NOT NULL,
            indicator VARCHAR NOT NULL,
            name VARCHAR,
            s1 DOUBLE,
            st DOUBLE,
            firms INTEGER,
            evaluations INTEGER
        );
        CREATE TABLE robustness_leave_out (
            analysis_id VARCHAR NOT NULL,
            rules_hash VARCHAR NOT NULL,
            size VARCHAR NOT NULL,
            indicator VARCHAR NOT NULL,
            name VARCHAR,
            mean_rank_shift DOUBLE,
            class_changes INTEGER,
            firms INTEGER
        );
        CREATE TABLE firm_paths (
            analysis_id VARCHAR NOT NULL,
            run_id VARCHAR NOT NULL,
            uscc VARCHAR NOT NULL,
            "class" VARCHAR,
            target_class VARCHAR,
            lever VARCHAR NOT NULL,
            lever_name VARCHAR,
            lever_name_en VARCHAR,
            unit VARCHAR,
            status VARCHAR NOT NULL,
            reason VARCHAR,
            current_value DOUBLE,
            required_value DOUBLE,
            shown_value DOUBLE,
            indicator VARCHAR,
            indicator_now DOUBLE,
            indicator_new DOUBLE
        );
        """,
    ),
)


MIGRATIONS += (
    Migration(
        8,
        "policy ledger",
        # One application = one policy set applied to one run; re-applying the same policy set
        # replaces its rows. amount_wan is seen from the firm (+ pays, − saves); quota cuts have
        # their amount in amount_unit (吨标煤, 吨) and no amount_wan.
        """
        CREATE TABLE policy_sets (
            policy_hash VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            version VARCHAR NOT NULL,
            region VARCHAR,
            body JSON NOT NULL
        );
        CREATE TABLE policy_applications (
            run_id VARCHAR NOT NULL,
            policy_hash VARCHAR NOT NULL,
            year INTEGER NOT NULL,
            applied_at TIMESTAMP NOT NULL,
            applied_by VARCHAR,
            firms INTEGER NOT NULL,
            ledger_rows INTEGER NOT NULL,
            previous_runs JSON,
            PRIMARY KEY (run_id, policy_hash)
        );
        CREATE TABLE policy_ledger (
            run_id VARCHAR NOT NULL,
            policy_hash VARCHAR NOT NULL,
            year INTEGER NOT NULL,
            period VARCHAR NOT NULL,
            uscc VARCHAR NOT NULL,
            name VARCHAR,
            county_code VARCHAR,
            city_code VARCHAR,
            industry_code VARCHAR,
            size VARCHAR,
            class VARCHAR NOT NULL,
            consecutive_years INTEGER NOT NULL,
            lever VARCHAR NOT NULL,
            lever_name VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            base_quantity DOUBLE,
            base_unit VARCHAR,
            rate DOUBLE,
            rate_unit VARCHAR,
            amount DOUBLE,
            amount_unit VARCHAR,
            amount_wan DOUBLE,
            rule VARCHAR NOT NULL
        );
        """,
    ),
)

# Migrations are applied by version membership and numbers may have gaps (several branches add
# theirs in parallel), so the schema version is the highest number, not the last one listed.
SCHEMA_VERSION = max(m.version for m in MIGRATIONS)


class Store:
    """An open DuckDB store with the schema migrated to :data:`SCHEMA_VERSION`."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        path: Path,
        read_only: bool,
        release: tuple[str, bool] | None = None,
    ) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only
        self._depth = 0
        self._release = release

    # -- queries ---------------------------------------------------------------------------
    def stream(self, sql: str, params: list[Any] | dict[str, Any] | None = None):
        """Run a query and return the open result to fetch from (``fetchmany``); consume it
        fully before the next statement."""
        return self.con.execute(sql, params) if params is not None else self.con.execute(sql)

    def execute(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> None:
        """Run statements whose result is not needed (DDL, DML)."""
        self.stream(sql, params).fetchall()

    def rows(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> list[tuple]:
        """Run a query and return all rows as tuples."""
        return self.stream(sql, params).fetchall()

    def scalar(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> Any:
        """Run a query and return the first column of the first row (or None)."""
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    def arrow(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> pa.Table:
        """Run a query and return an Arrow table."""
        return self.con.sql(sql, params=params).to_arrow_table()

    def insert_arrow(self, table_name: str, data: pa.Table) -> int:
        """Append an Arrow table to ``table_name`` by column name; return the row count."""
        if data.num_rows == 0:
            return 0
        if data.num_rows > ROW_GROUP_SIZE:
            # One record batch per row group: DuckDB scans the batches in parallel and writes
            # (compresses) their row groups on every core, in order.
            data = pa.Table.from_batches(data.to_batches(max_chunksize=ROW_GROUP_SIZE))
        self.con.register("_mujun_insert", data)
        try:
            cols = ", ".join(f'"{c}"' for c in data.column_names)
            self.execute(f'INSERT INTO "{table_name}" ({cols}) SELECT {cols} FROM _mujun_insert')
        finally:
            self.con.unregister("_mujun_insert")
        return data.num_rows

    def table_exists(self, name: str) -> bool:
        """Whether a table of that name exists in the main schema."""
        return bool(
            self.scalar(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
            )
        )

    def table_columns(self, name: str) -> list[str]:
        """Column names of a table, in order."""
        return [
            r[0]
            for r in self.rows(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position",
                [name],
            )
        ]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Run a block atomically: everything or nothing is written. Nested blocks join the
        outermost transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self.execute("ROLLBACK")
            raise
        self._depth = 0
        self.execute("COMMIT")

    def schema_version(self) -> int:
        """The highest applied migration."""
        return int(self.scalar("SELECT coalesce(max(version), 0) FROM schema_migrations") or 0)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """Another connection to the same store (its own transaction), for a reader thread."""
        cursor = self.con.cursor()
        cursor.execute(f"USE {CATALOG}")
        return cursor

    def close(self) -> None:
        """Close the connection (and the store file, when no other ``Store`` has it open)."""
        self.con.close()
        if self._release is not None:
            key, self._release = self._release, None
            _INSTANCES.release(key)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Instances:
    """The DuckDB instance of each store file open in this process, shared by its ``Store``s.

    A file can be attached by one instance only, so a second ``open_store`` of an open file (a
    test that keeps its store while the web app opens it, say) gets another connection to the
    same instance, as ``duckdb.connect`` of a path would give; the instance is closed with the
    last of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[tuple[str, bool], list] = {}  # key -> [instance connection, users]

    def connect(self, path: Path, read_only: bool, config: dict[str, Any]):
        """A connection to the store at ``path``, with its key for :meth:`release`."""
        key = (str(path.resolve()), read_only)
        with self._lock:
            entry = self._open.get(key)
            if entry is None:
                entry = self._open[key] = [_attach(path, read_only, config), 0]
            try:
                con = entry[0].cursor()
                con.execute(f"USE {CATALOG}")
            except BaseException:
                if entry[1] == 0:
                    del self._open[key]
                    entry[0].close()
                raise
            entry[1] += 1
        return con, key

    def release(self, key: tuple[str, bool]) -> None:
        """One user fewer; the last closes the instance (and detaches the file)."""
        with self._lock:
            entry = self._open.get(key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] == 0:
                del self._open[key]
                entry[0].close()


def _attach(path: Path, read_only: bool, config: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config=config)
    options = ["READ_ONLY"] if read_only else []
    options.append(f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}")
    quoted = str(path).replace("'", "''")
    try:
        con.execute(f"ATTACH '{quoted}' AS {CATALOG} ({', '.join(options)})")
    except BaseException:
        con.close()
        raise
    return con


_INSTANCES = _Instances()


def open_store(path: Path | str, *, read_only: bool = False, threads: int = 2) -> Store:
    """Open (creating if needed) the store at ``path`` and apply pending migrations."""
    path = Path(path)
    if read_only and not path.exists():
        raise StoreError(f"store {path} does not exist", "run `mujun ingest` first or pass --db")
    config: dict[str, Any] = dict(OFFLINE_CONFIG)
    config["threads"] = threads
    try:
        con, key = _INSTANCES.connect(path, read_only, config)
    except duckdb.Error as exc:
        text = str(exc)
        if isinstance(exc, duckdb.IOException) and "lock" in text.lower():
            raise StoreBusyError(
                f"store {path} is in use by another process",
                "stop `mujun serve` or send the change through its web API; "
                f"DuckDB said: {text.splitlines()[0]}",
            ) from exc
        raise StoreError(f"cannot open store {path}: {text.splitlines()[0]}") from exc
    store = Store(con, path, read_only, release=key)
    try:
        if not read_only:
            migrate(store)
        elif not {m.version for m in MIGRATIONS} <= {
            r[0] for r in store.rows("SELECT version FROM schema_migrations")
        }:
            raise StoreError(
                f"store {path} has schema version {store.schema_version()}, "
                f"expected {SCHEMA_VERSION}",
                "open it once read-write to migrate it",
            )
    except BaseException:
        store.close()
        raise
    return store


def migrate(store: Store) -> list[int]:
    """Apply every migration not yet recorded; return the versions applied."""
    store.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    done = {r[0] for r in store.rows("SELECT version FROM schema_migrations")}
    applied = []
    for mig in MIGRATIONS:
        if mig.version in done:
            continue
        with store.transaction():
            store.execute(mig.sql)
            store.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)",
                [mig.version, mig.name],
            )
        applied.append(mig.version)
    return applied

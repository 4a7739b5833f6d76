"""The DuckDB store: migrations, offline configuration, one writer."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from mujun.errors import StoreBusyError, StoreError
from mujun.store import (
    MIGRATIONS,
    ROW_GROUP_SIZE,
    SCHEMA_VERSION,
    open_store,
)


def test_a_new_store_is_migrated_to_the_latest_schema(tmp_path):
    with open_store(tmp_path / "a.duckdb") as s:
        assert s.schema_version() == SCHEMA_VERSION == max(m.version for m in MIGRATIONS)
        for table in ("files", "issues", "quarantine", "skipped_rows", "runs", "match_report"):
            assert s.table_exists(table)
    # Opening again applies nothing twice.
    with open_store(tmp_path / "a.duckdb") as s:
        assert s.scalar("SELECT count(*) FROM schema_migrations") == len(MIGRATIONS)


def test_the_store_never_downloads_or_autoloads_extensions(tmp_path):
    with open_store(tmp_path / "a.duckdb") as s:
        assert s.scalar("SELECT current_setting('autoinstall_known_extensions')") is False
        assert s.scalar("SELECT current_setting('autoload_known_extensions')") is False
        # Reading a spreadsheet through DuckDB would need the excel extension: it must fail
        # instead of fetching it from the network.
        with pytest.raises(duckdb.Error):
            s.rows("SELECT * FROM read_xlsx('nothing.xlsx')")
        installed = s.rows(
            "SELECT extension_name FROM duckdb_extensions() WHERE installed AND "
            "install_mode NOT IN ('STATICALLY_LINKED')"
        )
        assert installed == []


def test_a_second_writer_gets_a_plain_message(tmp_path):
    path = tmp_path / "busy.duckdb"
    open_store(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
            " time.sleep(30)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreBusyError) as exc:
            open_store(path)
        assert "in use by another process" in exc.value.message
        assert "mujun serve" in exc.value.hint
    finally:
        holder.kill()
        holder.wait()


def test_opening_a_missing_store_read_only_says_what_to_do(tmp_path):
    with pytest.raises(StoreError) as exc:
        open_store(tmp_path / "none.duckdb", read_only=True)
    assert "mujun ingest" in exc.value.hint


def test_tables_are_written_in_row_groups_of_the_store_size(tmp_path):
    """A province's department table spans several row groups, DuckDB's unit of parallel work."""
    with open_store(tmp_path / "rg.duckdb") as s:
        s.execute("CREATE TABLE t AS SELECT range AS i, 'x' || range AS v FROM range(100000)")
        s.execute("CHECKPOINT")
        groups = s.scalar("SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('t')")
    assert groups == -(-100_000 // ROW_GROUP_SIZE) == 4


def test_a_store_open_twice_in_one_process_shares_the_file_until_both_close(tmp_path):
    path = tmp_path / "twice.duckdb"
    first = open_store(path)
    second = open_store(path)
    first.execute("CREATE TABLE shared AS SELECT 42 AS answer")
    first.close()
    # Still open through the second store, which sees what the first wrote.
    assert second.scalar("SELECT answer FROM shared") == 42
    # Another process cannot take the file while this one holds it.
    probe = [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1])", str(path)]
    assert subprocess.run(probe, capture_output=True).returncode != 0
    second.close()
    # Closed by both: the file is free again.
    assert subprocess.run(probe, capture_output=True).returncode == 0
    with open_store(path, read_only=True) as s:
        assert s.scalar("SELECT answer FROM shared") == 42


def test_identifiers_and_names_are_stored_plain_and_codes_compressed(small_province):
    """Credit codes, names and parcel/meter numbers hardly repeat: DuckDB's dictionary + FSST
    compression costs more to write and scan than it saves on them, so they are stored plain;
    columns of a few values keep DuckDB's choice (docs/ingest.md, Performance)."""
    _, db = small_province
    with open_store(db, read_only=True) as s:

        def compression(table: str, column: str) -> set[str]:
            return {
                r[0]
                for r in s.rows(
                    f"SELECT DISTINCT compression FROM pragma_storage_info('{table}') "
                    "WHERE column_name = ? AND segment_type = 'VARCHAR'",
                    [column],
                )
            }

        for table, column in [
            ("src_register", "uscc"),
            ("src_register", "name"),
            ("src_power", "meter_id"),
            ("src_land", "parcel_id"),
            ("enterprises", "uscc"),
            ("enterprises", "name"),
            ("facts", "uscc"),
            ("land", "parcel_id"),
        ]:
            assert compression(table, column) == {"Uncompressed"}, (table, column)
        for table, column in [("src_register", "county_code"), ("enterprises", "town")]:
            assert "Uncompressed" not in compression(table, column), (table, column)

"""The DuckDB store: migrations, offline configuration, one writer."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from mujun.errors import StoreBusyError, StoreError
from mujun.ingest import ingest_directory
from mujun.store import MIGRATIONS, SCHEMA_VERSION, open_store, zstd_strings

from .conftest import FIXTURES


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


def test_free_text_of_stored_source_rows_is_compressed_with_zstd(tmp_path, profiles):
    if not zstd_strings():
        pytest.skip("this DuckDB chooses its own string compression")
    store = open_store(tmp_path / "z.duckdb")
    ingest_directory(store, FIXTURES / "dept2023", 2023, profiles)
    store.execute("CHECKPOINT")
    used = dict(
        store.rows(
            "SELECT column_name, string_agg(DISTINCT compression, ',') "
            "FROM pragma_storage_info('src_register') WHERE segment_type = 'VARCHAR' GROUP BY 1"
        )
    )
    store.close()
    # Codes and names (types uscc and text) are ZSTD; codes from a short list are not.
    assert used["uscc"] == "ZSTD" and used["name"] == "ZSTD"
    assert "ZSTD" not in used["county_code"]

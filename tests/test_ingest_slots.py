"""Department × year slots: re-ingesting is idempotent; a corrected file replaces the earlier one."""

from __future__ import annotations

import shutil

import pytest

from mujun.ingest import ingest_directory
from mujun.validate import validate_year

from .conftest import FIXTURES


@pytest.fixture
def delivery(tmp_path):
    d = tmp_path / "2023"
    shutil.copytree(FIXTURES / "dept2023", d)
    return d


def _counts(store):
    tables = ["files", "issues", "quarantine", "skipped_rows", "src_tax", "src_power", "facts"]
    return {t: store.scalar(f"SELECT count(*) FROM {t}") for t in tables}


def test_ingesting_the_same_files_twice_changes_nothing(store, profiles, delivery):
    ingest_directory(store, delivery, 2023, profiles)
    validate_year(store, 2023, profiles)
    before = _counts(store)
    facts_before = store.rows("SELECT * FROM facts ORDER BY uscc")
    report = ingest_directory(store, delivery, 2023, profiles)
    validate_year(store, 2023, profiles)
    statuses = {f.source: f.status for f in report.files if f.source}
    assert set(statuses.values()) == {"unchanged"}
    # Rejected files are recorded again (they never enter a slot) but nothing else moves.
    after = _counts(store)
    assert {k: v for k, v in after.items() if k not in ("files", "issues")} == {
        k: v for k, v in before.items() if k not in ("files", "issues")
    }
    assert store.rows("SELECT * FROM facts ORDER BY uscc") == facts_before


def test_a_renamed_copy_of_a_file_is_recognised_as_unchanged(store, profiles, delivery):
    ingest_directory(store, delivery, 2023, profiles)
    power = delivery / "国网供电公司_用电量_2023年.csv"
    power.rename(delivery / "电力数据(重发)2023.csv")
    report = ingest_directory(store, delivery, 2023, profiles)
    assert [f.status for f in report.files if f.source == "power"] == ["unchanged"]


def test_a_corrected_file_replaces_the_slot_and_the_old_version_stays_queryable(
    store, profiles, delivery, tmp_path
):
    ingest_directory(store, delivery, 2023, profiles)
    validate_year(store, 2023, profiles)
    old_tax = store.scalar("SELECT tax_paid FROM facts WHERE uscc = '91331081MA2AL00126'")
    # The tax bureau sends a corrected CSV under another name, in 万元.
    (delivery / "税务局_2023年度税收实际贡献.xls").unlink()
    (delivery / "税务_更正版_2023.csv").write_text(
        "统一社会信用代码,企业名称,实缴税金（万元）\n"
        "91331081MA2AL00126,温岭市甲泵业有限公司,130.5\n"
        "91331081MA2AL00201,温岭市乙鞋业有限公司,250\n",
        encoding="utf-8",
    )
    report = ingest_directory(store, delivery, 2023, profiles)
    validate_year(store, 2023, profiles)
    assert [f.status for f in report.files if f.source == "tax"] == ["replaced"]
    assert old_tax == pytest.approx(123.4567)
    assert store.scalar(
        "SELECT tax_paid FROM facts WHERE uscc = '91331081MA2AL00126'"
    ) == pytest.approx(130.5)
    versions = store.rows(
        "SELECT name, status, version FROM files WHERE source = 'tax' ORDER BY file_id"
    )
    assert versions == [
        ("税务局_2023年度税收实际贡献.xls", "superseded", 1),
        ("税务_更正版_2023.csv", "current", 2),
    ]
    # The earlier version's rows are still there, tied to their file.
    old_rows = store.scalar(
        "SELECT count(*) FROM src_tax JOIN files USING (file_id) WHERE status = 'superseded'"
    )
    assert old_rows == 12
    change = store.rows("SELECT source, old_name, new_name, old_rows, new_rows FROM slot_changes")
    assert change == [("tax", "税务局_2023年度税收实际贡献.xls", "税务_更正版_2023.csv", 12, 2)]
    # Issues of the replaced file no longer count for the year; the new file's do.
    codes = {
        r[0]
        for r in store.rows(
            "SELECT code FROM issues i JOIN files f USING (file_id) WHERE f.status = 'current' "
            "AND i.source = 'tax'"
        )
    }
    assert "duplicate-key" not in codes and "mangled-credit-code" not in codes


def test_two_files_for_one_slot_are_both_rejected_never_picked(store, profiles, delivery):
    shutil.copy(delivery / "生态环境局排污数据2023.csv", delivery / "排污数据_另一份_2023.csv")
    report = ingest_directory(store, delivery, 2023, profiles)
    env = [(f.status, f.message) for f in report.files if f.source == "env"]
    assert env == [("rejected", "ambiguous-slot")] * 2
    assert store.scalar("SELECT count(*) FROM src_env") == 0
    assert store.scalar("SELECT count(*) FROM issues WHERE code = 'ambiguous-slot'") == 2


def test_a_file_named_for_another_year_gets_a_warning(store, profiles, delivery):
    ingest_directory(store, delivery, 2022, profiles)
    n = store.scalar("SELECT count(*) FROM issues WHERE code = 'year-mismatch'")
    assert n == 6


def test_two_registers_are_both_rejected_and_the_other_files_still_stored(
    store, profiles, delivery
):
    # The register is parsed as soon as it is read; a second register discards that work, and
    # nothing of either is stored.
    shutil.copy(delivery / "市场监管局_企业名录_2023.xlsx", delivery / "企业名录_补充_2023.xlsx")
    report = ingest_directory(store, delivery, 2023, profiles)
    register = [(f.status, f.message) for f in report.files if f.source == "register"]
    assert register == [("rejected", "ambiguous-slot")] * 2
    assert store.scalar("SELECT count(*) FROM src_register") == 0
    assert store.rows(
        "SELECT status, count(*) FROM files WHERE source = 'register' GROUP BY ALL"
    ) == [("rejected", 2)]
    assert (
        store.scalar(
            "SELECT count(*) FROM issues WHERE source = 'register' AND code <> 'ambiguous-slot'"
        )
        == 0
    )
    assert {f.status for f in report.files if f.source in ("tax", "power")} == {"ingested"}
    # Without a register there is nothing to suggest for a mistyped code.
    assert store.scalar("SELECT count(*) FROM issues WHERE suggestion IS NOT NULL") == 0
    # The first register delivered alone afterwards is parsed and stored in full.
    (delivery / "企业名录_补充_2023.xlsx").unlink()
    report = ingest_directory(store, delivery, 2023, profiles)
    stored = [f.rows_stored for f in report.files if f.source == "register"]
    assert stored and stored[0] > 0
    assert store.scalar("SELECT count(*) FROM src_register") == stored[0]

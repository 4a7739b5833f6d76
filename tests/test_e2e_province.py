"""End to end through the CLI: a small generated province → ingest → validate.

Every injected defect in the manifest is reported with the right code, file, row and column; no
legitimate value is reported as an error; no row is lost.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from mujun.store import open_store

from .conftest import run_mujun

YEARS = (2022, 2023)


@pytest.fixture(scope="module")
def province(small_province, tmp_path_factory):
    out, db = small_province
    base = tmp_path_factory.mktemp("validate")
    validations = {
        year: run_mujun(
            "validate", "--year", str(year), "--db", str(db), "--out", str(base / f"i{year}.xlsx")
        )
        for year in YEARS
    }
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    store = open_store(db, read_only=True)
    yield manifest, store, validations, base
    store.close()


def _issues(store):
    rows = store.rows(
        "SELECT year, code, severity, file, row_no, column_name, uscc, source FROM issues i "
        "WHERE stage = 'validate' OR file_id IN (SELECT file_id FROM files WHERE status <> 'superseded')"
    )
    return [
        dict(
            zip(
                ("year", "code", "severity", "file", "row", "column", "uscc", "source"),
                r,
                strict=True,
            )
        )
        for r in rows
    ]


def test_validate_exits_1_and_writes_the_report_when_defects_are_present(province):
    _, _, validations, base = province
    for year in YEARS:
        assert validations[year].returncode == 1, validations[year].stdout[-2000:]
        assert "bad-credit-code" in validations[year].stdout
        assert (base / f"i{year}.xlsx").stat().st_size > 5000


def test_every_manifest_defect_is_reported_with_code_file_row_and_column(province):
    manifest, store, _, _ = province
    index = defaultdict(list)
    for it in _issues(store):
        index[(it["year"], it["code"], it["file"])].append(it)
    missed = []
    kinds = set()
    for d in manifest["defects"]:
        kinds.add(d["kind"])
        candidates = index[(d["year"], d["kind"], Path(d["file"]).name)]
        if d["kind"] == "missing-enterprise":
            ok = any(c["uscc"] == d["uscc"] for c in candidates)
        else:
            ok = any(c["row"] == d["row"] and c["column"] == d["column"] for c in candidates)
        if not ok:
            missed.append(d)
    assert missed == [], (
        f"{len(missed)} of {len(manifest['defects'])} defects not reported: {missed[:5]}"
    )
    assert kinds >= {
        "bad-credit-code",
        "mangled-credit-code",
        "duplicate-row",
        "duplicate-key",
        "missing-enterprise",
        "unknown-enterprise",
        "type-error",
        "missing-value",
        "unknown-division",
        "unknown-industry",
        "unit-mismatch",
        "implausible-value",
    }


def test_no_error_or_warning_falls_on_a_legitimate_value(province):
    manifest, store, _, _ = province
    defect_cells = {(d["year"], Path(d["file"]).name, d["row"]) for d in manifest["defects"]}
    # A firm whose row was quarantined for a bad code is, as a consequence, missing from the file.
    quarantined_firms = {
        (d["year"], Path(d["file"]).name, d["uscc"])
        for d in manifest["defects"]
        if d["kind"] in ("bad-credit-code", "mangled-credit-code")
    }
    missing = {
        (d["year"], Path(d["file"]).name, d["uscc"])
        for d in manifest["defects"]
        if d["kind"] == "missing-enterprise"
    }
    conflicts = {
        (d["year"], Path(d["file"]).name, d["uscc"])
        for d in manifest["defects"]
        if d["kind"] == "duplicate-key"
    }
    unexplained = []
    for it in _issues(store):
        if it["severity"] == "info" or it["code"] == "missing-file":
            continue
        key = (it["year"], it["file"], it["row"])
        firm = (it["year"], it["file"], it["uscc"])
        if key in defect_cells:
            continue
        if it["code"] == "missing-enterprise" and (firm in missing or firm in quarantined_firms):
            continue
        if it["code"] == "duplicate-key" and firm in conflicts:
            continue  # the first row of a conflicting pair
        unexplained.append(it)
    assert unexplained == [], f"{len(unexplained)} issues on legitimate values: {unexplained[:5]}"
    edges = {
        (e["year"], Path(e["file"]).name, e["row"]) for e in manifest["legit_edges"] if e.get("row")
    }
    assert edges, "the manifest lists legitimate edge values"


def test_no_row_is_lost(province):
    manifest, store, _, _ = province
    files = {
        (r[0], r[1]): r[2:]
        for r in store.rows(
            "SELECT year, name, rows_read, rows_stored, rows_quarantined, rows_skipped, header_rows "
            "FROM files WHERE status = 'current'"
        )
    }
    assert len(files) == len(manifest["files"]) == 8 * len(YEARS)
    for f in manifest["files"]:
        read, stored, quarantined, skipped, header_rows = files[(f["year"], Path(f["path"]).name)]
        assert read == f["data_rows"], f["path"]
        assert read == stored + quarantined + skipped, f["path"]
        assert skipped == f["blank_rows"] + f["totals_rows"], f["path"]
        assert header_rows == f["header_rows"], f["path"]
    stored_rows = sum(v[1] for v in files.values())
    src_rows = sum(
        store.scalar(
            f"SELECT count(*) FROM src_{s} JOIN files USING (file_id) WHERE status = 'current'"
        )
        for s in ("register", "tax", "stats", "power", "env", "land", "water", "events")
    )
    assert stored_rows == src_rows

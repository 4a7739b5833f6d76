"""The synthetic demo province: files, determinism, manifest, calibration and plausibility."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import typer
import yaml
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from mujun.demo import build_population, compute_calibration, demo_data_command, generate_province
from mujun.demo.cli import parse_years
from mujun.demo.defects import KINDS_BY_SOURCE
from mujun.demo.events import EVENT_LABELS
from mujun.demo.layout import ALIASES, SOURCES
from mujun.demo.records import build_records

ROOT = Path(__file__).resolve().parents[1]
PROFILES = {
    p.stem: yaml.safe_load(p.read_text(encoding="utf-8"))
    for p in sorted((ROOT / "rules" / "sources").glob("*.yaml"))
}
YEARS = (2022, 2023)
ALL_KINDS = sorted(
    {k for kinds in KINDS_BY_SOURCE.values() for k in kinds} | {"mangled-credit-code"}
)
NUMERIC = {
    "tax": ("tax_paid",),
    "stats": ("value_added", "revenue", "employees", "energy", "rd"),
    "power": ("electricity",),
    "env": ("cod", "ammonia", "so2", "nox"),
    "land": ("area", "floor_area"),
    "water": ("water",),
}


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """A small province: 2,000 firms, two years, the latest in XLSX and the earlier in CSV."""
    out = tmp_path_factory.mktemp("province")
    report = generate_province(out, enterprises=2000, years=YEARS, seed=7, fmt="mixed")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return out, report, manifest


@pytest.fixture(scope="module")
def model():
    """A larger model-only run (no files) for calibration and plausibility."""
    return build_population(20_000, (2021, 2022, 2023), 20231)


def read_rows(path: Path, entry: dict) -> list[list]:
    """Every physical row of a generated file (CSV text cells, XLSX cells as calamine reads)."""
    if entry["format"] == "csv":
        text = path.read_bytes().decode(entry["encoding"])
        return list(csv.reader(io.StringIO(text, newline="")))
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(entry["sheet"])
    return sheet.to_python(skip_empty_area=False)


def column_names(rows: list[list], entry: dict) -> list[str]:
    """Header names the way the manifest writes them (``upper/lower`` for two-row headers)."""
    top = entry["title_rows"]
    upper = [str(c).strip() for c in rows[top]]
    if entry["header_rows"] == 1:
        return upper
    lower = [str(c).strip() for c in rows[top + 1]]
    filled = list(upper)
    for j in range(1, len(filled)):
        if not filled[j] and lower[j] and lower[j - 1] and filled[j - 1]:
            filled[j] = filled[j - 1]
    return [f"{u}/{lo}" if u and lo else (u or lo) for u, lo in zip(filled, lower, strict=True)]


def same_cell(cell, value) -> bool:
    """A cell read back equals the manifest value (numbers compare as floats)."""
    if value is None:
        return cell in ("", None)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return isinstance(cell, (int, float)) and float(cell) == float(value)
    return cell == value


def test_every_department_has_one_file_per_year_in_the_expected_format(province):
    out, _, manifest = province
    files = manifest["files"]
    assert sorted((f["year"], f["source"]) for f in files) == sorted(
        (y, s) for y in YEARS for s in SOURCES
    )
    for f in files:
        path = out / f["path"]
        assert path.is_file() and path.parent.name == str(f["year"])
        assert f["format"] == ("xlsx" if f["year"] == YEARS[-1] else "csv")
        assert path.suffix == "." + f["format"]
        own = PROFILES[f["source"]]["match"]["filename"]
        assert any(w in path.name for w in own), path.name
        others = [
            w for s, p in PROFILES.items() if s != f["source"] for w in p["match"]["filename"]
        ]
        assert not any(w in path.name for w in others), path.name
        if f["format"] == "csv":
            data = path.read_bytes()
            assert data.startswith(b"\xef\xbb\xbf") == (f["encoding"] == "utf-8-sig")
            data.decode(f["encoding"])
            if f["encoding"] == "gb18030":
                data.decode("gbk")  # readable by a plain GBK decoder too
            assert f["sheet"] is None
    gb = {f["source"] for f in files if f["encoding"] == "gb18030"}
    assert len(gb) >= 3


def test_file_shapes_match_the_manifest_title_header_blank_and_totals_rows(province):
    out, _, manifest = province
    for f in manifest["files"]:
        rows = read_rows(out / f["path"], f)
        assert len(rows) == f["title_rows"] + f["header_rows"] + f["data_rows"], f["path"]
        body = rows[f["title_rows"] + f["header_rows"] :]
        blank = sum(1 for r in body if all(c in ("", None) for c in r))
        assert blank == f["blank_rows"]
        if f["totals_rows"]:
            assert str(rows[-1][0]).strip() == "合计"
        widths = {len(r) for r in rows}
        assert len(widths) == 1, "CSV lines are padded to the full width"
    assert all(f["header_rows"] == 2 for f in manifest["files"] if f["source"] == "env")
    assert {f["source"] for f in manifest["files"] if f["totals_rows"]} == {"tax", "stats", "power"}


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    def run(name: str, seed: int) -> dict[str, bytes]:
        out = tmp_path / name
        generate_province(out, enterprises=400, years=YEARS, seed=seed)
        return {
            p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()
        }

    a, b, c = run("a", 11), run("b", 11), run("c", 12)
    assert a == b
    xlsx = next(k for k in a if k.endswith(".xlsx"))
    csv_file = next(k for k in a if k.endswith(".csv"))
    assert a[xlsx] == b[xlsx] and a[csv_file] == b[csv_file]
    assert a["manifest.json"] != c["manifest.json"]
    assert sum(a[k] == c.get(k) for k in a) == 0


def test_manifest_has_at_least_two_defects_of_every_kind_each_year(province):
    _, report, manifest = province
    counts = Counter((d["year"], d["kind"]) for d in manifest["defects"])
    for year in YEARS:
        for kind in ALL_KINDS:
            assert counts[(year, kind)] >= 2, (year, kind)
    assert sum(report.defect_counts.values()) == len(manifest["defects"])


def test_every_defect_points_at_a_row_whose_cell_matches_its_value(province):
    out, _, manifest = province
    entries = {f["path"]: f for f in manifest["files"]}
    cache: dict[str, tuple[list[list], list[str]]] = {}
    for d in manifest["defects"]:
        entry = entries[d["file"]]
        if d["file"] not in cache:
            rows = read_rows(out / d["file"], entry)
            cache[d["file"]] = (rows, column_names(rows, entry))
        rows, names = cache[d["file"]]
        key = next(n for n in names if n in _key_names(entry["source"]))
        codes = [str(r[names.index(key)]).strip() for r in rows]
        if d["kind"] == "missing-enterprise":
            assert d["row"] is None and d["column"] is None
            assert d["uscc"] not in codes
            continue
        assert d["row"] > entry["title_rows"] + entry["header_rows"]
        row = rows[d["row"] - 1]
        assert d["column"] in names, (d["column"], names)
        assert same_cell(row[names.index(d["column"])], d["value"]), d
        if d["kind"] == "duplicate-row":
            earlier = rows[: d["row"] - 1]
            assert row in earlier
        if d["kind"] == "duplicate-key":
            assert codes.count(d["uscc"]) == 2 and codes.index(d["uscc"]) < d["row"] - 1


def _key_names(source: str) -> set[str]:
    return set(ALIASES[source]["uscc"])


def test_legitimate_edge_cases_are_listed_and_never_overlap_defects(province):
    _, _, manifest = province
    kinds = Counter(e["kind"] for e in manifest["legit_edges"])
    assert (
        kinds["negative-tax"] > 0 and kinds["zero-emissions"] > 0 and kinds["absent-from-env"] > 0
    )
    defect_firms = {(d["year"], d["uscc"]) for d in manifest["defects"]}
    assert not defect_firms & {(e["year"], e["uscc"]) for e in manifest["legit_edges"] if e["row"]}


def test_truth_has_one_row_per_register_firm_and_year_in_canonical_units(province):
    out, _, manifest = province
    truth = pq.read_table(out / "truth.parquet")
    assert sorted(set(truth.column("year").to_pylist())) == list(YEARS)
    for year in YEARS:
        t = truth.filter(truth.column("year").to_numpy() == year)
        assert t.num_rows == 2000
        assert len(set(t.column("uscc").to_pylist())) == 2000
    for name in ("efficiency", "tax", "value_added", "land_mu", "employees", "electricity"):
        assert name in truth.column_names
    assert manifest["calibration"]["year"] == YEARS[-1]


def test_model_calibration_lands_on_the_published_figures_and_correlations(model):
    figures = compute_calibration(model)["figures"]
    for name, target in (("tax_per_mu", 28.1), ("va_per_mu", 135.7), ("labour_productivity", 23.5)):
        assert abs(figures[name]["value"] / target - 1) <= 0.10, name
    failed = {k: f["value"] for k, f in figures.items() if not f["pass"]}
    assert not failed
    assert 0.6 <= figures["corr_tax_va"]["value"] <= 0.8
    assert 0.5 <= figures["corr_va_productivity"]["value"] <= 0.7
    assert 0.3 <= figures["corr_energy_va"]["value"] <= 0.5


def test_legitimate_positive_values_stay_within_1_3_decades_of_their_peer_median(model):
    worst = 0.0
    for year in model.years:
        for source, fields in NUMERIC.items():
            recs = build_records(model, source, year)
            for name in fields:
                values = recs.data[name].astype(float)
                for g in np.unique(recs.group).tolist():
                    sel = (recs.group == g) & (values > 0)
                    if sel.sum() < 30:
                        continue
                    logs = np.log10(values[sel])
                    worst = max(worst, float(np.abs(logs - np.median(logs)).max()))
    assert worst <= 1.3


def test_every_alias_event_and_tenure_word_used_is_listed_in_the_source_profiles():
    for source, fields in ALIASES.items():
        for name, aliases in fields.items():
            assert set(aliases) <= set(PROFILES[source]["fields"][name]["aliases"]), (source, name)
    assert set(EVENT_LABELS.values()) <= set(PROFILES["events"]["fields"]["event"]["choices"])
    tenure = PROFILES["land"]["fields"]["tenure"]["choices"]
    assert {"自有", "出让", "自用", "租赁", "租用", "承租"} <= set(tenure)


def test_years_option_accepts_a_range_or_a_list():
    assert parse_years("2021-2023") == (2021, 2022, 2023)
    assert parse_years("2022,2023") == (2022, 2023)
    assert parse_years("2023") == (2023,)


def test_demo_data_command_prints_the_calibration_table(tmp_path):
    app = typer.Typer()
    app.command()(demo_data_command)
    result = CliRunner().invoke(
        app, [str(tmp_path / "out"), "--enterprises", "300", "--years", "2023", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output and "calibration" in result.output
    assert (tmp_path / "out" / "manifest.json").is_file()
    bad = CliRunner().invoke(app, [str(tmp_path / "x"), "--years", "twenty"])
    assert bad.exit_code == 2 and "2021-2023" in bad.output

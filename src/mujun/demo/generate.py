"""Generate a synthetic province: department files per year, ``manifest.json`` and ``truth.parquet``.

Layout of the output directory::

    OUT/<year>/<8 department files>   (register, tax, stats, power, env, land, water, events)
    OUT/manifest.json                 files, injected defects, legitimate edge cases, calibration
    OUT/truth.parquet                 per firm and year: identity, class, hidden efficiency, values

Manifest conventions (the ingest relies on them): ``row`` is the spreadsheet row number (1-based,
counting title, header and blank rows; for CSV the record number); for a duplicate it is the later
(copied) row; ``missing-enterprise`` has row and column null. ``column`` is the header text as
written (``upper/lower`` for a two-row header). ``value`` is the cell as written: text, or the
number of a numeric XLSX cell; null for a blank cell. ``units`` gives, per numeric field, the unit
its values are written in (canonical spelling, e.g. 千瓦时 for a header saying kWh).
``legit_edges`` lists what must never be flagged: ``negative-tax`` (row and tax column),
``zero-emissions`` (row; column null) and ``absent-from-env`` (above-size firms without an
environment row; row and column null). Below-size firms absent from stats and from the
environment file are legitimate too but not listed one by one.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from mujun.demo.calibration import compute_calibration
from mujun.demo.defects import new_year_state, plan_defects
from mujun.demo.layout import SOURCES, choose_layouts
from mujun.demo.population import Population, build_population
from mujun.demo.records import build_records
from mujun.demo.sheet import Sheet, assemble
from mujun.demo.writers import write_sheet
from mujun.errors import InputError

Progress = Callable[[str, int, int], None]
FORMATS = ("xlsx", "csv", "mixed")


@dataclass
class GenerationReport:
    """What ``generate_province`` wrote and how the province compares to its targets."""

    out_dir: Path
    seconds: float
    files: list[dict[str, Any]]
    defect_counts: dict[str, int]
    calibration: dict[str, Any]
    edge_counts: dict[str, int] = field(default_factory=dict)

    @property
    def manifest_path(self) -> Path:
        """Path of ``manifest.json``."""
        return self.out_dir / "manifest.json"

    @property
    def truth_path(self) -> Path:
        """Path of ``truth.parquet``."""
        return self.out_dir / "truth.parquet"


def _check_args(enterprises: int, years: tuple[int, ...], fmt: str, defect_rate: float) -> None:
    if enterprises < 50:
        raise InputError(
            f"enterprises must be at least 50, got {enterprises}", "use --enterprises 1000 or more"
        )
    if not years:
        raise InputError("no years given", "use --years 2021-2023 or --years 2022,2023")
    if any(y < 2000 or y > 2100 for y in years):
        raise InputError(f"years out of range: {sorted(years)}", "use years between 2000 and 2100")
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}", "use --format xlsx, csv or mixed")
    if not 0 <= defect_rate <= 0.05:
        raise InputError(f"defect rate {defect_rate} out of range", "use a rate between 0 and 0.05")


def _prepare_dir(out_dir: Path, years: tuple[int, ...]) -> None:
    """Create the output folders; remove files of an earlier generation, refuse foreign files."""
    manifest = out_dir / "manifest.json"
    if manifest.exists():
        old = json.loads(manifest.read_text(encoding="utf-8"))
        for f in old.get("files", []):
            (out_dir / f["path"]).unlink(missing_ok=True)
    for year in years:
        d = out_dir / str(year)
        if d.exists() and any(p.is_file() for p in d.iterdir()):
            raise InputError(
                f"{d} already holds files that this generator did not write",
                "choose an empty output folder",
            )
        d.mkdir(parents=True, exist_ok=True)


def generate_province(
    out_dir: Path,
    *,
    enterprises: int = 112_879,
    years: tuple[int, ...] = (2021, 2022, 2023),
    seed: int = 20231,
    fmt: str = "mixed",
    defect_rate: float = 0.004,
    progress: Progress | None = None,
) -> GenerationReport:
    """Write a synthetic province's department files, manifest and truth into ``out_dir``."""
    start = time.perf_counter()
    years = tuple(sorted(set(int(y) for y in years)))
    _check_args(enterprises, years, fmt, defect_rate)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _prepare_dir(out_dir, years)
    if progress:
        progress("population", 0, 1)
    pop = build_population(enterprises, years, seed)
    if progress:
        progress("population", 1, 1)
    layouts = {
        s: choose_layouts(np.random.default_rng([seed, 100 + i]), s, years, fmt)
        for i, s in enumerate(SOURCES)
    }
    files, defects, edges = [], [], []
    for k, year in enumerate(years):
        state = new_year_state(pop, year, np.random.default_rng([seed, 200, year]))
        for i, source in enumerate(SOURCES):
            layout = layouts[source][k]
            rng = np.random.default_rng([seed, 300 + i, year])
            recs, planned = plan_defects(
                state, layout, build_records(pop, source, year), rng, defect_rate
            )
            sheet = assemble(layout, recs, planned, rng)
            write_sheet(sheet, out_dir / layout.path, progress)
            files.append(_file_entry(sheet))
            defects.extend(_defect_entries(sheet))
            edges.extend(_edge_entries(pop, sheet, k))
    if progress:
        progress("truth", 0, 1)
    pq.write_table(pop.truth_table(), out_dir / "truth.parquet")
    calibration = compute_calibration(pop)
    defects.sort(key=lambda d: (d["year"], d["file"], d["row"] or 0, d["kind"], d["uscc"]))
    edges.sort(key=lambda d: (d["year"], d["file"], d["row"] or 0, d["kind"], d["uscc"]))
    manifest = {
        "seed": seed,
        "enterprises": enterprises,
        "years": list(years),
        "format": fmt,
        "defect_rate": defect_rate,
        "files": files,
        "defects": defects,
        "legit_edges": edges,
        "calibration": calibration,
    }
    (out_dir / "manifest.json").write_text(dump_manifest(manifest), encoding="utf-8")
    if progress:
        progress("truth", 1, 1)
    return GenerationReport(
        out_dir=out_dir,
        seconds=time.perf_counter() - start,
        files=files,
        defect_counts=dict(sorted(Counter(d["kind"] for d in defects).items())),
        calibration=calibration,
        edge_counts=dict(sorted(Counter(e["kind"] for e in edges).items())),
    )


def dump_manifest(manifest: dict[str, Any]) -> str:
    """JSON with sorted keys and one list entry per line (readable, diffable, deterministic)."""

    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)

    parts = []
    for key in sorted(manifest):
        value = manifest[key]
        if isinstance(value, list) and value and isinstance(value[0], dict):
            body = "[\n  " + ",\n  ".join(dumps(v) for v in value) + "\n ]"
        else:
            body = dumps(value)
        parts.append(f" {dumps(key)}: {body}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _file_entry(sheet: Sheet) -> dict[str, Any]:
    layout = sheet.layout
    return {
        "year": layout.year,
        "source": layout.source,
        "path": layout.path,
        "format": layout.fmt,
        "encoding": layout.encoding,
        "sheet": layout.sheet,
        "title_rows": len(layout.title_rows),
        "header_rows": sheet.header_rows,
        "data_rows": len(sheet.rows),
        "blank_rows": sum(1 for r in sheet.rows if not r),
        "totals_rows": 1 if layout.totals else 0,
        "units": dict(sorted(layout.units.items())),
    }


def _defect_entries(sheet: Sheet) -> list[dict[str, Any]]:
    layout = sheet.layout
    return [
        {
            "year": layout.year,
            "source": layout.source,
            "kind": d.kind,
            "file": layout.path,
            "sheet": layout.sheet,
            "row": d.row,
            "column": d.column,
            "uscc": d.uscc,
            "value": d.value,
            "note": d.note,
        }
        for d in sheet.defects
    ]


def _edge_entries(pop: Population, sheet: Sheet, k: int) -> list[dict[str, Any]]:
    """Legitimate cases the ingest must not flag: negative net tax, zero emissions, no env row."""
    layout = sheet.layout
    base = {"year": layout.year, "source": layout.source, "file": layout.path}
    out = []
    firms = sheet.firms
    real = firms >= 0
    if layout.source == "tax":
        col = layout.columns[layout.column_of("tax_paid")].name
        for i in np.flatnonzero(real & pop.negative_tax[k][np.maximum(firms, 0)]).tolist():
            out.append(base | {"kind": "negative-tax", "row": int(sheet.row_of[i]), "column": col,
                               "uscc": str(pop.uscc[firms[i]])})  # fmt: skip
    elif layout.source == "env":
        for i in np.flatnonzero(real & pop.zero_emission[k][np.maximum(firms, 0)]).tolist():
            out.append(base | {"kind": "zero-emissions", "row": int(sheet.row_of[i]), "column": None,
                               "uscc": str(pop.uscc[firms[i]])})  # fmt: skip
        absent = pop.present[k] & pop.above[k] & ~pop.in_env
        for f in np.flatnonzero(absent).tolist():
            out.append(base | {"kind": "absent-from-env", "row": None, "column": None,
                               "uscc": str(pop.uscc[f])})  # fmt: skip
    return out

"""Benchmark: ingest + validate one year of the full demo province, from CSV and from XLSX.

Generates the province once per format (same seed), then runs each ingest in a fresh process so
that its peak RSS is its own, ``--repeat`` times (default 3), and prints the best run (least
ingest + validate time) with seconds, rows/s and peak RSS; ``close`` is the time to close the
store afterwards, shown apart. Targets (2 cores): CSV <= 3 s, XLSX <= 8 s, peak RSS <= 2 GB.

    .venv/bin/python bench/ingest.py [--enterprises 112879] [--year 2023] [--workdir DIR]
                                     [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from mujun.ingest import ingest_directory, load_profiles
from mujun.settings import default_rules_dir
from mujun.store import open_store
from mujun.validate import validate_year

directory, year, db = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
profiles = load_profiles(default_rules_dir() / "sources")
t0 = time.perf_counter()
with open_store(db) as store:
    report = ingest_directory(store, directory, year, profiles)
    t1 = time.perf_counter()
    summary = validate_year(store, year, profiles)
    t2 = time.perf_counter()
    issues = store.scalar("SELECT count(*) FROM issues")
    t3 = time.perf_counter()
t4 = time.perf_counter()
print(json.dumps({
    "ingest_s": t1 - t0, "validate_s": t2 - t1, "close_s": t4 - t3, "rows": report.rows_read,
    "files": len([f for f in report.files if f.source]), "issues": issues,
    "errors": summary.errors,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def run_format(fmt: str, n: int, year: int, workdir: Path) -> dict:
    """Generate one year in ``fmt`` (once) and time ingest + validate in a child process."""
    from mujun.demo import generate_province

    out = workdir / fmt
    if not (out / str(year)).is_dir():
        t = time.perf_counter()
        generate_province(out, enterprises=n, years=(year,), seed=20231, fmt=fmt)
        print(f"generated {fmt} province in {time.perf_counter() - t:.1f} s", flush=True)
    db = workdir / f"{fmt}.duckdb"
    db.unlink(missing_ok=True)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(out / str(year)), str(year), str(db)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run both formats and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enterprises", type=int, default=112_879)
    ap.add_argument("--year", type=int, default=2023)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3, help="runs per format; the best is shown")
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="mujun-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    targets = {"csv": 3.0, "xlsx": 8.0}
    print(
        f"{'format':6} {'files':>5} {'rows':>9} {'ingest s':>9} {'validate s':>10} "
        f"{'total s':>8} {'rows/s':>9} {'close s':>7} {'peak RSS MB':>11} {'target s':>8}"
    )
    for fmt in ("csv", "xlsx"):
        runs = [run_format(fmt, args.enterprises, args.year, workdir) for _ in range(args.repeat)]
        r = min(runs, key=lambda x: x["ingest_s"] + x["validate_s"])
        total = r["ingest_s"] + r["validate_s"]
        print(
            f"{fmt:6} {r['files']:5d} {r['rows']:9,d} {r['ingest_s']:9.2f} {r['validate_s']:10.2f} "
            f"{total:8.2f} {r['rows'] / total:9,.0f} {r['close_s']:7.2f} "
            f"{max(x['peak_rss_mb'] for x in runs):11.0f} {targets[fmt]:8.1f}",
            flush=True,
        )
        totals = ", ".join(f"{x['ingest_s'] + x['validate_s']:.2f}" for x in runs)
        print(f"       (all {len(runs)} runs, ingest + validate s: {totals})", flush=True)
    print(
        f"(work files in {workdir}; parent peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"
    )


if __name__ == "__main__":
    main()

"""Benchmark: evaluate the full province from the store, re-score with changed weights, and score
5 million synthetic firms from Parquet (national scale).

Each measured step runs in a fresh process so its peak RSS is its own. Targets (2 cores): province
evaluate <= 2 s, re-score with changed weights <= 0.5 s, peak RSS <= 1.5 GB; 5 M firms <= 3 min
and <= 12 GB.

    .venv/bin/python bench/evaluate.py [--db STORE] [--year 2023] [--national 5000000] [--workdir DIR]

Without --db, one year of the full demo province is generated and ingested first (not timed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "zhejiang-default.yaml"

PROVINCE = r"""
import json, resource, sys, time
from pathlib import Path
from mujun.evaluation.inputs import load_firms
from mujun.evaluation.run import evaluate
from mujun.evaluation.scoring import rescore, score_rules
from mujun.rules import load_rules
from mujun.store import open_store
import numpy as np

db, year, rules_path = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
rules = load_rules(rules_path)
with open_store(db) as store:
    t0 = time.perf_counter()
    summary = evaluate(store, year, rules=rules)
    t_eval = time.perf_counter() - t0
    firms = load_firms(store, year)
scored = score_rules(firms, rules, np.arange(firms.n), year)
weights = {"above": {"tax_mu": 40, "va_mu": 20, "va_energy": 15, "va_emissions": 5,
                     "labour": 10, "rd_ratio": 10}}
t1 = time.perf_counter()
new = rescore(firms, rules, scored, weights)
t_rescore = time.perf_counter() - t1
moved = int((new.cols["klass"] != scored.cols["klass"]).sum())
print(json.dumps({"evaluate_s": t_eval, "rescore_s": t_rescore, "firms": summary.firms,
                  "moved": moved, "run": summary.run_id,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

NATIONAL = r"""
import json, resource, sys, time
from pathlib import Path
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from mujun.evaluation.inputs import firms_from_table
from mujun.evaluation.scoring import score_rules
from mujun.rules import load_rules

path, rules_path, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
t0 = time.perf_counter()
table = pq.read_table(path)
firms = firms_from_table(table, 2023)
del table
t1 = time.perf_counter()
scored = score_rules(firms, load_rules(rules_path), np.arange(firms.n), 2023)
t2 = time.perf_counter()
k = scored.cols["klass"]
pq.write_table(pa.table({"uscc": pa.array(firms["uscc"], pa.string()),
                         "total": pa.array(scored.cols["total"]),
                         "class": pa.array(k)}), out)
t3 = time.perf_counter()
print(json.dumps({"read_s": t1 - t0, "score_s": t2 - t1, "write_s": t3 - t2, "total_s": t3 - t0,
                  "firms": int(firms.n), "classed": int((k >= 0).sum()),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _child(code: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def build_province_store(workdir: Path, year: int) -> Path:
    """Generate and ingest one year of the full demo province (not timed)."""
    from mujun.demo import generate_province
    from mujun.ingest import ingest_directory, load_profiles
    from mujun.store import open_store
    from mujun.validate import validate_year

    db = workdir / "province.duckdb"
    if db.exists():
        return db
    data = workdir / "data"
    generate_province(data, years=(year,), fmt="csv")
    profiles = load_profiles(ROOT / "rules" / "sources")
    with open_store(db) as store:
        ingest_directory(store, data / str(year), year, profiles)
        validate_year(store, year, profiles)
    return db


def write_national(path: Path, n: int, seed: int = 1) -> None:
    """Synthetic firms over the 90 counties, in the columns the evaluation reads."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mujun.reference import counties

    rng = np.random.default_rng(seed)
    codes = np.array([c.code for c in counties()])
    county = codes[rng.integers(0, codes.size, n)]
    above = rng.random(n) < 0.45
    e = rng.normal(0, 0.6, n)
    land = np.exp(rng.normal(np.where(above, 3.3, 2.0), 0.5))
    tax = land * np.exp(rng.normal(2.9 + e, 0.5))
    va = land * np.exp(rng.normal(4.5 + e, 0.4))
    uscc = np.char.add("N", np.char.zfill(np.arange(n).astype(str), 17))
    missing = np.where(above, 1.0, np.nan)
    table = pa.table(
        {
            "uscc": uscc,
            "name": pa.nulls(n, pa.string()),
            "county_code": county,
            "city_code": np.char.add(county.astype("U4"), "00"),
            "industry_code": np.full(n, "C3441"),
            "industry_division": np.full(n, "C34"),
            "traditional_industry": pa.nulls(n, pa.string()),
            "above_size": above,
            "est_year": np.full(n, 2005.0),
            "tax_paid": tax,
            "value_added": va * missing,
            "revenue": va * 4 * missing,
            "employees": land * 5 * missing,
            "energy": va / np.exp(rng.normal(0.6, 0.5, n)) * missing,
            "rd": va * 0.1 * missing,
            "electricity": tax * 3000,
            "water": land * 100,
            "cod": land * 0.02,
            "ammonia": land * 0.002,
            "so2": land * 0.01,
            "nox": land * 0.01,
            "land_own_mu": land,
            "land_leased_mu": np.full(n, np.nan),
            "n_parcels": np.ones(n),
        }
    )
    pq.write_table(table, path, compression="zstd")


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path)
    ap.add_argument("--year", type=int, default=2023)
    ap.add_argument("--national", type=int, default=5_000_000)
    ap.add_argument("--workdir", type=Path)
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="mujun-bench-eval-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db = args.db or build_province_store(workdir, args.year)
    r = _child(PROVINCE, str(db), str(args.year), str(RULES))
    print(
        f"province {r['firms']:,} firms: evaluate {r['evaluate_s']:.2f} s (target 2), "
        f"re-score with changed weights {r['rescore_s']:.2f} s (target 0.5, {r['moved']:,} firms "
        f"change class), peak RSS {r['peak_rss_mb']:.0f} MB (target 1536), run {r['run']}",
        flush=True,
    )
    if args.national:
        free = shutil.disk_usage(workdir).free
        need = args.national * 400  # bytes: Parquet input + output with room to spare
        if free < need:
            print(f"national: skipped, {free / 2**30:.1f} GiB free, need {need / 2**30:.1f} GiB")
            return
        path = workdir / f"national-{args.national}.parquet"
        if not path.exists():
            t = time.perf_counter()
            write_national(path, args.national)
            print(
                f"national input written in {time.perf_counter() - t:.0f} s "
                f"({path.stat().st_size / 2**20:.0f} MiB)",
                flush=True,
            )
        r = _child(NATIONAL, str(path), str(RULES), str(workdir / "national-results.parquet"))
        print(
            f"national {r['firms']:,} firms ({r['classed']:,} classed): read {r['read_s']:.1f} s, "
            f"score and classify {r['score_s']:.1f} s, write {r['write_s']:.1f} s, total "
            f"{r['total_s']:.1f} s (target 180), peak RSS {r['peak_rss_mb'] / 1024:.1f} GB "
            "(target 12)"
        )


if __name__ == "__main__":
    main()

"""Benchmark: robustness of classes, paths to the next class, what-if and the policy ledger on
the full province.

Prints best-of-N figures (the machine may be shared): re-scoring the run in memory, 1,000 Monte
Carlo draws over the weights (± spread) and, separately, over weights, benchmark strategies and
normalisation methods; the Sobol analysis with its budget of model evaluations; the paths of
every classed firm × lever. Targets (2 cores): 1,000 draws <= 60 s.

What-if and ledger (``--part policy``): building the what-if base (load and score the year once
per page), what-if with changed weights (target <= 1 s), bands, benchmark strategy and policy
rates (re-score, re-classify, policy amounts), and the policy ledger of the run (read, compute,
write).

    .venv/bin/python bench/policy.py --db STORE --run RUN [--repeat 3] [--draws 1000]
        [--part all|robustness|policy]

Without --db the full demo province is generated, ingested and evaluated first (not timed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RULES = ROOT / "rules" / "zhejiang-default.yaml"
POLICY = ROOT / "rules" / "policies" / "zhejiang-default.yaml"
WHATIFS = {
    "weights (tax/mu 40)": ["weights.tax_mu=40"],
    "bands 25/45/25/5": ["bands=0.25,0.45,0.25,0.05"],
    "benchmark cohort mean": ["benchmark=cohort-mean"],
    "policy rates only": ["policy.electricity_surcharge.D=0.2,0.4,0.6"],
}


def best(fn, repeat: int) -> tuple[float, object]:
    """The fastest of ``repeat`` calls and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def whatif_figures(db: Path, year: int, repeat: int) -> None:
    """Print the what-if figures: base build, then each kind of change."""
    from mujun.policy import load_policy
    from mujun.rules import load_rules
    from mujun.store import open_store
    from mujun.whatif import build_base, parse_changes, simulate

    rules, policy = load_rules(RULES), load_policy(POLICY)
    with open_store(db) as store:
        t_base, base = best(lambda: build_base(store, year, rules=rules, policy=policy), repeat)
        n = base.firms.n  # type: ignore[attr-defined]
        print(f"what-if base ({n:,} firms): load and score {t_base:.2f} s (once per page)")
        for label, sets in WHATIFS.items():
            changes = parse_changes(sets)
            t, result = best(lambda c=changes: simulate(base, c, store), repeat)
            target = " (target 1)" if label.startswith("weights") else ""
            print(
                f"what-if {label}: {t:.2f} s{target}, path {result.path}, "  # type: ignore[attr-defined]
                f"{result.n_moved:,} firms move class"  # type: ignore[attr-defined]
            )


def ledger_figures(db: Path, run: str, repeat: int) -> None:
    """Print the policy ledger figures: read, compute, write."""
    from mujun.policy import load_policy
    from mujun.policy.ledger import apply_policy, build_ledger, load_policy_inputs
    from mujun.store import open_store

    policy = load_policy(POLICY)
    with open_store(db) as store:
        t_read, inputs = best(lambda: load_policy_inputs(store, run), repeat)
        t_build, ledger = best(lambda: build_ledger(inputs, policy), repeat)  # type: ignore[arg-type]
        t_write, summary = best(lambda: apply_policy(store, run, policy), repeat)
    print(
        f"policy ledger of {run}: {summary['firms']:,} classed firms, "  # type: ignore[index]
        f"{ledger.num_rows:,} rows; read {t_read:.2f} s, compute {t_build:.2f} s, "  # type: ignore[attr-defined]
        f"read + compute + write {t_write:.2f} s"
    )


def _province(workdir: Path) -> tuple[Path, str]:
    data, db = workdir / "data", workdir / "province.duckdb"
    mujun = [sys.executable, "-m", "mujun"]
    subprocess.run(
        [*mujun, "demo-data", str(data), "--years", "2023", "--format", "csv"], check=True
    )
    subprocess.run(
        [*mujun, "ingest", str(data / "2023"), "--year", "2023", "--db", str(db)], check=True
    )
    subprocess.run(
        [*mujun, "evaluate", "--year", "2023", "--rules", str(ROOT / "rules" / "zhejiang-default.yaml"), "--db", str(db)],
        check=True,
    )  # fmt: skip
    return db, "E2023-0001"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path)
    ap.add_argument("--run", default="E2023-0001")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--sobol-n", type=int, default=128)
    ap.add_argument("--part", choices=("all", "robustness", "policy"), default="all")
    args = ap.parse_args()
    from mujun.paths import compute_paths
    from mujun.robustness.analysis import RobustnessSettings, analyse
    from mujun.robustness.runscore import load_run_scoring
    from mujun.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        db, run = (args.db, args.run) if args.db else _province(Path(tmp))
        best: dict[str, float] = {}

        def keep(key: str, value: float) -> None:
            best[key] = min(best.get(key, float("inf")), value)

        if args.part in ("all", "policy"):
            with open_store(db) as store:  # read-write: applies pending migrations
                year = int(store.scalar("SELECT year FROM runs WHERE run_id = ?", [run]))
            print(f"what-if and ledger, best of {args.repeat} (machine shared)", flush=True)
            whatif_figures(db, year, args.repeat)
            ledger_figures(db, run, args.repeat)
            if args.part == "policy":
                return
        with open_store(db) as store:  # read-write: applies pending migrations
            for _ in range(args.repeat):
                t = time.perf_counter()
                rs = load_run_scoring(store, run)
                keep("rescore_run_s", time.perf_counter() - t)
        firms = int(rs.firms.n)
        info: dict = {}
        for _ in range(args.repeat):
            r = analyse(rs, RobustnessSettings(draws=args.draws, sobol_n=args.sobol_n))
            keep("monte_carlo_weights_s", r.timings["monte_carlo_s"])
            keep("sobol_s", r.timings["sobol_s"])
            keep("leave_out_s", r.timings["leave_out_s"])
            info = {
                "sobol_evaluations": r.evaluations["sobol"],
                "fragile": int(sum(g.fragile.sum() for g in r.firms)),
                "classified": int(sum((g.published >= 0).sum() for g in r.firms)),
            }
        full = RobustnessSettings(
            draws=args.draws, sobol_n=0, benchmarks=("run", "cohort-mean", "cohort-median"),
            methods=("run", "minmax", "percentile-rank"),
        )  # fmt: skip
        for _ in range(args.repeat):
            r = analyse(rs, full)
            keep("monte_carlo_all_sources_s", r.timings["monte_carlo_s"])
            info["fragile_all_sources"] = int(sum(g.fragile.sum() for g in r.firms))
            info["variants_all_sources"] = r.variants
        for _ in range(args.repeat):
            t = time.perf_counter()
            paths = compute_paths(rs)
            keep("paths_s", time.perf_counter() - t)
        rows = sum(fp.rows.size for fp, _ in paths.groups)
        reach = sum(int((fp.status == "reachable").sum()) for fp, _ in paths.groups)
    print(
        json.dumps(
            {
                "firms": firms,
                "draws": args.draws,
                "sobol_base_samples": args.sobol_n,
                **info,
                "path_rows": rows,
                "path_reachable": reach,
                **{k: round(v, 2) for k, v in best.items()},
                "note": f"best of {args.repeat}; machine shared with other engineers",
            },
            ensure_ascii=False,
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

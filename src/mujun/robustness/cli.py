"""`mujun robustness RUN`: analyse a run, store the results, print a summary."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from mujun.paths import compute_paths
from mujun.robustness.analysis import RobustnessSettings, analyse
from mujun.robustness.runscore import load_run_scoring
from mujun.robustness.tables import summarise, write_analysis
from mujun.store import open_store

SIZE_ZH = {"above": "规上", "below": "规下"}


def _split(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def robustness_command(
    console: Console,
    db: Path,
    threads: int,
    run: str,
    *,
    draws: int,
    spread: float,
    benchmarks: str,
    methods: str,
    threshold: float,
    seed: int,
    sobol_n: int,
    paths: bool,
) -> None:
    """Run the analysis (and the paths) over a run, write them and print the figures."""
    settings = RobustnessSettings(
        draws=draws, spread=spread, benchmarks=_split(benchmarks), methods=_split(methods),
        threshold=threshold, seed=seed, sobol_n=sobol_n,
    )  # fmt: skip
    settings.check()
    with open_store(db, threads=threads) as store:
        t0 = time.perf_counter()
        with console.status(f"re-scoring {run} …"):
            rs = load_run_scoring(store, run)
        t_load = time.perf_counter() - t0
        with console.status(f"{draws} Monte Carlo draws, Sobol, leave-one-out …"):
            result = analyse(rs, settings)
        result.timings["rescore_run_s"] = t_load
        found = None
        if paths:
            t1 = time.perf_counter()
            with console.status("paths to the next class …"):
                found = compute_paths(rs)
            result.timings["paths_s"] = time.perf_counter() - t1
        aid = write_analysis(store, rs, result, found)
    _print(console, aid, result, summarise(result, found))


def _print(console: Console, aid: str, result, s: dict) -> None:
    st = result.settings
    console.print(
        f"[bold]稳健性分析 robustness {aid}[/] — {st.draws} draws, weights ×U(1±{st.spread:g}), "
        f"variants: {', '.join(result.variants)}; fragile when P(published class) < "
        f"{st.threshold:g}"
    )
    n, f = s["classified"], s["fragile"]
    share = f" ({100 * f / n:.1f}%)" if n else ""
    console.print(
        f"分类企业 classified {n:,}; 脆弱 fragile {f:,}{share}; mean P(published class) "
        f"{(s['mean_p_class'] or 0):.3f}; fragile by class: "
        + ", ".join(f"{k} {v:,}" for k, v in s["fragile_by_class"].items())
    )
    t = Table(title="Sobol indices of the weights (mean over firms whose output varies)")
    for col in ("size", "output", "indicator", "S1", "ST", "firms", "evaluations"):
        t.add_column(col, justify="left" if col in ("size", "output", "indicator") else "right")
    for r in result.sensitivity:
        t.add_row(
            SIZE_ZH.get(r.size, r.size), r.output, f"{r.name} {r.indicator}", f"{r.s1:.3f}",
            f"{r.st:.3f}", f"{r.firms:,}", f"{r.evaluations:,}",
        )  # fmt: skip
    if result.sensitivity:
        console.print(t)
    t = Table(title="Leave one indicator out (weight 0, others re-normalised)")
    for col in ("size", "indicator", "mean |rank shift|", "class changes", "firms"):
        t.add_column(col, justify="left" if col in ("size", "indicator") else "right")
    for r in result.leave_out:
        t.add_row(
            SIZE_ZH.get(r.size, r.size), f"{r.name} {r.indicator}", f"{r.mean_rank_shift:.2f}",
            f"{r.class_changes:,}", f"{r.firms:,}",
        )  # fmt: skip
    if result.leave_out:
        console.print(t)
    if "paths_reachable" in s:
        console.print(
            f"升级路径 paths for {s['paths_firms']:,} firms; reachable by lever: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(s["paths_reachable"].items()))
        )
    console.print(
        "timings (s): "
        + ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items())
        + f"; model evaluations: Monte Carlo {result.evaluations.get('monte_carlo', 0):,}, "
        f"Sobol {result.evaluations.get('sobol', 0):,}"
    )

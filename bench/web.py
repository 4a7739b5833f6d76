"""Benchmark: open-loop HTTP load on the served full demo province.

`mujun serve` runs in its own process on a free loopback port; this process is the load
generator: an asyncio httpx client that sends requests on a fixed timetable (``rate`` per second),
whatever the answers do, as two logged-in users (a province administrator and a county analyst),
mixing the overview (`/`), the rankings page (`/rankings`, random page and filters) and an
enterprise portrait (`/firm/{uscc}`). Latency is measured from each request's *scheduled* send
time, so a slow server cannot hide its queue (no coordinated omission). Prints p50/p95/p99, errors
and the achieved rate, then searches for the highest rate that still meets p95 <= 150 ms with no
errors (a few short steps).

    .venv/bin/python bench/web.py [--db STORE] [--year 2023] [--rate 100] [--duration 30]
                                  [--no-search] [--workdir DIR]

Without --db, one year of the full demo province is generated, ingested and evaluated first (not
timed; kept in --workdir, default bench/out/web). A --db store is copied into the workdir, since
the bench adds users and publishes the run. Loopback only; the client shares the machine's cores
with the server, so the figures are a lower bound for a separate client machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx  # the dev extra's HTTP client (httpx's successor)

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Bench-pass-2030"
TARGET_P95_MS = 150.0
GRACE_S = 10.0


def build_store(workdir: Path, year: int, source: Path | None) -> tuple[Path, str]:
    """A store with the year evaluated, bench users created and the run published; (db, run)."""
    from mujun.evaluation import evaluate
    from mujun.rules import load_rules
    from mujun.store import open_store
    from mujun.web.demo import create_demo_users, publish_demo_run

    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "web.duckdb"
    if source is not None:
        shutil.copyfile(source, db)
    elif not db.exists():
        sys.path.insert(0, str(ROOT / "bench"))
        from evaluate import build_province_store

        print("building the full demo province (not timed) ...", flush=True)
        base = build_province_store(workdir, year)
        shutil.copyfile(base, db)
    with open_store(db) as store:
        run = store.scalar(
            "SELECT run_id FROM runs WHERE year = ? AND status IN ('published', 'final') "
            "ORDER BY created_at DESC LIMIT 1",
            [year],
        )
        if run is None:
            run = store.scalar(
                "SELECT run_id FROM runs WHERE year = ? ORDER BY created_at DESC LIMIT 1", [year]
            )
        if run is None:
            print(f"evaluating {year} (not timed) ...", flush=True)
            rules = load_rules(ROOT / "rules" / "zhejiang-default.yaml")
            run = evaluate(store, year, rules=rules).run_id
        publish_demo_run(store, run, workdir / "publications")
        create_demo_users(store, PASSWORD, prefix="bench-")
        analysed = store.table_exists("robustness_analyses") and store.scalar(
            "SELECT count(*) FROM robustness_analyses WHERE run_id = ?", [run]
        )
        applied = store.table_exists("policy_applications") and store.scalar(
            "SELECT count(*) FROM policy_applications WHERE run_id = ?", [run]
        )
    # What `make demo` serves: the policy ledger and the robustness analysis with paths to the
    # next class (the portrait shows both), made with the same commands.
    mujun = [sys.executable, "-m", "mujun"]
    if not applied:
        print("applying the default policy (not timed) ...", flush=True)
        policy = ROOT / "rules" / "policies" / "zhejiang-default.yaml"
        subprocess.run([*mujun, "policy", "apply", run, "--policy", str(policy), "--db", str(db)],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    if not analysed:
        print("robustness analysis, as in make demo (not timed) ...", flush=True)
        subprocess.run([*mujun, "robustness", run, "--draws", "200", "--sobol-n", "0",
                        "--db", str(db)], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    return db, run


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, port: int, log: Path) -> subprocess.Popen:
    """`mujun serve` in its own process, its output in ``log``; returns once /api/v1/health
    answers."""
    # A file, not a pipe: nobody reads a pipe during the load, and a full pipe would stall
    # the server on its next log line.
    out = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mujun", "serve", "--db", str(db), "--port", str(port)],
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    out.close()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not answer /api/v1/health within 120 s")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the server process started by start_server."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@dataclass
class User:
    """A logged-in client and the firms it may open."""

    name: str
    client: httpx.AsyncClient
    firms: list[str] = field(default_factory=list)
    pages: int = 1


async def login(base: str, username: str, run: str, connections: int) -> User:
    """Log in through the API (CSRF cookie first) and list some firms in the user's scope."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    client = httpx.AsyncClient(base_url=base, limits=limits, timeout=GRACE_S + 30)
    await client.get("/api/v1/csrf")
    token = client.cookies["mujun_csrf"]
    r = await client.post(
        "/api/v1/login",
        json={"username": username, "password": PASSWORD},
        headers={"X-CSRF-Token": token},
    )
    r.raise_for_status()
    r = await client.get(f"/api/v1/runs/{run}/results", params={"page_size": 500})
    r.raise_for_status()
    body = r.json()
    firms = [row["uscc"] for row in body["rows"]]
    if not firms:
        raise RuntimeError(f"{username} sees no firms in run {run}")
    return User(username, client, firms, max(1, min(body["total"] // 50, 200)))


def pick_request(user: User, rng: random.Random, year: int) -> tuple[str, str]:
    """(kind, path): a third each of overview, rankings (random page/filter) and portrait."""
    kind = rng.choice(("overview", "rankings", "portrait"))
    if kind == "overview":
        return kind, f"/?year={year}"
    if kind == "rankings":
        extra = rng.choice(("", "&class=A", "&class=C", "&size=above", "&sort=tax_mu"))
        return kind, f"/rankings?year={year}&page={rng.randint(1, user.pages)}{extra}"
    return kind, f"/firm/{rng.choice(user.firms)}?year={year}"


async def run_load(users: list[User], rate: float, duration: float, year: int) -> dict:
    """Send rate*duration requests on a fixed timetable; latency counted from the schedule."""
    rng = random.Random(1)
    n = int(rate * duration)
    plan = [
        (users[i % len(users)], *pick_request(users[i % len(users)], rng, year)) for i in range(n)
    ]
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2

    async def one(i: int, user: User, kind: str, path: str) -> None:
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            r = await user.client.get(path)
            await r.aread()
            ok = r.status_code == 200
            reason = f"HTTP {r.status_code}"
        except httpx.HTTPError as exc:
            ok, reason = False, type(exc).__name__
        latencies.append((loop.time() - scheduled) * 1000)
        by_kind.setdefault(f"{user.name.removeprefix('bench-')} {kind}", []).append(latencies[-1])
        if not ok:
            errors[reason] = errors.get(reason, 0) + 1

    tasks = [asyncio.create_task(one(i, u, kind, path)) for i, (u, kind, path) in enumerate(plan)]
    # Bounded: whatever has not answered GRACE_S after the last scheduled send is cancelled and
    # counted as an error, with its wait so far as a (lower-bound) latency.
    _done, pending = await asyncio.wait(tasks, timeout=0.2 + duration + GRACE_S)
    cutoff = loop.time()
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for i, task in enumerate(tasks):
        if task in pending:
            latencies.append((cutoff - (start + i / rate)) * 1000)
    if pending:
        errors["unfinished"] = len(pending)
    elapsed = cutoff - start
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]

    return {
        "rate": rate,
        "requests": n,
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": latencies[-1],
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "achieved_rps": (n - len(pending)) / elapsed,
        "p95_by_kind": {
            k: sorted(v)[min(len(v) - 1, int(0.95 * len(v)))] for k, v in sorted(by_kind.items())
        },
    }


def show(label: str, res: dict) -> None:
    """Print one load step's figures on one line."""
    ok = res["p95_ms"] <= TARGET_P95_MS and res["errors"] == 0
    print(
        f"{label}: target {res['rate']:.0f}/s, achieved {res['achieved_rps']:.1f}/s, "
        f"{res['requests']} requests, p50 {res['p50_ms']:.1f} ms, p95 {res['p95_ms']:.1f} ms, "
        f"p99 {res['p99_ms']:.1f} ms, max {res['max_ms']:.0f} ms, errors {res['errors']}"
        f"{' ' + str(res['error_kinds']) if res['errors'] else ''} -> {'meets' if ok else 'misses'} "
        f"p95 <= {TARGET_P95_MS:.0f} ms with no errors",
        flush=True,
    )
    kinds = ", ".join(f"{k} {v:.0f}" for k, v in res["p95_by_kind"].items())
    print(f"  p95 by page (answered requests, ms): {kinds}", flush=True)


async def drain(client: httpx.AsyncClient, limit_s: float = 60) -> None:
    """Wait until the server has worked off cancelled requests (health answers quickly)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        try:
            await client.get("/api/v1/health")
            if time.monotonic() - t0 < 0.25:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)


async def bench(base: str, run: str, args: argparse.Namespace) -> None:
    """Log in, warm up, the main run, then the bounded search for the highest passing rate."""
    users = [
        await login(base, "bench-province", run, args.connections),
        await login(base, "bench-county", run, args.connections),
    ]
    print(
        f"users: bench-province ({users[0].pages} ranking pages), "
        f"bench-county ({users[1].pages} ranking pages)",
        flush=True,
    )
    print("warming up ...", flush=True)
    await run_load(users, 5, 3, args.year)  # warm-up: caches, connections
    await drain(users[0].client)
    cpu0, own0 = process_cpu(args.server_pid), time.process_time()
    main = await run_load(users, args.rate, args.duration, args.year)
    cpu1, own1 = process_cpu(args.server_pid), time.process_time()
    await drain(users[0].client)
    show(f"open loop {args.duration:.0f} s", main)
    print(
        f"  CPU per request: server {1000 * (cpu1 - cpu0) / main['requests']:.1f} ms, "
        f"load client {1000 * (own1 - own0) / main['requests']:.1f} ms "
        "(less noisy than latency on a shared machine)",
        flush=True,
    )
    if args.search:
        passing = main["rate"] if main["p95_ms"] <= TARGET_P95_MS and not main["errors"] else None
        lo, hi = (args.rate, None) if passing else (0.0, args.rate)
        for _ in range(args.steps):
            rate = lo * 2 if hi is None else (lo + hi) / 2
            if hi is not None and hi - lo < max(10.0, 0.1 * hi):
                break
            res = await run_load(users, rate, args.step_duration, args.year)
            show(f"search {args.step_duration:.0f} s", res)
            if res["p95_ms"] <= TARGET_P95_MS and not res["errors"]:
                lo, passing = rate, rate
            else:
                hi = rate
            await drain(users[0].client)
        print(
            f"highest rate meeting p95 <= {TARGET_P95_MS:.0f} ms with no errors: "
            f"{'none found' if passing is None else f'{passing:.0f} requests/s'}"
            f"{'' if hi is None else f' (misses at {hi:.0f}/s)'}",
            flush=True,
        )
    for u in users:
        await u.client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="an evaluated store (copied; default: build one)")
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of the main run")
    parser.add_argument("--no-search", dest="search", action="store_false")
    parser.add_argument("--steps", type=int, default=5, help="most search steps")
    parser.add_argument("--step-duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=256, help="per user")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "web")
    args = parser.parse_args()

    db, run = build_store(args.workdir, args.year, args.db)
    port = free_port()
    proc = start_server(db, port, args.workdir / "server.log")
    try:
        print(f"serving {db} (run {run}) on http://127.0.0.1:{port}", flush=True)
        args.server_pid = proc.pid
        asyncio.run(bench(f"http://127.0.0.1:{port}", run, args))
    finally:
        stop_server(proc)


if __name__ == "__main__":
    main()

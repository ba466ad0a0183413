"""bench/jobs.py's pick-up latency measure alone, many interleaved rounds: Rum of another tree
and Rum of this tree, one subprocess each per round (a fresh database each, as in
bench/jobs.py), so a busy moment of the shared machine hits both alike.

    git worktree add /tmp/before <commit>
    python bench/jobs_pickup_ab.py --before /tmp/before [--rounds 12] [--samples 40]
    python bench/jobs_pickup_ab.py --before /tmp/before --segments [--rounds 6]

Prints p50/p95 per run, pooled over the rounds and as medians of the per-run figures.
``--segments`` stamps each step of every pick-up instead (``time.perf_counter`` in one
process; the stamps themselves add a little): enqueue → INSERT sent, INSERT sent → NOTIFY
at the listener connection (server), NOTIFY → claim sent, claim round trip (server),
claim answer → job started, and the total; medians.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SEGMENTS = [("enqueue → INSERT sent", "enqueue", "insert_sent"),
            ("INSERT sent → NOTIFY at the listener (server)", "insert_sent", "notify"),
            ("NOTIFY → claim sent", "notify", "claim_sent"),
            ("claim round trip (server)", "claim_sent", "claim_answered"),
            ("claim answer → job started", "claim_answered", "job_started"),
            ("total", "enqueue", "job_started")]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def child_latency(samples: int) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    import jobs

    jobs.LATENCY_SAMPLES = samples
    values = jobs.in_fresh_database(URL, jobs.RumBench().latency)
    print(json.dumps([v * 1000 for v in values]))


def child_segments(samples: int) -> None:
    """One latency pass of bench/jobs.py's shape with a stamp at each step."""
    import time

    import asyncpg.connection
    import trio

    sys.path.insert(0, str(ROOT / "bench"))
    import jobs

    from rum_jobs import Job, Worker

    current: dict[str, Any] = {"marks": None}

    def mark(name: str) -> None:
        marks = current["marks"]
        if marks is not None and name not in marks:
            marks[name] = time.perf_counter()

    execute = asyncpg.connection.Connection._execute

    async def stamped(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        kind = ("insert" if "INSERT INTO rum_jobs" in query
                else "claim" if "picked" in query else None)
        if kind:
            mark(f"{kind}_sent")
        result = await execute(self, query, *args, **kwargs)
        if kind and result:
            mark(f"{kind}_answered")
        return result

    notification = asyncpg.connection.Connection._process_notification

    def noted(self: Any, *args: Any) -> Any:
        mark("notify")
        return notification(self, *args)

    asyncpg.connection.Connection._execute = stamped  # type: ignore[method-assign]
    asyncpg.connection.Connection._process_notification = noted  # type: ignore[method-assign]
    event: dict[str, trio.Event] = {}

    class Ping(Job):
        async def execute(self, args: Any) -> None:
            mark("job_started")
            event["e"].set()

    rows: list[dict[str, float]] = []

    async def body(db: Any) -> None:
        worker = Worker([Ping], db=db, concurrency=10, poll_interval=5.0)
        async with trio.open_nursery() as nursery:
            await nursery.start(worker.run)
            await trio.sleep(0.3)
            for _ in range(samples):
                await trio.sleep(0.05)
                event["e"] = trio.Event()
                current["marks"] = marks = {}
                mark("enqueue")
                await Ping.enqueue(db=db)
                await event["e"].wait()
                current["marks"] = None
                if all(k in marks for _, a, b in SEGMENTS for k in (a, b)):
                    rows.append({label: (marks[b] - marks[a]) * 1000
                                 for label, a, b in SEGMENTS})
            worker.stop()

    jobs.in_fresh_database(URL, lambda url: jobs.RumBench._run(url, body, pool=16))
    print(json.dumps(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True,
                        help="the other tree (its plugins/ and kernel/ go first on PYTHONPATH)")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--segments", action="store_true")
    parser.add_argument("--child", choices=["latency", "segments"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "latency":
        return child_latency(args.samples)
    if args.child == "segments":
        return child_segments(args.samples)
    before = Path(args.before).resolve()
    trees = {"before": f"{before / 'plugins'}{os.pathsep}{before / 'kernel'}", "after": None}
    results: dict[str, list[Any]] = {name: [] for name in trees}
    loads = []
    for r in range(args.rounds):
        for name in (list(trees) if r % 2 == 0 else list(trees)[::-1]):
            env = dict(os.environ)
            if trees[name]:
                env["PYTHONPATH"] = trees[name]  # type: ignore[assignment]
            out = subprocess.run(
                [sys.executable, __file__, "--before", str(before), "--samples",
                 str(args.samples), "--child", "segments" if args.segments else "latency"],
                env=env, cwd=ROOT, capture_output=True, text=True, check=True)
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            loads.append(os.getloadavg()[0])
        if not args.segments:
            print(f"round {r + 1}: " + "   ".join(
                f"{n} p50 {pct(v[-1], 0.5):.2f} p95 {pct(v[-1], 0.95):.2f} ms"
                for n, v in results.items()), flush=True)
    print(f"{args.rounds} rounds × {args.samples} pick-ups per tree; load average "
          f"{min(loads):.1f}-{max(loads):.1f}")
    if args.segments:
        print("| step (median ms) | before | after |\n|---|---:|---:|")
        for label, _, _ in SEGMENTS:
            cells = [statistics.median(row[label] for run in results[n] for row in run)
                     for n in trees]
            print(f"| {label} | {cells[0]:.2f} | {cells[1]:.2f} |")
        return None
    for name, runs in results.items():
        pooled = [v for run in runs for v in run]
        print(f"{name:7s} pooled p50 {pct(pooled, 0.5):.2f} p95 {pct(pooled, 0.95):.2f} ms; "
              f"median of the runs' p50 {statistics.median(pct(v, 0.5) for v in runs):.2f}, "
              f"p95 {statistics.median(pct(v, 0.95) for v in runs):.2f} ms")
    return None


if __name__ == "__main__":
    main()

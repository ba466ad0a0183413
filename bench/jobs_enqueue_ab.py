"""bench/jobs.py's enqueue measure alone, many interleaved rounds: Rum of another tree, Rum of
this tree, and pgqueuer, one subprocess each per round (a fresh database each, as in
bench/jobs.py), so a busy moment of the shared machine hits all three alike.

    git archive <commit> plugins/rum_jobs | tar -x -C /tmp/rum_before
    python bench/jobs_enqueue_ab.py --before /tmp/rum_before/plugins [--rounds 15] [--jobs 1000]

Prints the medians of bulk and one-by-one rates and the medians of the per-round ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE = ("import sys, json; sys.path.insert(0, 'bench'); import jobs; "
        "print(json.dumps(jobs.in_fresh_database({url!r}, "
        "lambda u: jobs.{cls}().enqueue(u, {n}))))")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True,
                        help="a plugins directory holding the other tree's rum_jobs")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--verbose", action="store_true", help="print every round's rates")
    args = parser.parse_args()
    runs = {"rum before": ("RumBench", args.before), "rum after": ("RumBench", None),
            "pgqueuer": ("PgqueuerBench", None)}
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in runs}
    loads = []
    for _ in range(args.rounds):
        loads.append(os.getloadavg()[0])
        for name, (cls, path) in runs.items():
            env = dict(os.environ)
            if path:
                env["PYTHONPATH"] = path
            out = subprocess.run(
                [sys.executable, "-c", CODE.format(url=args.url, cls=cls, n=args.jobs)],
                env=env, cwd=ROOT, capture_output=True, text=True, check=True)
            bulk, single = json.loads(out.stdout.strip().splitlines()[-1])
            results[name].append((bulk, single))
        if args.verbose:
            print("  ".join(f"{name} {values[-1][0]:,.0f}" for name, values in results.items()),
                  flush=True)
    print(f"{args.rounds} rounds of {args.jobs} jobs; load average at each round's start: "
          + ", ".join(f"{x:.1f}" for x in loads))
    for name, values in results.items():
        print(f"{name:10s}  bulk {statistics.median(v[0] for v in values):8,.0f} jobs/s"
              f"   one by one {statistics.median(v[1] for v in values):6,.0f} jobs/s")
    peer = results["pgqueuer"]
    for name in ("rum before", "rum after"):
        bulk = statistics.median(a[0] / b[0] for a, b in zip(results[name], peer, strict=True))
        one = statistics.median(a[1] / b[1] for a, b in zip(results[name], peer, strict=True))
        print(f"{name} / pgqueuer: bulk {bulk:.2f}x, one by one {one:.2f}x")
    gain = statistics.median(a[0] / b[0] for a, b in
                             zip(results["rum after"], results["rum before"], strict=True))
    print(f"rum after / rum before: bulk {gain:.2f}x")


if __name__ == "__main__":
    main()

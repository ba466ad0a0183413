"""The performance guard: instructions per request on Rum's hot paths against a baseline.

    python bench/guard.py               # measure, compare with bench/baseline.json
    python bench/guard.py --update      # measure and write the figures as the new baseline

Counts callgrind instructions (``Ir``) per request with ``bench/ir.py`` for each path in the
baseline (plaintext and json dispatch, a template render, ORM query building, plaintext through
the real HTTP server, a new visitor's page with sessions) and fails (exit status 1) when one
costs more than ``--threshold`` (default 10%) above its baseline figure. Instruction counts do
not depend on the machine's load, so the guard gives the same answer on a busy machine; they
do depend on the Python version and the libraries installed, so update the baseline
(``--update``, committed with a line in ``bench/RESULTS.md`` saying why) when those change or
when a slower path is accepted on purpose. Needs valgrind; takes 1-3 minutes; not part of
the test suite: run it before merging changes to the request path (see ``bench/README.md``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from ir import measure  # noqa: E402

BASELINE = HERE / "baseline.json"
DEFAULT_PATHS = ["plaintext", "json", "template", "query_build", "plaintext_http",
                 "sessions_new_visitor"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threshold", type=float, default=0.10,
                        help="allowed growth over the baseline (0.10: +10%%)")
    parser.add_argument("--update", action="store_true", help="write the measured figures as "
                                                              "the new baseline")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else {"paths": {}}
    paths = list(baseline["paths"]) or DEFAULT_PATHS
    measured = measure(paths, requests=args.requests)
    if args.update:
        BASELINE.write_text(json.dumps({
            "about": "callgrind instructions per request (bench/guard.py, bench/ir.py)",
            "measured": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "python": platform.python_version(), "requests": args.requests,
            "paths": {name: round(ir) for name, ir in measured.items()},
        }, indent=2) + "\n")
        for name, ir in measured.items():
            print(f"{name:24} {ir:12,.0f} Ir/request (baseline written)")
        return 0
    failed = []
    print(f"{'path':24} {'baseline':>12} {'now':>12} {'change':>8}")
    for name, ir in measured.items():
        base = baseline["paths"][name]
        change = ir / base - 1
        flag = "  REGRESSION" if change > args.threshold else ""
        print(f"{name:24} {base:12,.0f} {ir:12,.0f} {change:+8.1%}{flag}")
        if flag:
            failed.append(name)
    if failed:
        print(f"\nslower than the baseline by more than {args.threshold:.0%}: "
              f"{', '.join(failed)}. Profile with `valgrind --tool=callgrind` (bench/ir.py "
              "shows how), or, if the cost is intended, run `python bench/guard.py --update` "
              "and say why in bench/RESULTS.md.")
        return 1
    print(f"\nall paths within +{args.threshold:.0%} of the baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())

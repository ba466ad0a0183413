"""What the admin dashboards' request recording adds to every request.

    python bench/admin_dashboards.py [--requests 20000] [--rounds 7] [--no-write]

1. ``App.handle`` of a plain-text route, in process (no sockets, no database): an app without
   the dashboards and the same app with their hooks registered (``rum_request`` notes the
   time, ``rum_exception`` is idle, ``rum_response`` counts the request in the per-process
   recorder). Interleaved rounds; the median µs per request of each, and the difference.
2. The recorder's ``note`` alone (``timeit``): the dictionary update and histogram bisect.

The flush (one upsert per route every few seconds) is off the request path and not measured
here. Prints a table and appends it to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import timeit
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).parent))

from results import append_section, environment

from rum import App, Controller, Request, Response, hookimpl
from rum_admin.dashboards import DashboardSettings, RequestRecorder, install_dashboards


class Hello(Controller):
    async def get(self, request: Request) -> Response:
        return Response.text("hello")


class Dashboards:
    """Installs only the dashboards' hooks (no admin pages, no database)."""

    name = "bench_dashboards"

    @hookimpl
    def rum_configure(self, app: App) -> None:
        install_dashboards(app, DashboardSettings())


class Nothing:
    """A plugin with no hooks (an empty list would load every installed plugin)."""

    name = "nothing"


def make(with_dashboards: bool, root: Path) -> App:
    plugins: list[Any] = [Dashboards() if with_dashboards else Nothing()]
    return App([Hello.route("/hello/<int:id>")], plugins=plugins, root=root,
               config={"general": {"secret_key": "ab" * 32}})


async def per_request(app: App, n: int) -> float:
    """µs per ``app.handle`` of ``GET /hello/<id>``."""
    started = time.perf_counter()
    for i in range(n):
        response = await app.handle(Request("GET", f"/hello/{i & 7}"))
        assert response.status == 200
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    root = Path(__file__).parent
    plain, recorded = make(False, root), make(True, root)
    times: dict[str, list[float]] = {"plain": [], "recorded": []}

    async def run() -> None:
        await per_request(plain, 2000)  # warm up
        await per_request(recorded, 2000)
        for _ in range(args.rounds):
            times["plain"].append(await per_request(plain, args.requests))
            times["recorded"].append(await per_request(recorded, args.requests))

    trio.run(run)
    assert sum(c.count for c in recorded.extensions["admin.dashboards"].recorder.routes
               .values()) >= args.requests
    recorder = RequestRecorder()
    note = timeit.repeat(lambda: recorder.note("GET /hello/<int:id>", 200, 0.0004),
                         number=100_000, repeat=5)
    note_us = min(note) / 100_000 * 1e6
    base, with_hooks = statistics.median(times["plain"]), statistics.median(times["recorded"])
    table = "\n".join([
        "| measurement | µs per request |",
        "|---|---:|",
        f"| `App.handle`, no dashboards (median of {args.rounds} rounds) | {base:.2f} |",
        f"| `App.handle`, dashboards recording | {with_hooks:.2f} |",
        f"| **added by the dashboards' hooks** | **{with_hooks - base:.2f}** |",
        f"| `RequestRecorder.note` alone (timeit, best of 5) | {note_us:.2f} |",
    ])
    print(table)
    if not args.no_write:
        append_section(
            "Admin dashboards: request recording on the hot path",
            f"Command: `python bench/admin_dashboards.py --requests {args.requests} "
            f"--rounds {args.rounds}` (in-process `App.handle` of a route with a parameter, "
            f"interleaved rounds; {environment()}). The flush to PostgreSQL runs every 2 s "
            "in the background, one upsert per route, and is not on the request path.",
            table)


if __name__ == "__main__":
    main()

"""The plugin tax: the sample project's plugins on a trivial route against the quick-start app.

    python bench/plugin_tax.py [--duration 5] [--rounds 5] [--connections 50]
                               [--requests 300] [--env production] [--no-ir] [--no-wrk]

Two servers answer ``GET /`` with ``<h1>Hey Rum!</h1>``:

- "quick-start": the quick-start app (kernel + the http plugin, ``bench/http_rum_app.py``);
- "sample (all plugins)": ``rum run --no-reload`` in ``sample_project/`` (its ``Rum.toml``:
  every shipped plugin enabled, its settings, its in-app job worker; its ``/`` route is the
  same quick-start controller), on its own database (created and migrated at start-up on the
  PostgreSQL at 127.0.0.1:5432): ``rum_plugin_tax_production`` for ``--env production``,
  ``rum_plugin_tax`` (also seeded) for ``--env development``.

Both run in the environment ``--env`` (``RUM_ENV``), by default ``production``: a benchmark of
request cost runs the app as it runs in production. There the sample project still runs its
in-app job worker (1 s poll) and cron clock and the admin dashboards' flush, but not the
development-only live-reload watcher (a thread waking every 300 ms), seeding, or the
development key (a random ``RUM_GENERAL__SECRET_KEY`` is made for the run; production refuses
to start without one). ``--env development`` measures what ``rum run`` does on a laptop.

Each server is one process pinned to CPU 0 (``taskset``); ``wrk -t1`` is pinned to CPU 1.
Two visitors: a new one (no cookie) and a returning one, whose session cookie is captured
from the sample project's ``/login`` page (which stores a session for its CSRF token) and
sent with every request (``wrk -H 'Cookie: ...'``, the same header to both servers).
Rounds interleave (round, visitor, server; the server order alternates between rounds);
reported: median requests/s, min-max, and the ratio sample ÷ quick-start (the median of the
per-round ratios; the goal is >= 0.75 for a new visitor and >= 0.85 for a returning one).

It also reports callgrind instructions per request (``Ir``, stable on a loaded machine):
one Python process under ``valgrind --tool=callgrind --dump-before=os_getppid`` builds both
apps in-process (in the same ``--env``; the sample app with ``[jobs] run_worker_in_app =
false``, ``[turbo] live_reload = false`` and the admin dashboards' flush and refresh every
hour, so that no time-driven background work, inflated by callgrind's slowdown, lands in the
per-request figures; the idle part at the end shows what is left),
serves them over loopback with the real rum_http server, and runs ``--requests`` keep-alive
requests per (server, visitor), once through the HTTP server (client included) and once
through ``app.handle`` alone; ``os.getppid()`` between scenarios cuts the profile into parts
(see ``bench/ir.py``).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SAMPLE = REPO / "sample_project"
sys.path.insert(0, str(BENCH))
from results import append_section, environment  # noqa: E402

QUIET = {"RUM_HTTP__ACCESS_LOG": "false", "RUM_GENERAL__LOG_LEVEL": "warning"}
SERVERS = ("quick-start", "sample (all plugins)")
VISITORS = ("new visitor", "returning visitor")
IDLE = 2.0  # seconds both apps sit idle under callgrind at the end (background work)


def app_env(env: str) -> dict[str, str]:
    """The variables both servers (and the callgrind process) run with in environment ``env``."""
    database = "rum_plugin_tax" if env == "development" else f"rum_plugin_tax_{env}"
    extra = {**QUIET, "RUM_ENV": env,
             "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{database}"}
    if env != "development":  # production refuses to start without a key of its own
        extra["RUM_GENERAL__SECRET_KEY"] = os.environ.get("RUM_GENERAL__SECRET_KEY",
                                                          secrets.token_hex(32))
    return extra


# -- wall clock: wrk against two pinned servers --------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def command(name: str, port: int, env: dict[str, str]) -> tuple[list[str], Path, dict[str, str]]:
    py = sys.executable
    if name == "quick-start":
        return [py, "http_rum_app.py", str(port)], BENCH, env
    return [py, "-m", "rum.cli", "run", "--no-reload", "--port", str(port)], SAMPLE, env


class Server:
    """One started server, pinned to CPU 0."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        cmd, cwd, extra = command(name, self.port, env)
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(["taskset", "-c", "0", *cmd], cwd=cwd,
                                     env={**os.environ, **extra},
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.samples: dict[str, list[float]] = {v: [] for v in VISITORS}

    def wait(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n"
                                   f"{self.log.read().decode(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1) as r:
                    if b"Hey Rum!" in r.read():
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer in {timeout} s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def session_cookie(port: int) -> str:
    """``name=value`` of the session cookie the sample project's log-in page sets."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as r:
        cookies = r.headers.get_all("Set-Cookie") or []
    if not cookies:
        raise RuntimeError("the sample project's /login set no cookie")
    return "; ".join(c.split(";", 1)[0] for c in cookies)


def sets_cookie(port: int, cookie: str | None) -> bool:
    """Whether ``GET /`` answers with a ``Set-Cookie`` (for the report)."""
    headers = {"Cookie": cookie} if cookie else {}
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", headers=headers)
    with urllib.request.urlopen(req, timeout=10) as r:
        return bool(r.headers.get_all("Set-Cookie"))


def wrk(port: int, duration: int, connections: int, cookie: str | None) -> float:
    header = ["-H", f"Cookie: {cookie}"] if cookie else []
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}",
                          f"-d{duration}s", *header, f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{errors.group(1)} error responses:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def run_wrk(duration: int, rounds: int, connections: int,
            env: dict[str, str]) -> tuple[list[str], dict[str, Any]]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing (apt-get install wrk)")
    servers = [Server(name, env) for name in SERVERS]
    try:
        for server in servers:
            server.wait()
        sample = servers[1]
        cookie = session_cookie(sample.port)
        cookies = {"new visitor": None, "returning visitor": cookie}
        notes = [f"sample answers a new visitor with Set-Cookie: "
                 f"{sets_cookie(sample.port, None)}; a returning one: "
                 f"{sets_cookie(sample.port, cookie)}"]
        for server in servers:
            for visitor in VISITORS:
                wrk(server.port, 2, connections, cookies[visitor])  # warm-up
        for rnd in range(rounds):
            order = servers if rnd % 2 == 0 else servers[::-1]
            for visitor in VISITORS:
                for server in order:
                    rps = wrk(server.port, duration, connections, cookies[visitor])
                    server.samples[visitor].append(rps)
                    print(f"round {rnd + 1}: {visitor}: {server.name}: {rps:.0f} req/s",
                          flush=True)
    finally:
        for server in servers:
            server.stop()
    quick, sample = servers
    rows = ["| visitor | quick-start req/s (min-max) | sample req/s (min-max) | "
            "sample ÷ quick-start (median of rounds) | goal |", "|---|---|---|---:|---:|"]
    ratios: dict[str, float] = {}
    for visitor, goal in zip(VISITORS, ("0.75", "0.85"), strict=True):
        q, s = quick.samples[visitor], sample.samples[visitor]
        ratios[visitor] = statistics.median(b / a for a, b in zip(q, s, strict=True))
        rows.append(f"| {visitor} | {statistics.median(q):.0f} ({min(q):.0f}-{max(q):.0f}) | "
                    f"{statistics.median(s):.0f} ({min(s):.0f}-{max(s):.0f}) | "
                    f"**{ratios[visitor]:.2f}** | ≥ {goal} |")
    return rows, {"ratios": ratios, "notes": notes}


# -- instructions per request: one process under callgrind ---------------------------------------

def in_process_apps() -> tuple[Any, Any]:
    """The quick-start app and the sample app built in this process for callgrind: the sample
    with no in-app worker, no live reload, no access log, and the admin dashboards' flush and
    refresh every hour (no time-driven work lands in per-request figures)."""
    import dataclasses

    sys.path.insert(0, str(SAMPLE))
    from http_rum_app import make_app
    from tracker import create_app

    sample = create_app(root=SAMPLE, config={"jobs": {"run_worker_in_app": False},
                                             "turbo": {"live_reload": False},
                                             "http": {"access_log": False}})
    dash = sample.extensions.get("admin.dashboards")
    if dash is not None:
        dash.settings = dataclasses.replace(dash.settings, flush_interval=3600.0,
                                            refresh_interval=3600.0)
    return make_app(), sample


def bench_request(path: str, cookie: str | None) -> Any:
    """A ``GET path`` request as the server would make it (with ``cookie`` when given)."""
    from rum import Request

    headers = {"host": "bench", **({"cookie": cookie} if cookie else {})}
    return Request.from_target("GET", path, headers=headers, client=("127.0.0.1", 40000))


async def _child(requests: int, warmup: int) -> None:
    from contextlib import AsyncExitStack

    import trio

    from rum_http import serve_app

    quick, sample = in_process_apps()
    request = bench_request
    runners: list[Callable[[], Awaitable[Any]]] = []
    async with AsyncExitStack() as stack:
        bases = {}
        for name, app in (("quick", quick), ("sample", sample)):
            bases[name] = await stack.enter_async_context(
                serve_app(app, keep_alive_timeout=3600.0, request_timeout=3600.0))
        first = await sample.handle(request("/login", None))
        cookie = first.headers["set-cookie"].split(";", 1)[0]
        for name, app in (("quick", quick), ("sample", sample)):
            port = int(bases[name].rsplit(":", 1)[1])
            for visitor in (None, cookie):
                stream = await trio.open_tcp_stream("127.0.0.1", port)
                stream.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                wire = (b"GET / HTTP/1.1\r\nHost: bench\r\n"
                        + (f"Cookie: {visitor}\r\n".encode() if visitor else b"") + b"\r\n")

                async def over_http(stream: Any = stream, wire: bytes = wire) -> None:
                    await stream.send_all(wire)
                    data = b""
                    while not data.endswith(b"</h1>"):
                        data += await stream.receive_some(65536)
                    assert data.startswith(b"HTTP/1.1 200"), data[:300]

                async def handle(app: Any = app, visitor: str | None = visitor) -> None:
                    response = await app.handle(request("/", visitor))
                    assert response.status == 200, response.status

                runners += [over_http, handle]
        for once in runners:
            for _ in range(warmup):
                await once()
        os.getppid()  # dump: start-up and warm-up
        for once in runners:
            for _ in range(requests):
                await once()
            os.getppid()  # dump: this scenario
        await trio.sleep(IDLE)
        os.getppid()  # dump: both apps idle (what runs in the background, not per request)


def run_ir(requests: int, warmup: int, env: dict[str, str]) -> list[str]:
    with tempfile.TemporaryDirectory() as out:
        cmd = ["valgrind", "--tool=callgrind", "--dump-before=os_getppid",
               f"--callgrind-out-file={out}/cg.out", sys.executable, str(Path(__file__)),
               "--ir-child", "--requests", str(requests), "--warmup", str(warmup)]
        run = subprocess.run(cmd, capture_output=True, text=True,
                             env={**os.environ, **env})
        if run.returncode != 0:
            raise SystemExit(f"callgrind run failed ({run.returncode}):\n{run.stderr[-3000:]}")
        parts = sorted(Path(out).glob("cg.out.*"), key=lambda p: int(p.suffix[1:]))
        totals = [int(re.search(r"^totals: (\d+)", p.read_text(), re.M).group(1))  # type: ignore[union-attr]
                  for p in parts]
    if len(totals) != 10:
        raise SystemExit(f"expected 10 callgrind parts, got {len(totals)}")
    ir = [t / requests for t in totals[1:9]]
    # order: quick (new http, new handle, returning http, returning handle), then sample
    rows = ["| visitor | path | quick-start Ir | sample Ir | sample − quick-start | "
            "quick-start ÷ sample |", "|---|---|---:|---:|---:|---:|"]
    for v, visitor in enumerate(VISITORS):
        for p, path in enumerate(("HTTP server + client", "`app.handle` only")):
            q, s = ir[v * 2 + p], ir[4 + v * 2 + p]
            rows.append(f"| {visitor} | {path} | {q:,.0f} | {s:,.0f} | {s - q:+,.0f} | "
                        f"{q / s:.2f} |")
    rows.append(f"\nBoth apps idle for {IDLE:g} s (wall clock, under callgrind) after the "
                f"requests: {totals[9]:,} instructions in all (background work; not in the "
                "figures above, which are totals ÷ requests of the parts that ran requests).")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--requests", type=int, default=300, help="per callgrind scenario")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--env", default="production",
                        help="RUM_ENV of both apps (default: production; see the module doc)")
    parser.add_argument("--no-ir", action="store_true", help="skip the callgrind figures")
    parser.add_argument("--no-wrk", action="store_true", help="skip the wall-clock figures")
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--ir-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ir_child:
        import trio

        trio.run(_child, args.requests, args.warmup)
        return
    env = app_env(args.env)
    tables, notes = [], [f"both apps in the {args.env} environment (RUM_ENV={args.env})"]
    if not args.no_ir:
        tables.append("\n".join(run_ir(args.requests, args.warmup, env)))
        print(tables[-1], flush=True)
    if not args.no_wrk:
        rows, info = run_wrk(args.duration, args.rounds, args.connections, env)
        tables.append("\n".join(rows))
        notes += info["notes"]
        print(tables[-1], flush=True)
    load = os.getloadavg()
    notes.append(f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at the end")
    print("\n".join(notes))
    if args.append:
        flags = " ".join(f"--{k} {v}" for k, v in (("duration", args.duration),
                                                    ("rounds", args.rounds),
                                                    ("connections", args.connections),
                                                    ("requests", args.requests),
                                                    ("env", args.env)))
        description = (f"Command: `python bench/plugin_tax.py {flags}`. {environment()}; "
                       + "; ".join(notes) + ".")
        append_section("Plugin tax: sample project vs quick-start app", description,
                       "\n\n".join(tables))


if __name__ == "__main__":
    main()

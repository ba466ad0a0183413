"""Requests/s of the quick-start page: Rum against uvicorn+Starlette, hypercorn-trio and the
bare trio loops, side by side in one run (one server process each, the same wrk runs,
interleaved so that load from other jobs on the machine hits every server alike).

"rum" is the quick-start App (kernel + http plugin, ``bench/http_rum_app.py``), the same
work Starlette does; "rum sample_project" is ``rum run`` in ``sample_project/`` with all its
plugins (sessions, metrics, rate limiting, ... on every request; needs PostgreSQL).

    python bench/http_plaintext.py [--duration 10] [--connections 50] [--rounds 3]

Installs ``wrk`` (apt-get) and the peers (pip: the ``bench`` extra) when they are missing,
prints requests/s and each server as a ratio to Rum, and appends a dated section to
``bench/RESULTS.md``. Not a test: nothing here runs under pytest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SAMPLE = REPO / "sample_project"
RESULTS = BENCH / "RESULTS.md"


def ensure_tools() -> None:
    """Install wrk and the peer servers if absent."""
    if shutil.which("wrk") is None:
        print("installing wrk (apt-get)...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    missing = [pkg for mod, pkg in (("uvicorn", "uvicorn[standard]"), ("uvloop", "uvloop"),
                                    ("starlette", "starlette"), ("hypercorn", "hypercorn"))
               if importlib.util.find_spec(mod) is None]
    if missing:
        print(f"installing {' '.join(missing)} (pip)...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing], check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def servers(port: int) -> dict[str, tuple[list[str], Path, dict[str, str]]]:
    """name -> (command, cwd, extra environment); each serves the page on 127.0.0.1:port."""
    py = sys.executable
    quiet = {"RUM_HTTP__ACCESS_LOG": "false", "RUM_GENERAL__LOG_LEVEL": "warning"}
    return {
        "rum": ([py, "http_rum_app.py", str(port)], BENCH, {}),
        "rum sample_project (all plugins)": ([py, "-m", "rum.cli", "run", "--port", str(port)],
                                             SAMPLE, quiet),
        "uvicorn+starlette": ([py, "-m", "uvicorn", "http_starlette:app", "--port",
                               str(port), "--loop", "uvloop", "--http", "httptools",
                               "--no-access-log", "--log-level", "warning"], BENCH, {}),
        "hypercorn-trio+starlette": ([py, "-m", "hypercorn", "--worker-class", "trio",
                                      "--bind", f"127.0.0.1:{port}",
                                      "http_starlette:app"], BENCH, {}),
        "bare trio+httptools": ([py, "http_peers.py", "trio-httptools", str(port)], BENCH, {}),
        "bare trio+h11": ([py, "http_peers.py", "trio-h11", str(port)], BENCH, {}),
    }


def wait_for(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
                if b"Hey Rum!" in s.recv(4096):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not answer in time")


def wrk(port: int, duration: int, connections: int) -> float:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s",
                          f"http://127.0.0.1:{port}/"], capture_output=True, text=True,
                         check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{errors.group(1)} error responses:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


class Running:
    """One started server and its measurements."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = free_port()
        command, cwd, extra = servers(self.port)[name]
        # a file, not a pipe: a chatty server must not block on a full pipe
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(command, cwd=cwd, env={**os.environ, **extra},
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.samples: list[float] = []

    def stop(self) -> None:
        if self.proc.poll() is not None and self.proc.returncode:
            self.log.seek(0)
            print(self.log.read().decode(errors="replace")[-800:], flush=True)
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3,
                        help="wrk runs per server, interleaved round-robin; the median counts")
    parser.add_argument("--only", nargs="*", help="measure only these servers")
    parser.add_argument("--no-append", action="store_true",
                        help="print the table without appending it to bench/RESULTS.md")
    args = parser.parse_args()
    ensure_tools()
    names = args.only or list(servers(0))
    running = [Running(name) for name in names]
    failed: dict[str, str] = {}
    try:
        for server in list(running):
            try:
                wait_for(server.port, server.proc)
            except RuntimeError as exc:
                server.stop()
                print(f"{server.name}: {exc}; left out", flush=True)
                failed[server.name] = str(exc)
                running.remove(server)
                continue
            wrk(server.port, 2, args.connections)  # warm-up
        for rnd in range(1, args.rounds + 1):
            for server in running:
                rps = wrk(server.port, args.duration, args.connections)
                server.samples.append(rps)
                print(f"round {rnd}: {server.name}: {rps:.0f} req/s", flush=True)
    finally:
        for server in running:
            server.stop()
    results = {s.name: statistics.median(s.samples) for s in running}
    rum = results.get("rum")
    only = f" --only {' '.join(repr(n) for n in args.only)}" if args.only else ""
    command = (f"python bench/http_plaintext.py --duration {args.duration} "
               f"--connections {args.connections} --rounds {args.rounds}{only}")
    lines = [f"\n## HTTP plaintext, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n",
             f"Command: `{command}`. All servers started at once (one process each, access "
             f"logs off); `wrk -t1 -c{args.connections} -d{args.duration}s` per server, "
             f"interleaved round-robin over {args.rounds} rounds after a 2 s warm-up each; "
             f"median requests/s. {os.cpu_count()} cores shared with other jobs: compare "
             "ratios, not absolutes.\n",
             "| server | median req/s | ratio to Rum | samples |", "|---|---:|---:|---|"]
    for server in running:
        ratio = f"{results[server.name] / rum:.2f}x" if rum else "-"
        samples = ", ".join(f"{x:.0f}" for x in server.samples)
        lines.append(f"| {server.name} | {results[server.name]:.0f} | {ratio} | {samples} |")
    lines += [f"| {name} | - | - | {why} |" for name, why in failed.items()]
    print("\n".join(lines))
    if args.no_append:
        return
    with RESULTS.open("a", encoding="utf-8") as f:
        if RESULTS.stat().st_size == 0:
            f.write("# Benchmark results\n")
        f.write("\n".join(lines) + "\n")
    print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()

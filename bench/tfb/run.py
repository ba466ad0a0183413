"""TechEmpower-style endpoints, Rum against Starlette (uvicorn, granian), FastAPI and bare loops.

    python bench/tfb/run.py [--duration 5] [--rounds 3] [--connections 50] [--append]

Creates the ``rum_tfb`` database (``world``, ``fortune``) on the local PostgreSQL
(``TFB_SERVER_URL``, default ``postgresql://postgres@127.0.0.1:5432``), starts every server at
once, each one process pinned to CPU 0 (``taskset``), and runs ``wrk -t1`` pinned to CPU 1
against each endpoint of each server, interleaved round-robin (round, endpoint, server), so
load from other work hits every server alike. Reports the median requests/s per server and
endpoint, the spread (min-max) and the ratio peer ÷ Rum (above 1: the peer is faster).

Rum runs three ways: ``rum`` (one-shot queries), ``rum pin`` (``[database] pin_requests``)
and ``rum gather`` (the "queries" and "updates" endpoints await ``db.gather(...)``); the other
endpoints are the same code in all three. "updates" is TechEmpower's "database updates" test
with 20 rows: read one by one, each given a new random number, written back (Rum: one
``save()`` per row; the peers: one ``executemany``). The peers are uvicorn+Starlette and
granian+Starlette (the same Starlette app; granian with one worker, its Rust runtime
single-threaded) and uvicorn+FastAPI (``fastapi_app.py``), all on asyncpg, and two
floors that answer plaintext and json only (``floors.py``): a bare uvloop + httptools
``asyncio.Protocol`` server and a bare trio + httptools loop, no framework in either.
Needs ``wrk`` (apt-get) and the ``bench`` extra.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from results import append_section, environment  # noqa: E402

ENDPOINTS = {"plaintext": "/plaintext", "json": "/json", "1 query": "/db",
             "20 queries": "/queries?queries=20", "fortunes": "/fortunes",
             "updates": "/updates?queries=20"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def servers(url: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    py = sys.executable
    env = {"DATABASE_URL": url}
    return {
        "rum": ([py, str(HERE / "rum_app.py"), "{port}"], {**env, "RUM_TFB_MODE": "plain"}),
        "rum pin": ([py, str(HERE / "rum_app.py"), "{port}"], {**env, "RUM_TFB_MODE": "pin"}),
        "rum gather": ([py, str(HERE / "rum_app.py"), "{port}"],
                       {**env, "RUM_TFB_MODE": "gather"}),
        "uvicorn+starlette": ([py, "-m", "uvicorn", "--app-dir", str(HERE), "starlette_app:app",
                               "--port", "{port}", "--no-access-log", "--log-level", "warning"],
                              env),
        "uvicorn+fastapi": ([py, "-m", "uvicorn", "--app-dir", str(HERE), "fastapi_app:app",
                             "--port", "{port}", "--no-access-log", "--log-level", "warning"],
                            env),
        "granian+starlette": ([py, "-m", "granian", "--interface", "asgi", "--working-dir",
                               str(HERE), "--host", "127.0.0.1", "--port", "{port}",
                               "--workers", "1", "--runtime-mode", "st", "--no-ws",
                               "--loop", "uvloop", "--no-access-log", "--log-level", "warning",
                               "starlette_app:app"], env),
        "bare uvloop+httptools": ([py, str(HERE / "floors.py"), "uvloop-httptools", "{port}"],
                                  {}),
        "bare trio+httptools": ([py, str(HERE / "floors.py"), "trio-httptools", "{port}"], {}),
    }


#: the endpoints of servers that do not answer them all (the floors have no database)
ONLY_ENDPOINTS = {"bare uvloop+httptools": ("plaintext", "json"),
                  "bare trio+httptools": ("plaintext", "json")}


def serves(name: str, endpoint: str) -> bool:
    return endpoint in ONLY_ENDPOINTS.get(name, ENDPOINTS)


def wait_for(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not start")


def wrk(port: int, path: str, duration: int, connections: int) -> float:
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}",
                          f"-d{duration}s", f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"errors from port {port}{path}:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--only", nargs="*", help="server names to run (default: all)")
    parser.add_argument("--append", action="store_true", help="add to bench/RESULTS.md")
    args = parser.parse_args()
    server_url = os.environ.get("TFB_SERVER_URL", "postgresql://postgres@127.0.0.1:5432")
    subprocess.run(["psql", server_url + "/postgres", "-qc", "CREATE DATABASE rum_tfb"],
                   capture_output=True)
    url = server_url + "/rum_tfb"
    subprocess.run([sys.executable, str(HERE / "schema.py"), url], check=True)
    running: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}
    try:
        for name, (cmd, env) in servers(url).items():
            if args.only and name not in args.only:
                continue
            port = free_port()
            proc = subprocess.Popen(["taskset", "-c", "0", *(c.format(port=port) for c in cmd)],
                                    env={**os.environ, **env}, stdout=subprocess.DEVNULL)
            running[name] = (port, proc)
        for port, proc in running.values():
            wait_for(port, proc)
        rates: dict[tuple[str, str], list[float]] = {}
        for name, (port, _) in running.items():  # warm-up
            for endpoint, path in ENDPOINTS.items():
                if serves(name, endpoint):
                    wrk(port, path, 1, args.connections)
        for r in range(args.rounds):
            for endpoint, path in ENDPOINTS.items():
                for name, (port, _) in running.items():
                    if not serves(name, endpoint):
                        continue
                    rate = wrk(port, path, args.duration, args.connections)
                    rates.setdefault((name, endpoint), []).append(rate)
                    print(f"round {r + 1} {endpoint:11} {name:18} {rate:9.0f} req/s", flush=True)
    finally:
        for _, proc in running.values():
            proc.terminate()
            proc.wait(10)
    names = list(running)
    header = "| endpoint | " + " | ".join(f"{n} req/s (min-max)" for n in names)
    peers = [n for n in names if n != "rum"]
    header += " | " + " | ".join(f"{n} ÷ rum" for n in peers) + " |"
    lines = [header, "|---" * (1 + len(names) + len(peers)) + "|"]
    for endpoint in ENDPOINTS:
        med = {n: statistics.median(rates[(n, endpoint)]) for n in names if (n, endpoint) in rates}
        cells = [f"{med[n]:.0f} ({min(rates[(n, endpoint)]):.0f}-{max(rates[(n, endpoint)]):.0f})"
                 if n in med else "-" for n in names]
        ratios = [f"{med[p] / med['rum']:.2f}" if "rum" in med and p in med else "-"
                  for p in peers]
        lines.append(f"| {endpoint} | " + " | ".join(cells + ratios) + " |")
    table = "\n".join(lines)
    print(table)
    if args.append:
        load = os.getloadavg()[0]
        append_section(
            "TechEmpower-style endpoints: Rum vs Starlette (uvicorn, granian), FastAPI and bare "
            "loops",
            f"Command: `python bench/tfb/run.py --duration {args.duration} --rounds "
            f"{args.rounds} --connections {args.connections} --append`. Servers pinned to CPU 0,"
            f" `wrk -t1 -c{args.connections}` pinned to CPU 1, interleaved (round, endpoint, "
            f"server); medians of {args.rounds} rounds, min-max in brackets; ratio = peer ÷ "
            f"Rum (above 1: the peer is faster); pools of 10 connections everywhere. "
            f"{environment()}; load average {load:.1f} at the end (other engineers' work).",
            table)


if __name__ == "__main__":
    main()

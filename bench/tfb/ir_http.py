"""Instructions per request (callgrind ``Ir``) of each bench/tfb server over a real socket.

    python bench/tfb/ir_http.py [--only NAME ...] [--endpoints plaintext json] [--requests 2000]

Each server of ``run.py`` runs under ``valgrind --tool=callgrind --trace-children=yes`` twice:
once answering ``--warmup`` requests, once answering ``--warmup + --requests``, from a client
outside valgrind keeping ``--connections`` keep-alive connections busy (so the server is
saturated, as under ``wrk``). Ir per request = (Ir of the long run - Ir of the short run) ÷
``--requests``: start-up, warm-up and shut-down cancel out, and everything the server's
processes and threads execute is counted (the event loop, system call wrappers, the parser, the
framework). The figure does not move with the machine's load, unlike requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import ENDPOINTS, free_port, servers, serves, wait_for  # noqa: E402


async def _client(port: int, path: str, requests: int, connections: int) -> None:
    """Send ``requests`` GETs over ``connections`` keep-alive connections, one at a time each."""
    wire = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    left = [requests]

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while left[0] > 0:
            left[0] -= 1
            writer.write(wire)
            head = await reader.readuntil(b"\r\n\r\n")
            match = re.search(rb"(?i)content-length:\s*(\d+)", head)
            assert head.startswith(b"HTTP/1.1 200") and match, head
            await reader.readexactly(int(match[1]))
        writer.close()

    await asyncio.gather(*(one() for _ in range(connections)))


def _run(cmd: list[str], env: dict[str, str], path: str, requests: int,
         connections: int) -> int:
    """Total Ir of one server run answering ``requests`` requests."""
    with tempfile.TemporaryDirectory() as out:
        port = free_port()
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--trace-children=yes",
             f"--callgrind-out-file={out}/cg.%p", *(c.format(port=port) for c in cmd)],
            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        try:
            wait_for(port, proc, timeout=300)
            asyncio.run(_client(port, path, requests, connections))
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        time.sleep(0.5)
        total = 0
        for part in Path(out).glob("cg.*"):
            found = re.search(r"^(?:totals|summary): (\d+)", part.read_text(errors="replace"),
                              re.M)
            if found:
                total += int(found[1])
        if not total:
            raise SystemExit(f"no callgrind output for {cmd}")
        return total


def measure(cmd: list[str], env: dict[str, str], path: str, requests: int, warmup: int,
            connections: int) -> float:
    short = _run(cmd, env, path, warmup, connections)
    long = _run(cmd, env, path, warmup + requests, connections)
    return (long - short) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="server names (default: all)")
    parser.add_argument("--endpoints", nargs="*", default=["plaintext", "json"],
                        choices=list(ENDPOINTS))
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--connections", type=int, default=20)
    args = parser.parse_args()
    url = os.environ.get("TFB_SERVER_URL", "postgresql://postgres@127.0.0.1:5432") + "/rum_tfb"
    for name, (cmd, env) in servers(url).items():
        if args.only and name not in args.only:
            continue
        for endpoint in args.endpoints:
            if not serves(name, endpoint):
                continue
            ir = measure(cmd, env, ENDPOINTS[endpoint], args.requests, args.warmup,
                         args.connections)
            print(f"{name:24} {endpoint:11} {ir:10,.0f} Ir/request", flush=True)


if __name__ == "__main__":
    main()

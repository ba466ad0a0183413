"""Startup to first answer: ``rum run`` vs uvicorn+Starlette, interleaved.

    python bench/startup.py [--rounds 5] [--no-write]

Each round starts, in turn, a minimal "hello" app under ``rum run --no-reload`` (http plugin
only) and under ``uvicorn`` (Starlette), polls ``GET /`` every 5 ms until it answers 200, and
stops the process. Reported: median seconds from spawn to first answer, and the ratio.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from results import append_section, environment

RUM_APP = '''from rum import App, Controller, Response

class Hello(Controller):
    async def handle(self, request):
        return Response.text("hello")

app = App(routes=[Hello.route("/")])
'''
STARLETTE_APP = '''from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

async def hello(request):
    return PlainTextResponse("hello")

app = Starlette(routes=[Route("/", hello)])
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def first_answer(command: list[str], cwd: Path, port: int) -> float:
    """Seconds from spawning ``command`` to its first 200 on ``/``."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - started
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"{command} exited with {proc.returncode}") from None
                time.sleep(0.005)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="rum-startup-"))
    (root / "rum").mkdir()
    (root / "rum" / "app.py").write_text(RUM_APP)
    (root / "rum" / "Rum.toml").write_text('[plugins]\nenabled = ["http"]\n\n[http]\n'
                                           'access_log = false\n')
    (root / "star").mkdir()
    (root / "star" / "app.py").write_text(STARLETTE_APP)
    times: dict[str, list[float]] = {"rum run": [], "uvicorn+starlette": []}
    for _ in range(args.rounds):
        port = free_port()
        times["rum run"].append(first_answer(
            [sys.executable, "-m", "rum.cli", "run", "--no-reload", "--port", str(port)],
            root / "rum", port))
        port = free_port()
        times["uvicorn+starlette"].append(first_answer(
            [sys.executable, "-m", "uvicorn", "app:app", "--port", str(port), "--log-level",
             "warning"], root / "star", port))
    rum, peer = (statistics.median(times[k]) for k in times)
    table = "\n".join([
        "| server | spawn to first answer (s, median) |", "|---|---|",
        f"| rum run --no-reload | {rum:.3f} |", f"| uvicorn + Starlette | {peer:.3f} |",
        f"| **rum / uvicorn** (lower is better) | **{rum / peer:.2f}×** |"])
    print(table)
    if not args.no_write:
        append_section("Startup to first answer: rum run vs uvicorn+Starlette",
                       f"`python bench/startup.py --rounds {args.rounds}`; {environment()}; "
                       "interleaved rounds.", table)


if __name__ == "__main__":
    main()

"""Startup to first answer: ``rum run`` vs uvicorn+Starlette, interleaved.

    python bench/startup.py [--rounds 5] [--no-write]

Each round starts, in turn, a minimal "hello" app under ``rum run --no-reload`` (http plugin
only) and under ``uvicorn`` (Starlette), polls ``GET /`` every 5 ms until it answers 200, and
stops the process. Reported: median seconds from spawn to first answer, and the ratio.

Both are started twice per round:

- *bytecode cached* (the figure that counts): as an installed app starts from its second run
  on, with every module's ``.pyc`` written once (to a private ``PYTHONPYCACHEPREFIX``, so the
  source tree is left alone) by a warm-up start that is not counted;
- *no bytecode written* (``PYTHONDONTWRITEBYTECODE=1`` and no ``.pyc`` in an editable source
  tree): every Rum module is compiled from source at each start, while uvicorn and Starlette
  load the ``.pyc`` files pip wrote into site-packages; kept to compare with earlier figures.
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


def first_answer(command: list[str], cwd: Path, port: int, env: dict[str, str]) -> float:
    """Seconds from spawning ``command`` to its first 200 on ``/``."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**env, "PYTHONUNBUFFERED": "1"})
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
    base = {k: v for k, v in os.environ.items()
            if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    envs = {"cached": {**base, "PYTHONPYCACHEPREFIX": str(root / "pycache")},
            "uncached": {**base, "PYTHONDONTWRITEBYTECODE": "1"}}
    servers = {
        "rum": (lambda port: [sys.executable, "-m", "rum.cli", "run", "--no-reload", "--port",
                              str(port)], root / "rum"),
        "uvicorn": (lambda port: [sys.executable, "-m", "uvicorn", "app:app", "--port",
                                  str(port), "--log-level", "warning"], root / "star"),
    }

    def start(server: str, mode: str) -> float:
        command, cwd = servers[server]
        port = free_port()
        return first_answer(command(port), cwd, port, envs[mode])

    for server in servers:  # the warm-up that writes the bytecode cache
        start(server, "cached")
    times: dict[tuple[str, str], list[float]] = {
        (server, mode): [] for mode in envs for server in servers}
    for _ in range(args.rounds):
        for server, mode in times:
            times[(server, mode)].append(start(server, mode))
    median = {key: statistics.median(values) for key, values in times.items()}
    rows = ["| server | bytecode cached: s (median) | no bytecode written: s (median) |",
            "|---|---|---|"]
    for server, label in (("rum", "rum run --no-reload"), ("uvicorn", "uvicorn + Starlette")):
        rows.append(f"| {label} | {median[(server, 'cached')]:.3f} | "
                    f"{median[(server, 'uncached')]:.3f} |")
    ratios = [median[("rum", mode)] / median[("uvicorn", mode)] for mode in envs]
    rows.append(f"| **rum / uvicorn** (lower is better) | **{ratios[0]:.2f}×** | "
                f"**{ratios[1]:.2f}×** |")
    table = "\n".join(rows)
    print(table)
    if not args.no_write:
        append_section("Startup to first answer: rum run vs uvicorn+Starlette",
                       f"`python bench/startup.py --rounds {args.rounds}`; {environment()}; "
                       "interleaved rounds (see the script's docstring for the two columns).",
                       table)


if __name__ == "__main__":
    main()

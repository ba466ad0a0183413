"""``workers = N``: N processes accepting on one port through ``SO_REUSEPORT``.

The parent binds first (so port 0 resolves to one real port), serves like any worker, and
starts N-1 children with ``python -m rum.cli --root <root> --env <env> run --no-reload
--workers 1``; each child loads the project's app the way ``rum run`` does and binds the same
port with ``SO_REUSEPORT``, so the kernel spreads connections over the processes. Children
run in their own session (a terminal's Ctrl-C reaches only the parent); the parent forwards
SIGINT/SIGTERM to them, and when it stops it terminates the children still running and reaps them.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from typing import TYPE_CHECKING

import trio

from rum_http.server import HTTPServer

if TYPE_CHECKING:
    from rum.app import App
    from rum_http.settings import ServerSettings

logger = logging.getLogger("rum.http")


def child_command(app: App, settings: ServerSettings, port: int) -> list[str]:
    """The command line that starts one more worker for ``app`` on ``port``."""
    return [sys.executable, "-m", "rum.cli", "--root", str(app.root), "--env", app.config.env,
            "run", "--no-reload", "--workers", "1", "--host", settings.host, "--port", str(port)]


async def serve_with_workers(app: App, settings: ServerSettings) -> None:
    """Serve ``app`` from ``settings.workers`` processes; return when all have stopped."""
    server = HTTPServer(app, settings.with_options(reuse_port=True))
    children: list[trio.Process] = []
    signalled: set[int] = set()

    def forward(signum: int) -> None:
        for proc in children:
            if proc.returncode is None:
                proc.send_signal(signum)
                signalled.add(proc.pid)

    def stop_children() -> None:
        # children that got the user's signal are already stopping: a second one would force
        for proc in children:
            if proc.returncode is None and proc.pid not in signalled:
                proc.send_signal(signal.SIGTERM)
                signalled.add(proc.pid)

    server.on_signal = forward
    env = {**os.environ, "RUM_HTTP__REUSE_PORT": "true"}
    try:
        async with trio.open_nursery() as nursery:
            port = await nursery.start(server.serve)
            command = child_command(app, settings, port)
            for _ in range(settings.workers - 1):
                proc = await trio.lowlevel.open_process(command, env=env, cwd=str(app.root),
                                                        start_new_session=True)
                children.append(proc)
                nursery.start_soon(_watch_child, proc, server)
            logger.info("started %d worker process(es): %s", len(children),
                        ", ".join(str(p.pid) for p in children))
            await server.wait_stopped()
            stop_children()
            with trio.move_on_after(settings.shutdown_timeout + 5):
                for proc in children:
                    await proc.wait()
            nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            await _reap(children)


async def _watch_child(proc: trio.Process, server: HTTPServer) -> None:
    code = await proc.wait()
    if not server.closing:
        logger.error("worker process %d exited with code %s; %s serve on", proc.pid, code,
                     "the other processes")


async def _reap(children: list[trio.Process]) -> None:
    """Terminate children still running (then kill after 5 s) and wait for every one."""
    for proc in children:
        if proc.returncode is None:
            proc.terminate()
    with trio.move_on_after(5):
        for proc in children:
            await proc.wait()
    for proc in children:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

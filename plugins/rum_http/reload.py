"""``rum run --reload``: serve from a child process and restart it when the code changes.

The supervisor (the ``rum run`` process) starts ``python -m rum.cli --root <root> --env <env>
run --no-reload ...`` with the same address and workers, watches the project with
``watchfiles``, and on a change of a watched file (see :func:`is_watched`) stops the child
gracefully (SIGTERM, killed after ``shutdown_timeout`` + 5 s) and starts a new one, logging
one line naming the changed file. A restarted child that exits on its own (a syntax error in
the edited file) is started again on the next change; if the first child exits on its own
(its port is taken), the supervisor fails too. SIGINT/SIGTERM are forwarded to the child (a
second one forces it, as for the server itself); the supervisor returns once the child has
stopped.
"""

from __future__ import annotations

import logging
import math
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from rum.app import App
    from rum_http.settings import ServerSettings

logger = logging.getLogger("rum.http")

#: directories (at any depth under the project root) whose files never trigger a restart
IGNORED_DIRS = frozenset({"__pycache__", "tests", "node_modules", "venv", "env", "build",
                          "dist", "test-artifacts"})
#: milliseconds of quiet after a change before restarting (an editor's save is several events)
DEBOUNCE_MS = 300


def is_watched(root: Path, path: str | Path) -> bool:
    """True for the files whose change restarts the app: ``*.py`` and ``Rum.toml`` /
    ``Rum.<env>.toml`` under ``root``, outside hidden directories (``.rum``, ``.git``,
    ``.venv``...) and :data:`IGNORED_DIRS` (``tests`` included: the server does not run them)."""
    try:
        rel = Path(path).relative_to(root)
    except ValueError:
        return False
    if any(part.startswith(".") or part in IGNORED_DIRS for part in rel.parts[:-1]):
        return False
    name = rel.name
    if name.startswith("."):
        return False
    return name.endswith(".py") or (name.startswith("Rum.") and name.endswith(".toml"))


def child_command(app: App, settings: ServerSettings, port: int) -> list[str]:
    """The command line of the child that serves ``app`` on ``port`` without reloading."""
    return [sys.executable, "-m", "rum.cli", "--root", str(app.root), "--env", app.config.env,
            "run", "--no-reload", "--host", settings.host, "--port", str(port),
            "--workers", str(settings.workers)]


def pick_port(host: str) -> int:
    """A free port on ``host`` (for ``--port 0``: every child must bind the same one)."""
    family = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)[0][0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Reloader:
    """Runs the serving child of ``app`` and restarts it on changes; see the module doc."""

    def __init__(self, app: App, settings: ServerSettings) -> None:
        self.app = app
        self.settings = settings
        self.root = Path(app.root).resolve()
        self.proc: trio.Process | None = None
        self.restarts = 0
        #: set to end the watcher thread promptly (cancelling only waits for its timeout)
        self.stop_watching = trio.Event()

    async def run(self) -> int:
        """Supervise until SIGINT/SIGTERM has stopped the child; its exit code."""
        port = self.settings.port or pick_port(self.settings.host)
        command = child_command(self.app, self.settings, port)
        send, receive = trio.open_memory_channel[tuple[str, Any]](math.inf)
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._watch, send.clone())
                    nursery.start_soon(self._forward_signals, signals, send.clone())
                    code = await self._supervise(command, nursery, send, receive)
                    self.stop_watching.set()
                    nursery.cancel_scope.cancel()
            finally:
                self.stop_watching.set()
                with trio.CancelScope(shield=True):
                    if self.proc is not None:
                        await self._stop(self.proc)
        return code

    async def _supervise(self, command: list[str], nursery: trio.Nursery,
                         send: trio.MemorySendChannel[tuple[str, Any]],
                         receive: trio.MemoryReceiveChannel[tuple[str, Any]]) -> int:
        proc = await self._start(command, nursery, send)
        stopping = False
        async for kind, value in receive:
            if kind == "signal":
                stopping = True
                if proc.returncode is not None:
                    return 0
                proc.send_signal(value)
            elif kind == "exit":
                if value is not proc:
                    continue  # a child stopped for a restart
                if stopping:
                    return proc.returncode or 0
                if self.restarts == 0 and proc.returncode:
                    # the code the supervisor loaded did not serve (the port is taken, the
                    # database is down...): no edit fixes that, and the child has printed
                    # why in one line; leave with its exit code and say nothing more
                    raise SystemExit(proc.returncode)
                logger.error("the app process exited with code %s; waiting for a file change "
                             "to restart it", proc.returncode)
            elif kind == "change" and not stopping:
                names = [str(Path(p).relative_to(self.root)) for p in value]
                more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
                logger.info("reload: %s changed%s; restarting the app process",
                            names[0], more)
                await self._stop(proc)
                proc = await self._start(command, nursery, send)
                self.restarts += 1
        return 0

    async def _start(self, command: list[str], nursery: trio.Nursery,
                     send: trio.MemorySendChannel[tuple[str, Any]]) -> trio.Process:
        # its own session: a terminal's Ctrl-C reaches the supervisor, which forwards it once
        proc = await trio.lowlevel.open_process(command, cwd=str(self.root),
                                                start_new_session=True)
        self.proc = proc

        async def wait() -> None:
            await proc.wait()
            await send.send(("exit", proc))

        nursery.start_soon(wait)
        return proc

    async def _stop(self, proc: trio.Process) -> None:
        """SIGTERM (a graceful stop), then SIGKILL after ``shutdown_timeout`` + 5 s."""
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        with trio.move_on_after(self.settings.shutdown_timeout + 5):
            await proc.wait()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

    async def _forward_signals(self, signals: Any,
                               send: trio.MemorySendChannel[tuple[str, Any]]) -> None:
        async for signum in signals:
            logger.info("%s: stopping the app process", signal.Signals(signum).name)
            await send.send(("signal", signum))

    async def _watch(self, send: trio.MemorySendChannel[tuple[str, Any]]) -> None:
        from watchfiles import awatch

        root = self.root
        async for changes in awatch(root, watch_filter=lambda _, path: is_watched(root, path),
                                    debounce=DEBOUNCE_MS, step=50,
                                    stop_event=self.stop_watching):
            await send.send(("change", sorted({path for _, path in changes})))


async def serve_with_reload(app: App, settings: ServerSettings) -> int:
    """Serve ``app`` from a child process restarted on code changes; see the module doc."""
    # debug: a start-up error of the app process stays the only line printed
    logger.debug("reload: watching %s for changes to *.py and Rum*.toml", app.root)
    return await Reloader(app, settings).run()

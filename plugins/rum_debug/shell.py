"""``rum shell``: an interactive Python shell with the app started and its models imported.

The app runs under ``trio.run`` (``async with app.running()``) on the main thread; the console
reads and compiles lines on a worker thread, with top-level ``await`` allowed
(``ast.PyCF_ALLOW_TOP_LEVEL_AWAIT``). A line that awaits is handed to trio with
``trio.from_thread.run`` and the console waits for its result, so ``await User.all().count()``
runs on the app's own event loop, database pool and context. Ctrl-C cancels the statement
being awaited, or interrupts a running plain statement (``while True: pass``) the way
Python's own REPL does (a ``KeyboardInterrupt`` raised in the console thread); at the prompt it
only prints a hint. Ctrl-D or ``exit()`` leaves the shell and stops the app.
"""

from __future__ import annotations

import argparse
import ast
import code
import ctypes
import inspect
import signal
import sys
import threading
import types
from typing import Any

import trio

from rum import App


def shell_namespace(app: App) -> dict[str, Any]:
    """The names the shell starts with: ``app``, ``trio`` and every ``rum_orm.Model`` subclass
    defined in the project's modules (``models.py`` is imported when the app did not), by
    class name."""
    namespace: dict[str, Any] = {"app": app, "trio": trio}
    try:
        from rum_orm import load_models
    except ImportError:  # the ORM is not installed: no models
        return namespace
    for model in load_models(app):
        namespace.setdefault(model.__name__, model)
    return namespace


class TrioConsole(code.InteractiveConsole):
    """An :class:`code.InteractiveConsole` whose statements may ``await``: run it on a thread
    started by trio; awaiting statements run on that trio loop."""

    def __init__(self, namespace: dict[str, Any], token: trio.lowlevel.TrioToken) -> None:
        super().__init__(namespace, filename="<rum shell>")
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        self.token = token
        #: the cancel scope of the statement being awaited, if any (Ctrl-C cancels it)
        self.running: trio.CancelScope | None = None
        #: the console thread while it runs a plain statement (Ctrl-C interrupts it)
        self._executing: int | None = None
        self._lock = threading.Lock()

    def runcode(self, code: types.CodeType) -> None:
        """Run one compiled statement; an awaiting one on the trio loop."""
        try:
            if code.co_flags & inspect.CO_COROUTINE:
                coro = types.FunctionType(code, self.locals)()
                trio.from_thread.run(self._await, coro, trio_token=self.token)
            else:
                with self._lock:
                    self._executing = threading.get_ident()
                try:
                    exec(code, self.locals)
                finally:
                    with self._lock:  # an interrupt pending from here on still lands in try
                        self._executing = None
        except SystemExit:
            raise
        except BaseException:
            self.showtraceback()

    async def _await(self, coro: Any) -> None:
        with trio.CancelScope() as scope:
            self.running = scope
            try:
                await coro
            finally:
                self.running = None
        if scope.cancelled_caught:
            raise KeyboardInterrupt

    def interrupt(self) -> bool:
        """Cancel the statement being awaited, or raise ``KeyboardInterrupt`` in a plain one
        that is running; ``False`` when the console is waiting for input."""
        scope = self.running
        if scope is not None:
            scope.cancel()
            return True
        with self._lock:
            if self._executing is None:
                return False
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._executing),
                                                       ctypes.py_object(KeyboardInterrupt))
            return True


def _banner(app: App, namespace: dict[str, Any]) -> str:
    models = sorted(n for n, v in namespace.items() if isinstance(v, type) and n != "trio")
    example = f"await {models[0]}.all().count()" if models else "await trio.sleep(0)"
    return (f"Rum shell (Python {sys.version.split()[0]}, environment {app.config.env}): "
            f"the app is running.\n"
            f"Names: app, trio{''.join(', ' + m for m in models)}.\n"
            f"Top-level await works: {example}\n"
            f"Ctrl-C interrupts a statement; Ctrl-D or exit() leaves.")


def _interact(console: TrioConsole, banner: str) -> int:
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:  # pragma: no cover - not on every platform
        pass
    try:
        console.interact(banner=banner, exitmsg="")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return 0


async def run_shell(args: argparse.Namespace, app: App | None) -> int:
    """``rum shell``: start the app, then read Python statements until Ctrl-D or ``exit()``."""
    assert app is not None  # a needs_app command
    async with app.running():
        namespace = shell_namespace(app)
        console = TrioConsole(namespace, trio.lowlevel.current_trio_token())
        with trio.open_signal_receiver(signal.SIGINT) as interrupts:
            async with trio.open_nursery() as nursery:
                async def cancel_on_interrupt() -> None:
                    async for _ in interrupts:
                        if not console.interrupt():
                            print("\nKeyboardInterrupt (Ctrl-D or exit() leaves the shell)",
                                  flush=True)

                nursery.start_soon(cancel_on_interrupt)
                code_ = await trio.to_thread.run_sync(_interact, console,
                                                      _banner(app, namespace))
                nursery.cancel_scope.cancel()
    return code_

"""Running a threaded job's plain ``def execute`` in a worker thread, with its timeout
enforced as far as Python allows.

When the attempt's deadline passes (or the run is cancelled), the trio side stops waiting
at once and the attempt is recorded; the thread cannot be killed, so a
:class:`JobInterrupted` exception is raised inside it (``PyThreadState_SetAsyncExc``). That
exception fires at the thread's next Python bytecode: pure-Python loops stop promptly,
but a call blocked inside C code (``time.sleep``, a socket read without a timeout, a long
C-level computation) only sees it when that call returns. Until then the thread keeps one
of the worker's thread slots (there are ``concurrency`` of them).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import Any

import trio


class JobInterrupted(BaseException):
    """Raised inside a threaded job's thread when its attempt timed out or was cancelled.

    A ``BaseException``, so ``except Exception`` in job code does not swallow it."""


def _interrupt(ident: int) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident),
                                               ctypes.py_object(JobInterrupted))


async def run_in_thread(fn: Callable[[Any], Any], arg: Any, *,
                        limiter: trio.CapacityLimiter) -> Any:
    """``fn(arg)`` in a thread; on cancellation stop waiting and interrupt the thread."""
    state: dict[str, Any] = {"done": False}
    lock = threading.Lock()

    def target() -> Any:
        with lock:
            state["ident"] = threading.get_ident()
        try:
            return fn(arg)
        finally:
            with lock:
                state["done"] = True

    try:
        return await trio.to_thread.run_sync(target, abandon_on_cancel=True, limiter=limiter)
    except trio.Cancelled:
        with lock:
            if "ident" in state and not state["done"]:
                _interrupt(state["ident"])
        raise

"""The trio ↔ asyncio bridge: a dedicated thread runs an asyncio (uvloop when installed) event
loop that owns asyncpg; trio tasks hand it coroutines and sleep until the result comes back.

Chosen by measurement over trio-asyncio (``bench/orm_bridge.py``, figures in
``bench/RESULTS.md``). A call costs one ``call_soon_threadsafe`` into the loop; results go
back into trio through ``run_sync_soon``, one wake-up for every result that finished while
the previous wake-up was still pending (see :class:`_Resumer`); nothing polls.

Cancellation: when the waiting trio task is cancelled, the asyncio task running its coroutine
is cancelled too, and the trio task only resumes (raising :class:`trio.Cancelled`) once that
coroutine has finished unwinding on the loop, so ``async with pool.acquire()`` blocks inside
it have released their connection and asyncpg has cancelled the server-side query.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from types import CoroutineType
from typing import Any, TypeVar

import outcome
import trio

T = TypeVar("T")


class BridgeClosed(RuntimeError):
    """The bridge's event loop is not running (the database was closed or never opened)."""


def _new_loop(use_uvloop: bool) -> asyncio.AbstractEventLoop:
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class _Resumer:
    """Hands finished calls back to one trio run, many per wake-up, without trio's entry queue.

    On the asyncio thread, a finished call joins ``ready``; the first one arms a single
    wake-up, deferred with ``call_soon`` so that every call finishing in the same loop
    iteration rides on it: one byte written to a socket pair (a syscall that releases the
    GIL). On the trio side one waiting task, the *leader*, waits for that socket to be
    readable; the others (*followers*) sleep until rescheduled. The leader wakes in the same
    scheduler pass as the socket's event, which trio's ``run_sync_soon`` would spend a second
    pass and its entry-queue task on (callgrind: about 60k instructions per sequential call).
    It drains the socket, clears ``armed`` *before* taking the finished calls (so a call
    queued concurrently is either taken now or arms the next wake-up) and reschedules their
    followers. A leader whose own call has finished hands the lead to a follower still
    waiting.
    """

    __slots__ = ("__weakref__", "armed", "followers", "leader", "loop", "ready", "registered",
                 "rsock", "wsock")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.ready: deque[_Call] = deque()
        self.armed = False
        self.registered = False
        self.rsock, self.wsock = socket.socketpair()
        self.rsock.setblocking(False)
        self.wsock.setblocking(False)
        self.leader: _Call | None = None
        self.followers: set[_Call] = set()

    def __del__(self) -> None:
        self.rsock.close()
        self.wsock.close()

    # -- on the asyncio thread --------------------------------------------------------------------

    def push(self, call: _Call) -> None:
        self.ready.append(call)
        if not self.armed:
            self.armed = True
            self.loop.call_soon(self.wake)

    def wake(self) -> None:
        try:
            self.wsock.send(b"\0")
        except OSError:
            pass  # the buffer is full, so a wake-up is pending anyway

    # -- on the trio thread -----------------------------------------------------------------------

    async def wait(self, call: _Call) -> Any:
        """Sleep until ``call`` has finished on the loop; return or raise its outcome."""
        while not call.finished:
            if self.leader is None:
                await self._lead(call)
            else:
                self.followers.add(call)
                try:
                    # rescheduled when the call finished, or to take the lead
                    await trio.lowlevel.wait_task_rescheduled(call.abort)
                finally:
                    self.followers.discard(call)
        return call.outcome().unwrap()

    async def _lead(self, call: _Call) -> None:
        self.leader = call
        try:
            while not call.finished:
                if call.raise_cancel is None:
                    try:
                        await trio.lowlevel.wait_readable(self.rsock)
                    except BaseException as exc:  # Cancelled, KeyboardInterrupt
                        call.request_cancel(exc)
                        continue
                else:  # cancelled: wait, shielded, until the coroutine has unwound
                    with trio.CancelScope(shield=True):
                        await trio.lowlevel.wait_readable(self.rsock)
                self.drain()
        finally:
            self.leader = None
            if self.followers:
                trio.lowlevel.reschedule(self.followers.pop().task)

    def drain(self) -> None:
        # One byte per armed wake-up, so one read nearly always empties the socket; reading
        # again only when the buffer came back full saves the failing read (an exception
        # with its errno text, ~7k instructions per crossing) that a read-until-empty costs.
        try:
            while len(self.rsock.recv(4096)) == 4096:
                pass
        except BlockingIOError:
            pass
        self.armed = False
        ready = self.ready
        leader = self.leader
        while ready:
            call = ready.popleft()
            call.finished = True
            if call is not leader and call in self.followers:
                self.followers.discard(call)
                trio.lowlevel.reschedule(call.task)


class _Call:
    """One coroutine crossing the bridge: started on the loop, awaited in trio."""

    __slots__ = ("args", "atask", "finished", "fn", "loop", "raise_cancel", "result", "resumer",
                 "task")

    def __init__(self, loop: asyncio.AbstractEventLoop, fn: Callable[..., Awaitable[Any]],
                 args: tuple[Any, ...], resumer: _Resumer) -> None:
        self.loop = loop
        self.fn = fn
        self.args = args
        self.resumer = resumer
        self.task = trio.lowlevel.current_task()
        self.atask: asyncio.Future[Any] | None = None
        self.raise_cancel: Any = None  # how to raise the cancellation that interrupted us
        self.result: Any = None
        self.finished = False  # set on the trio thread once the result was handed over

    # -- on the asyncio thread --------------------------------------------------------------------

    def start(self) -> None:
        try:
            aw = self.fn(*self.args)
            # create_task skips ensure_future's checks for the usual case, a coroutine.
            self.atask = (self.loop.create_task(aw) if type(aw) is CoroutineType
                          else asyncio.ensure_future(aw, loop=self.loop))
        except BaseException as exc:
            self.result = outcome.Error(exc)
            self.resumer.push(self)
            return
        self.atask.add_done_callback(self.done)

    def cancel(self) -> None:
        if self.atask is not None:
            self.atask.cancel()

    def done(self, fut: asyncio.Future[Any]) -> None:
        if not fut.cancelled():
            exc = fut.exception()
            self.result = outcome.Value(fut.result()) if exc is None else outcome.Error(exc)
        self.resumer.push(self)

    # -- on the trio thread -----------------------------------------------------------------------

    def outcome(self) -> Any:
        result = self.result
        if result is None:  # the coroutine was cancelled
            if self.raise_cancel is not None:
                return outcome.capture(self.raise_cancel)
            return outcome.Error(BridgeClosed("the database was closed while a query was "
                                              "running"))
        if self.raise_cancel is not None and not _is_cancelled(self.raise_cancel):
            return outcome.capture(self.raise_cancel)  # KeyboardInterrupt is never lost
        return result

    def request_cancel(self, exc: BaseException) -> None:
        """The leader was interrupted by ``exc``: cancel the coroutine, raise ``exc`` once it
        has unwound."""
        def raise_it() -> None:
            raise exc
        self.raise_cancel = raise_it
        self._cancel_on_loop()

    def abort(self, raise_cancel: Any) -> trio.lowlevel.Abort:
        self.raise_cancel = raise_cancel
        self._cancel_on_loop()
        return trio.lowlevel.Abort.FAILED

    def _cancel_on_loop(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self.cancel)
        except RuntimeError:
            pass  # loop closed: every coroutine has finished and its result is on its way


def _is_cancelled(raise_cancel: Any) -> bool:
    try:
        raise_cancel()
    except trio.Cancelled:
        return True
    except BaseException:
        return False
    return False


class AsyncioThread:
    """An asyncio event loop in a daemon thread, driven from trio.

    ``await bridge.start()``, then ``await bridge.run(coro_fn, *args)`` runs
    ``coro_fn(*args)`` on the loop and returns its result (or raises its exception) in the
    calling trio task; ``await bridge.stop()`` cancels what is left and joins the thread.
    """

    def __init__(self, *, use_uvloop: bool = True, name: str = "rum-orm-asyncio") -> None:
        self.use_uvloop = use_uvloop
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._closing = False
        self._resumer = trio.lowlevel.RunVar[_Resumer](f"{name}-resumer")
        self._resumers: list[_Resumer] = []  # of the running loop, flushed when it closes

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self.loop is not None and self.loop.is_running()

    async def start(self) -> None:
        """Start the thread and wait until its loop runs."""
        if self._thread is not None:
            return
        self._ready.clear()
        self._closing = False
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()
        await trio.to_thread.run_sync(self._ready.wait)

    def _main(self) -> None:
        loop = _new_loop(self.use_uvloop)
        asyncio.set_event_loop(loop)
        self.loop = loop
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
            # No call can be scheduled any more (``_closing``); flush the ones already queued
            # and cancel every task until nothing is left, so each waiting trio task resumes.
            while True:
                loop.run_until_complete(asyncio.sleep(0))
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                if not pending:
                    break
                for t in pending:
                    t.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            self.loop = None
            with self._lock:
                resumers, self._resumers = self._resumers, []
            for resumer in resumers:  # a wake-up still queued on the loop would be lost
                if resumer.ready:
                    resumer.wake()
            loop.close()

    async def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``fn(*args)`` on the loop; return (or raise) its outcome in this trio task."""
        loop = self.loop
        if loop is None:
            raise BridgeClosed("the database is not open: use `async with Database.open(url)` "
                               "or run inside `async with app.running()`")
        try:
            resumer = self._resumer.get()
        except LookupError:
            resumer = _Resumer(loop)
            self._resumer.set(resumer)
        if resumer.loop is not loop:  # the bridge was restarted within this trio run
            resumer = _Resumer(loop)
            self._resumer.set(resumer)
        call = _Call(loop, fn, args, resumer)
        with self._lock:
            if self._closing:
                raise BridgeClosed("the database was closed")
            if not resumer.registered:
                resumer.registered = True
                self._resumers.append(resumer)
            loop.call_soon_threadsafe(call.start)
        return await resumer.wait(call)

    def run_sync(self, fn: Callable[..., T], *args: Any) -> None:
        """Schedule plain ``fn(*args)`` on the loop without waiting (fire and forget)."""
        with self._lock:
            if self.loop is not None and not self._closing:
                self.loop.call_soon_threadsafe(fn, *args)

    async def stop(self) -> None:
        """Stop the loop (cancelling leftover tasks) and join the thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        with self._lock:
            self._closing = True
            loop = self.loop
            if loop is not None:
                loop.call_soon_threadsafe(loop.stop)
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(thread.join)

"""Clean pooled connections kept warm for the next statement, on the bridge's event loop.

asyncpg's ``pool.acquire()`` and ``pool.release()`` cost far more than a short query's own
Python work: a queue, a proxy object, a shielded release task, an inactivity timer and,
unless the caller marked the connection clean, a session reset that is a round trip of its
own. Every acquire inside the ORM goes through :class:`IdleConnections` instead:

- a one-shot statement that cannot have changed session state (one the ORM generated, or raw
  SQL sent with ``stateless=True``) parks its connection on a LIFO stack, and the next
  acquire pops the most recently used one: a list pop and push, on a warm backend;
- when every connection of the pool is out, acquires wait here, and a clean connection freed
  here goes straight to the first of them; a connection that needs asyncpg's session reset
  goes back to the pool, and the first waiter then acquires there;
- a connection parked for ``linger`` seconds goes back to the pool (marked clean, so without
  a reset), so a quiet app holds nothing; code that acquires from ``db.pool`` directly waits
  at most that long when every connection is parked.

Everything here runs on the bridge loop's thread only.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import asyncpg

LINGER = 0.05  # seconds a clean connection stays out of the pool waiting for a statement


class IdleConnections:
    """Clean connections taken from ``pool``: a LIFO stack of parked ones, and the tasks
    waiting for one when every connection of the pool is out."""

    __slots__ = ("linger", "loop", "out", "pool", "releasing", "size", "stack", "sweep_handle",
                 "waiters", "waiting")

    def __init__(self, pool: asyncpg.Pool, *, size: int, linger: float = LINGER) -> None:
        self.pool = pool
        self.size = size  # the pool's max_size
        self.linger = linger
        self.stack: list[tuple[Any, float]] = []  # (connection, loop time it was parked)
        self.out = 0  # connections taken from the pool through here and not given back
        self.waiters: deque[asyncio.Future[Any]] = deque()  # for a connection freed here
        self.waiting = 0  # acquires inside pool.acquire(): a freed connection goes to the pool
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sweep_handle: asyncio.TimerHandle | None = None
        self.releasing: set[asyncio.Task[None]] = set()  # swept, on their way to the pool

    def __len__(self) -> int:
        return len(self.stack)

    async def acquire(self) -> Any:
        """The most recently parked live connection; else, when every connection is out, the
        next one freed here; else one from the pool."""
        stack = self.stack
        while stack:
            raw = stack.pop()[0]
            state = _state(raw)
            if state == "open":
                return raw
            await self._to_pool(raw)  # the pool replaces a closed connection
        if self.out >= self.size or self.waiters:
            raw = await self._wait()
            if raw is not None:
                return raw
        self.out += 1
        self.waiting += 1
        try:
            return await self.pool.acquire()
        except BaseException:
            self.out -= 1
            self._wake_one()  # the place this acquire would have taken is free again
            raise
        finally:
            self.waiting -= 1

    async def _wait(self) -> Any:
        """Wait for :meth:`release` to hand over a connection (``None``: one went back to the
        pool, acquire it there)."""
        loop = self.loop
        if loop is None:
            loop = self.loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self.waiters.append(fut)
        try:
            return await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                raw = fut.result()  # handed over just before the cancellation arrived
                if raw is not None:
                    await self.release(raw, clean=True)
                else:
                    self._wake_one()  # pass the turn at the pool on
            else:
                try:
                    self.waiters.remove(fut)
                except ValueError:
                    pass
            raise

    def _wake_one(self, raw: Any = None) -> bool:
        """Hand ``raw`` (or the turn to acquire from the pool, ``None``) to the first waiter
        still waiting; False when there is none."""
        waiters = self.waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(raw)
                return True
        return False

    def park(self, raw: Any) -> None:
        """Keep ``raw`` (clean: no transaction, no session state) for the next acquire."""
        loop = self.loop
        if loop is None:
            loop = self.loop = asyncio.get_running_loop()
        self.stack.append((raw, loop.time()))
        if self.sweep_handle is None:
            self.sweep_handle = loop.call_later(self.linger, self._sweep)

    async def release(self, raw: Any, *, clean: bool) -> None:
        """Finish with ``raw``. A clean, usable connection goes to a waiting acquire, else is
        parked (unless an acquire waits inside the pool); anything else goes back to the pool,
        with asyncpg's session reset unless ``clean``."""
        if clean and _state(raw) == "open" and not raw.is_in_transaction():
            if self._wake_one(raw):
                return
            if not self.waiting:
                self.park(raw)
                return
        if clean and _state(raw) != "released":  # a detached proxy has nothing to mark
            raw._rum_mark_clean()
        await self._to_pool(raw)

    async def release_used(self, raw: Any) -> None:
        """Finish with a connection a block held (``db.connection()``, a transaction, a
        cursor): back to the pool with asyncpg's session reset."""
        await self.release(raw, clean=False)

    async def _to_pool(self, raw: Any) -> None:
        """Give ``raw`` back to the pool (asyncpg resets it unless marked clean), then let a
        waiting acquire take a connection there."""
        self.out -= 1
        try:
            if _state(raw) != "released":  # asyncpg took a closed one back by itself
                await self.pool.release(raw)
        finally:
            self._wake_one()

    def _sweep(self) -> None:
        """Give back to the pool every connection parked ``linger`` seconds ago or earlier
        (the bottom of the stack is the oldest)."""
        self.sweep_handle = None
        loop = self.loop
        assert loop is not None
        stack = self.stack
        cutoff = loop.time() - self.linger
        stale = 0
        while stale < len(stack) and stack[stale][1] <= cutoff:
            stale += 1
        if stale:
            old, self.stack = stack[:stale], stack[stale:]
            for raw, _ in old:
                if _state(raw) == "open":
                    raw._rum_mark_clean()
                task = loop.create_task(self._to_pool(raw))
                self.releasing.add(task)
                task.add_done_callback(self.releasing.discard)
        if self.stack:
            self.sweep_handle = loop.call_later(self.linger, self._sweep)

    async def close(self) -> None:
        """Give every parked connection back to the pool (before the pool closes)."""
        if self.sweep_handle is not None:
            self.sweep_handle.cancel()
            self.sweep_handle = None
        stack, self.stack = self.stack, []
        for raw, _ in stack:
            if _state(raw) == "open":
                raw._rum_mark_clean()
            await self._to_pool(raw)
        if self.releasing:
            await asyncio.gather(*self.releasing, return_exceptions=True)


def _state(raw: Any) -> str:
    """``"open"``, ``"closed"`` (the server or the network ended it) or ``"released"``: when
    a pooled connection closes, asyncpg itself hands it back to the pool and detaches the
    proxy we hold."""
    try:
        return "closed" if raw.is_closed() else "open"
    except asyncpg.InterfaceError:
        return "released"

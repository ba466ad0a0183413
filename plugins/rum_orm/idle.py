"""Clean pooled connections kept warm for the next statement, on the bridge's event loop.

asyncpg's ``pool.acquire()`` and ``pool.release()`` cost far more than a short query's own
Python work: a proxy object, a shielded release task, an inactivity timer and, unless the
caller marked the connection clean, a session reset that is a round trip of its own. A
one-shot statement that cannot have changed session state (one the ORM generated, or raw SQL
sent with ``stateless=True``) hands its connection to :class:`IdleConnections` instead, and
the next acquire on this database takes the most recently used one back without touching the
pool: a list pop and push per statement, on the backend whose caches are warm.

A connection freed while an acquire waits on the pool goes to the pool instead, so no task
waits behind a parked connection. Connections idle here for longer than ``linger`` seconds go back to the pool (marked clean,
so without a reset), so a quiet app holds nothing and code that acquires from
``db.pool`` directly waits at most that long when every connection is idle here. Every
acquire inside the ORM goes through :meth:`IdleConnections.acquire` first.

Everything here runs on the bridge loop's thread only.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

LINGER = 0.05  # seconds a clean connection stays out of the pool waiting for a statement


class IdleConnections:
    """A LIFO stack of clean connections taken from ``pool`` and not yet given back to it."""

    __slots__ = ("linger", "loop", "pool", "releasing", "stack", "sweep_handle", "waiting")

    def __init__(self, pool: asyncpg.Pool, *, linger: float = LINGER) -> None:
        self.pool = pool
        self.linger = linger
        self.stack: list[tuple[Any, float]] = []  # (connection, loop time it was parked)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sweep_handle: asyncio.TimerHandle | None = None
        self.releasing: set[asyncio.Task[None]] = set()  # swept, on their way to the pool
        self.waiting = 0  # acquires waiting on the pool: a freed connection goes to them

    def __len__(self) -> int:
        return len(self.stack)

    async def acquire(self) -> Any:
        """The most recently parked live connection, else one from the pool."""
        stack = self.stack
        while stack:
            raw = stack.pop()[0]
            state = _state(raw)
            if state == "open":
                return raw
            if state == "closed":
                await self.pool.release(raw)  # the pool replaces a closed connection
        self.waiting += 1
        try:
            return await self.pool.acquire()
        finally:
            self.waiting -= 1

    def park(self, raw: Any) -> None:
        """Keep ``raw`` (clean: no transaction, no session state) for the next acquire."""
        loop = self.loop
        if loop is None:
            loop = self.loop = asyncio.get_running_loop()
        self.stack.append((raw, loop.time()))
        if self.sweep_handle is None:
            self.sweep_handle = loop.call_later(self.linger, self._sweep)

    async def release(self, raw: Any, *, clean: bool) -> None:
        """Finish with ``raw``: parked when ``clean`` and usable and no acquire waits on the
        pool, else back to the pool (with asyncpg's session reset unless ``clean``)."""
        if clean and not self.waiting and _state(raw) == "open" and not raw.is_in_transaction():
            self.park(raw)
            return
        if clean:
            raw._rum_mark_clean()
        await self.pool.release(raw)

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
                if _state(raw) == "released":
                    continue
                raw._rum_mark_clean()
                task = loop.create_task(self.pool.release(raw))
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
            if _state(raw) != "released":
                raw._rum_mark_clean()
                await self.pool.release(raw)
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

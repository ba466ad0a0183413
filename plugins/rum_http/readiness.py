"""Read readiness of the connections' sockets from one edge-triggered epoll set.

trio registers a socket with its epoll one-shot: every wait for a readable socket re-arms it
(an ``epoll_ctl`` system call plus the bookkeeping around it), once per request on a
keep-alive connection. Here each connection's socket is registered once, edge-triggered, in
an epoll set of the server's own; one task waits (through trio) for that set to have events,
takes them all with one ``epoll_wait`` and wakes the connections that wait. An edge that
arrives while its connection is busy is remembered, so the next wait returns at once (the
connection then reads; a read that finds nothing waits again). The end of the client's
input is remembered for good: it arrives as one edge, possibly with the last data, and a
read that returns that data does not report it, so every later wait returns at once (the
next read then finds the end).

This pays off only when a wake-up finds several sockets ready: with fewer than
:data:`ACTIVE_FROM` connections open the connections wait through trio, as before (the
set stays registered; edges that pile up meanwhile only cause a spare read later).

Only reads go through here; writes that do not complete at once still wait through trio.
Where epoll is missing (not Linux), :func:`make` returns ``None`` and connections wait
through trio.
"""

from __future__ import annotations

import select
from typing import Any

import trio
from trio.lowlevel import Abort, current_task, reschedule, wait_task_rescheduled

_EVENTS = getattr(select, "EPOLLIN", 0) | getattr(select, "EPOLLRDHUP", 0) | \
    getattr(select, "EPOLLET", 0)
#: the peer's end of input, a hang-up or an error: the socket stays readable for good
_FINAL = getattr(select, "EPOLLRDHUP", 0) | getattr(select, "EPOLLHUP", 0) | \
    getattr(select, "EPOLLERR", 0)
#: events taken per epoll_wait (more stay ready: the set's descriptor stays readable)
MAX_EVENTS = 256
#: connections open from which they wait here; below INACTIVE_BELOW they wait through trio
#: again. With few connections a wake-up rarely finds more than one socket ready, and the
#: polling task's own turn costs more than trio's re-arming (a lone keep-alive client: +20%
#: instructions per request; 20 busy connections: -5.5%, bench/tfb/ir_http.py)
ACTIVE_FROM = 8
INACTIVE_BELOW = 4


class Waiter:
    """One socket's read readiness: the task waiting for it, or an edge not consumed yet."""

    __slots__ = ("active", "fd", "final", "ready", "task")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        #: an edge arrived while nobody waited, or the peer's input ended (``final``)
        self.ready = False
        self.final = False
        self.task: Any = None
        #: still in the epoll set (after :meth:`Readiness.unregister`, waits go through trio)
        self.active = True


class Readiness:
    """The server's epoll set for its connections' reads (see the module documentation)."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._waiters: dict[int, Waiter] = {}
        self.closed = False
        #: whether connections wait here now (else through trio; see ACTIVE_FROM)
        self.active = False
        self._wake = trio.lowlevel.ParkingLot()
        self._waiting: trio.CancelScope | None = None

    def register(self, fd: int) -> Waiter | None:
        """Watch ``fd`` (a socket the caller owns) until :meth:`unregister`; ``None`` if it
        cannot be watched here (the caller then waits through trio)."""
        if self.closed:
            return None
        try:
            self._epoll.register(fd, _EVENTS)
        except OSError:
            return None
        waiter = self._waiters[fd] = Waiter(fd)
        if not self.active and len(self._waiters) >= ACTIVE_FROM:
            self.active = True
            self._wake.unpark_all()
        return waiter

    def unregister(self, waiter: Waiter) -> None:
        """Stop watching (before the socket closes or another party reads it); a task still
        waiting is woken (its read then fails or finds the socket closed)."""
        waiter.active = False
        if self._waiters.get(waiter.fd) is waiter:
            del self._waiters[waiter.fd]
            try:
                self._epoll.unregister(waiter.fd)
            except (OSError, ValueError):
                pass
        self._wake_one(waiter)
        if self.active and len(self._waiters) < INACTIVE_BELOW:
            self._deactivate()

    @staticmethod
    def _wake_one(waiter: Waiter) -> None:
        task, waiter.task = waiter.task, None
        waiter.ready = True  # its next wait returns at once; a read finding nothing waits
        if task is not None:
            reschedule(task)

    def _deactivate(self) -> None:
        """Few connections: they wait through trio again (the ones waiting here are woken)
        and the task stops polling, so a lone request costs no extra task switch."""
        self.active = False
        for waiter in list(self._waiters.values()):
            if waiter.task is not None:
                self._wake_one(waiter)
        if self._waiting is not None:
            self._waiting.cancel()

    async def wait(self, waiter: Waiter) -> None:
        """Return once ``waiter``'s socket may be readable (a checkpoint when it waits)."""
        if waiter.ready:
            waiter.ready = waiter.final
            return
        if not (waiter.active and self.active):
            await trio.lowlevel.wait_readable(waiter.fd)
            return
        if waiter.task is not None:
            raise trio.BusyResourceError("another task is already reading this connection")
        waiter.task = current_task()

        def abort(_: Any) -> Abort:
            waiter.task = None
            return Abort.SUCCEEDED

        await wait_task_rescheduled(abort)

    async def run(self) -> None:
        """Wake the connections whose sockets have events, until cancelled."""
        epoll = self._epoll
        waiters = self._waiters
        try:
            while True:
                if not self.active:
                    await self._wake.park()
                    continue
                with trio.CancelScope() as self._waiting:
                    await trio.lowlevel.wait_readable(epoll.fileno())
                self._waiting = None
                if not self.active:
                    continue
                for fd, flags in epoll.poll(0, MAX_EVENTS):
                    waiter = waiters.get(fd)
                    if waiter is None:
                        continue
                    if flags & _FINAL:
                        waiter.final = True
                    task = waiter.task
                    if task is not None:
                        waiter.task = None
                        waiter.ready = waiter.final
                        reschedule(task)
                    else:
                        waiter.ready = True
        finally:
            self.close()

    def close(self) -> None:
        """Wake every waiting connection (they wait through trio from then on) and close
        the epoll set."""
        if self.closed:
            return
        self.closed = True
        self.active = False
        for waiter in list(self._waiters.values()):
            self.unregister(waiter)
        trio.lowlevel.notify_closing(self._epoll.fileno())
        self._epoll.close()


def make() -> Readiness | None:
    """A :class:`Readiness` where epoll exists (Linux), else ``None``."""
    if not hasattr(select, "epoll") or not _EVENTS & getattr(select, "EPOLLET", 0):
        return None
    return Readiness()

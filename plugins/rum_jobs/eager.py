"""The eager claim: an idle worker's claim, sent from the NOTIFY callback on the database thread.

The ORM runs asyncpg on a thread of its own (``rum_orm.bridge``). Without this, a ``NOTIFY``
of new jobs crosses to trio, wakes the worker's listener task, which wakes its claim loop,
whose claim crosses back to the database thread: 0.3-0.5 ms on the pick-up path, before the
claim's own round trip even starts (bench/RESULTS.md, 2026-12-01).

So a worker waiting for work (free slots, nothing more due) *arms* its next claim: the plain
claim's statement and arguments, and the raw connection of its claim lane, reserved for it.
The listener's ``on_loop`` callback (:meth:`EagerClaim.on_notify`), on the database thread,
takes the armed claim when a notification names one of the worker's queues and starts it at
once. Trio is woken once, when the claimed rows are back: the worker's ``on_answer`` then
starts their jobs directly from that wake-up (in the claim loop's context), a scheduler pass
sooner than waking the claim loop to do it. It is the very statement the claim
loop would have sent, on the same connection, so a claim's guarantees hold unchanged (one
durable commit, the attempt bump and the lease; pauses and limits are enforced in its SQL).

A lock decides between the two threads: the claim loop *disarms* (takes the claim back)
whenever it wakes; whichever side takes the claim first sends it or drops it, never both.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from typing import Any

import trio


class EagerClaimFailed(RuntimeError):
    """The eager claim did not run to an answer (its task was cancelled)."""


class Shot:
    """One armed claim: sent at most once, from the database thread; awaited in trio."""

    __slots__ = ("abandoned", "args", "context", "convert", "done", "error", "n", "on_answer",
                 "raw", "rows", "runs", "statement", "task", "token")

    def __init__(self, raw: Any, statement: str, args: tuple[Any, ...], n: int, *,
                 convert: Callable[[Any], Any], on_answer: Callable[[Shot], None]) -> None:
        self.raw = raw              # the claim lane's asyncpg connection, reserved
        self.statement = statement
        self.args = args
        self.n = n                  # how many jobs the claim asks for (per queue when fair)
        self.convert = convert      # a row -> what the worker runs (on the database thread)
        self.on_answer = on_answer  # called in trio with this shot once answered
        self.token = trio.lowlevel.current_trio_token()
        self.context = contextvars.copy_context()  # the claim loop's, for on_answer
        self.done = trio.Event()    # set in trio once the answer was handled
        self.rows: list[Any] | None = None   # the claimed rows
        self.runs: list[Any] = []   # the rows converted (the claim loop's to start)
        self.error: BaseException | None = None
        self.task: asyncio.Task[Any] | None = None
        self.abandoned = False      # the claim loop gave up waiting (cancelled)

    # -- on the database thread -----------------------------------------------------------

    def fire(self) -> None:
        """Send the claim (on the database thread, inside the NOTIFY callback)."""
        try:
            self.task = asyncio.get_running_loop().create_task(
                self.raw.fetch(self.statement, *self.args))
        except BaseException as exc:
            self.error = exc
            self._hand_over()
            return
        self.task.add_done_callback(self._finished)

    def cancel(self) -> None:
        """Cancel the claim's task (on the database thread; asyncpg cancels the query)."""
        if self.task is not None:
            self.task.cancel()

    def _finished(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            self.error = EagerClaimFailed("the eager claim was cancelled")
        else:
            exc = task.exception()
            if exc is None:
                try:
                    self.rows = task.result()
                    self.runs = [self.convert(r) for r in self.rows]
                except Exception as exc2:  # a row the worker cannot read: claim loop logs it
                    self.error = exc2
            else:
                self.error = exc
        self._hand_over()

    def _hand_over(self) -> None:
        try:
            self.token.run_sync_soon(self._delivered)
        except trio.RunFinishedError:
            pass

    # -- on the trio thread ---------------------------------------------------------------

    def _delivered(self) -> None:
        try:
            self.context.run(self.on_answer, self)
        except Exception as exc:  # never into trio's run_sync_soon: the claim loop logs it
            self.error = exc
        finally:
            self.done.set()


class EagerClaim:
    """The armed claim of one worker, shared by its claim loop (trio thread) and its
    listener's callback (database thread). ``accepts(payload)`` tells, on the database
    thread, whether a notification may fire the claim (a queue of the worker's)."""

    __slots__ = ("_armed", "_lock", "accepts")

    def __init__(self, accepts: Callable[[str], bool]) -> None:
        self._lock = threading.Lock()
        self._armed: Shot | None = None
        self.accepts = accepts

    def arm(self, shot: Shot) -> None:
        """Let the next accepted notification send ``shot`` (trio thread)."""
        with self._lock:
            self._armed = shot

    def disarm(self, shot: Shot) -> bool:
        """Take ``shot`` back (trio thread): True when it was not sent (and now never will
        be); False when a notification sent it (its answer comes to ``shot.done``)."""
        with self._lock:
            if self._armed is shot:
                self._armed = None
                return True
            return False

    def on_notify(self, payload: str) -> bool:
        """The listener's ``on_loop`` (database thread): send the armed claim when
        ``payload`` names one of the worker's queues. True: the notification was used up
        (trio is woken by the claim's answer instead)."""
        if self._armed is None or not self.accepts(payload):
            return False
        with self._lock:
            shot, self._armed = self._armed, None
        if shot is None:
            return False
        shot.fire()
        return True

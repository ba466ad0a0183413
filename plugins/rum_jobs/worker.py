"""``Worker``: claims due jobs from PostgreSQL and runs them in a trio nursery.

One worker runs up to ``concurrency`` jobs at a time. It claims them in batches with
``FOR UPDATE SKIP LOCKED`` (fairly across its queues), wakes on ``LISTEN rum_jobs`` within
milliseconds of a commit and polls every ``poll_interval`` as a fallback. The worker holds one
lease, its row in ``rum_jobs_workers``, which a heartbeat renews and which covers every job it
claimed until the job's outcome is written; jobs of a worker that died or stalled are released
by any worker once that lease expires, recorded as ``worker_lost`` or ``stalled``. Successful
runs are marked complete in batches (one statement for many jobs).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import itertools
import logging
import math
import os
import socket
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import trio

from rum.jsonutil import dumps
from rum_jobs import sql
from rum_jobs.context import current_db, resolve_db
from rum_jobs.controls import CANCEL_NOTE, NOTE_PREFIX, QUEUES_NOTE
from rum_jobs.eager import EagerClaim, Shot
from rum_jobs.job import Job, job_class, jobs_by_name
from rum_jobs.limits import ClaimOutcome, LimitedClaimer
from rum_jobs.records import Claimed
from rum_jobs.results import Cancel, Discard, Done, Retry, Snooze, seconds
from rum_jobs.storable import encode_result, refused_by_postgres, refused_note, storable_text
from rum_jobs.store import stateless
from rum_jobs.threads import run_in_thread

if TYPE_CHECKING:
    from rum_jobs.clock import CronEntry
    from rum_jobs.pruner import Pruner

logger = logging.getLogger("rum.jobs")


class _Running:
    __slots__ = ("blocked", "cancel_reason", "run", "run_threaded", "scope")

    def __init__(self, run: Claimed) -> None:
        self.run = run
        self.scope = trio.CancelScope()
        self.cancel_reason: str | None = None
        self.blocked = 0.0  # seconds the event loop was seen blocked while this job ran
        self.run_threaded = False


class _Wake:
    """The claim loop's wake-up (a ``trio.Event``): :meth:`set` for every reason to claim
    (new jobs, a freed slot, a retry due, a control change); :meth:`ring` by the eager claim's
    answer alone, which is no reason to claim again."""

    __slots__ = ("_event", "others")

    def __init__(self) -> None:
        self._event = trio.Event()
        self.others = False  # set() was called: something besides the eager claim woke us

    def set(self) -> None:
        self.others = True
        self._event.set()

    def ring(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()


#: NOTIFY sent when a job of a limited queue/class ended (see _announce_free_slot).
LIMITED_SLOT_FREED = "SELECT pg_notify('rum_jobs', $1)"

#: Most completions written by one statement.
COMPLETE_BATCH = 1000
#: Most characters of results written by one statement (unless one result is bigger).
COMPLETE_BATCH_CHARS = 32 * 1024 * 1024
#: How long the event loop may be stuck before the worker says so (seconds).
BLOCKED_AFTER = 0.5
#: The smallest pool in which a worker holds its claim and completion lanes.
LANE_MIN_POOL = 6


class Worker:
    """Runs jobs of the given classes from the given queues until stopped.

    ``Worker(jobs=[SendEmail], queues=["default", "mail"], concurrency=10, db=db)``; start it
    with ``await worker.run()`` (or ``nursery.start(worker.run)``), stop it gracefully with
    :meth:`stop`. ``queues=None`` takes jobs from every queue. ``schedules`` are clock entries
    (``SendEmail.schedule(...)``) this worker also fires; ``pruner`` prunes history
    periodically. :meth:`drain` runs every due job inline and returns (for tests and scripts).
    ``observer(job_name, outcome, seconds)`` is called after each run (outcome: ``complete``,
    ``retried``, ``failed``, ``snoozed``, ``cancelled``, ``discarded``, ``interrupted``);
    workers built by ``app.jobs`` report to the metrics plugin this way.
    ``unknown_job_grace``: seconds after which a due job whose name no live worker has a class
    for is failed (``no job class named X; registered: ...``) instead of waiting forever.

    The worker holds one lease (its row in ``rum_jobs_workers``, renewed every ``lease / 3``)
    covering every job it claimed until that job's outcome is written; see docs/jobs.md,
    "Guarantees".
    """

    def __init__(
        self,
        jobs: Iterable[type[Job]] | Mapping[str, type[Job]],
        *,
        db: Any = None,
        queues: Sequence[str] | None = ("default",),
        concurrency: int = 10,
        poll_interval: float = 1.0,
        lease: float = 30.0,
        batch_size: int | None = None,
        schedules: Iterable[CronEntry] = (),
        pruner: Pruner | None = None,
        shutdown_timeout: float = 30.0,
        listen: bool = True,
        name: str | None = None,
        observer: Callable[[str, str, float], Any] | None = None,
        unknown_job_grace: float = 60.0,
    ) -> None:
        self.jobs = jobs_by_name(jobs)
        schedules = list(schedules)
        for entry in schedules:
            self.jobs.setdefault(entry.job.name, job_class(entry.job))
        if not self.jobs:
            raise ValueError("Worker needs at least one job class: Worker(jobs=[SendEmail])")
        if concurrency < 1:
            raise ValueError(f"Worker concurrency must be at least 1, got {concurrency}")
        if lease <= 0:
            raise ValueError(f"Worker lease must be positive seconds, got {lease}")
        self._db = db
        self.queues = list(queues) if queues is not None else None
        if self.queues is not None and not self.queues:
            raise ValueError("Worker queues is empty: name at least one queue, or None for all")
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease = lease
        self.batch_size = batch_size or concurrency
        self.schedules = schedules
        self.pruner = pruner
        self.shutdown_timeout = shutdown_timeout
        self.listen = listen
        self.observer = observer
        self.id = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._names = list(self.jobs)
        # concurrency/rate limits: limited classes and queues are claimed apart (limits.py)
        self._limits = LimitedClaimer(self.jobs, refresh_every=poll_interval)
        self._plain_names = self._limits.plain_names(self._names)
        self._running: dict[int, _Running] = {}
        self._wake = _Wake()
        self._stopping = False
        self._stopping_since: float | None = None
        self._stopped = trio.Event()
        self._done: list[dict[str, Any]] = []
        self._done_ready = trio.Event()
        self._flushing = 0
        self._flushed = trio.Event()
        self.started = trio.Event()
        self._services: trio.Nursery | None = None
        self._missing_table_logged = False
        self._threads = trio.CapacityLimiter(concurrency)
        self._writing: set[int] = set()  # ids whose completion is being written
        self._unknown_before: set[int] = set()
        self.unknown_job_grace = unknown_job_grace
        # one held connection each for the claims and for the completions (see _Lane)
        self._claim_lane = _Lane(self)
        self._complete_lane = _Lane(self)
        self._more = False  # the last claim filled a queue's share: more may be due now
        self._eager: EagerClaim | None = None  # set while the listener can send claims
        self.stats = {"claimed": 0, "claimed_on_notify": 0, "complete": 0, "retried": 0,
                      "failed": 0, "unknown_job": 0, "rescued": 0}

    @property
    def db(self) -> Any:
        """The database this worker uses (resolved when it starts)."""
        if self._db is None:
            self._db = resolve_db()
        return self._db

    @property
    def running(self) -> list[int]:
        """Ids of the jobs running right now."""
        return list(self._running)

    # -- lifecycle --------------------------------------------------------------------------

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run until :meth:`stop` (graceful) or cancellation."""
        token = current_db.set(self.db)
        try:
            async with trio.open_nursery() as services:
                self._services = services
                if self._lanes_allowed():
                    await services.start(self._claim_lane.hold)
                    await services.start(self._complete_lane.hold)
                services.start_soon(self._completer)
                await services.start(self._heartbeat)
                services.start_soon(self._rescuer)
                services.start_soon(self._watch_loop)
                if self.listen:
                    await services.start(self._listener)
                if self.schedules:
                    from rum_jobs.clock import Clock

                    services.start_soon(Clock(self.schedules, db=self.db).run)
                if self.pruner is not None:
                    services.start_soon(self.pruner.run, self.db)
                async with trio.open_nursery() as jobs:
                    self.started.set()
                    task_status.started(self)
                    await self._claim_loop(jobs)
                    with trio.move_on_after(self.shutdown_timeout):
                        while self._running:
                            await self._wait_wake()
                    for entry in self._running.values():
                        entry.cancel_reason = "shutdown"
                        entry.scope.cancel()
                with trio.CancelScope(shield=True), trio.move_on_after(10):
                    await self._flush_all()
                    if not self._done:
                        await self._unregister()
                services.cancel_scope.cancel()
        finally:
            self._services = None
            current_db.reset(token)
            self._stopped.set()

    def stop(self) -> None:
        """Stop claiming; running jobs get ``shutdown_timeout`` seconds to finish, then are
        interrupted and released for another worker (without using up an attempt)."""
        if not self._stopping:
            self._stopping_since = trio.current_time()
        self._stopping = True
        self._wake.set()

    async def wait_stopped(self) -> None:
        """Wait until :meth:`run` has returned."""
        await self._stopped.wait()

    async def drain(self, *, max_runs: int = 100_000) -> int:
        """Run every job that is due now (and those that become due while draining, like
        immediate retries and follow-up jobs), then return how many runs happened."""
        token = current_db.set(self.db)
        runs = 0
        try:
            while runs < max_runs:
                rows = await self._claim(min(self.concurrency, max_runs - runs))
                if not rows:
                    break
                async with trio.open_nursery() as nursery:
                    for run in rows:
                        nursery.start_soon(self._run_job, run)
                await self._flush_all()
                runs += len(rows)
        finally:
            current_db.reset(token)
        return runs

    # -- claiming ---------------------------------------------------------------------------

    async def _claim(self, n: int) -> list[Claimed]:
        limited = await self._limits.claim(self.db, names=self._names, queues=self.queues,
                                           n=n, worker_id=self.id, lease=self.lease)
        rows = list(limited.rows)
        self._after_limited_claim(limited)
        # Whether claiming again at once could find more: a limited claim took jobs, or the
        # plain claim filled a queue's share. Otherwise the claim loop waits for a wake-up
        # (a NOTIFY of new jobs, a freed slot, a retry coming due, the poll) instead of
        # running a claim that would find nothing.
        more = bool(rows)
        n -= len(rows)
        if n > 0 and self._plain_names:
            statement, args, share = self._plain_claim(n)
            plain = await self._claim_lane.fetch(statement, *args)
            more = self._filled(plain, share) or more
            rows += plain
        self._more = more
        self.stats["claimed"] += len(rows)
        return [Claimed.from_row(r) for r in rows]

    def _plain_claim(self, n: int) -> tuple[str, tuple[Any, ...], int]:
        """The plain claim of up to ``n`` jobs: statement, arguments and each queue's share."""
        tail = (self._plain_names, self.id, self.lease)
        if self.queues is None:
            return sql.CLAIM_ANY, (None, n, *tail), n
        if len(self.queues) == 1:
            return sql.CLAIM_ONE, (self.queues, n, *tail), n
        share = max(1, math.ceil(n / len(self.queues)))
        return sql.CLAIM_FAIR, (self.queues, share, *tail), share

    def _filled(self, rows: Sequence[Any], share: int) -> bool:
        """Whether a plain claim filled a queue's share (so more may be due at once)."""
        if not rows:
            return False
        if self.queues is None or len(self.queues) == 1:
            return len(rows) >= share
        taken: dict[str, int] = {}
        for r in rows:
            taken[r["queue"]] = taken.get(r["queue"], 0) + 1
        return max(taken.values()) >= share

    async def _claim_loop(self, nursery: trio.Nursery) -> None:
        claim = True
        while not self._stopping:
            if claim:
                self._wake = _Wake()
                free = self.concurrency - len(self._running)
                if free <= 0:
                    await self._wake.wait()
                    continue
                try:
                    runs = await self._claim(min(free, self.batch_size))
                except Exception as exc:
                    self._log_db_error(exc, "claiming jobs")
                    runs = []
                self._start(runs, nursery)
                if runs and self._more:
                    continue
            # Nothing more was due when the claim ran: wait for a wake-up (a NOTIFY, a slot
            # freed meanwhile, a retry due, the poll) rather than claiming again at once for
            # nothing. Meanwhile a NOTIFY may send the claim itself (rum_jobs.eager).
            free = self.concurrency - len(self._running)
            if free <= 0:
                await self._wake.wait()
                claim = True
                continue
            if not await self._wait_idle(min(free, self.batch_size), nursery):
                claim = True
                continue
            # Claim again at once only when the eager claim filled its share, something else
            # woke the loop meanwhile, or the limits are due a refresh (a queue limited since
            # then is claimed by the limited claim, which only the normal path runs).
            claim = self._more or self._wake.others or self._limits.refresh_due()
            if not claim:
                self._wake = _Wake()  # only the eager answer rang it: nothing is lost

    def _start(self, runs: list[Claimed], nursery: trio.Nursery) -> None:
        for run in runs:
            old = self._running.get(run.id)
            if old is not None and old.cancel_reason is None:
                # An earlier attempt of this job still runs here: the worker stalled past its
                # lease, the job was released and this worker claimed it again before its
                # heartbeat noticed. The earlier run lost the job: interrupt it (it records
                # nothing), so one attempt runs, not two.
                logger.warning("worker %s claimed job %s again (attempt %d) while its attempt "
                               "%d still ran here (released after a stall); interrupting "
                               "that one", self.id, run.id, run.attempt, old.run.attempt)
                old.cancel_reason = "lease_lost"
                old.scope.cancel()
            entry = self._running[run.id] = _Running(run)
            nursery.start_soon(self._run_job, entry)

    async def _wait_idle(self, n: int, nursery: trio.Nursery) -> bool:
        """Wait for a wake-up or the poll. Meanwhile, when it can, let a NOTIFY of new jobs
        send the claim of up to ``n`` jobs from the database thread (rum_jobs.eager), whose
        jobs are started in ``nursery`` as soon as its answer reaches trio. True when such
        a claim ran (even if it took nothing); False: claim as usual."""
        shot = self._arm(n, nursery)
        if shot is None:
            with trio.move_on_after(self.poll_interval):
                await self._wake.wait()
            return False
        eager = self._eager
        assert eager is not None
        try:
            with trio.move_on_after(self.poll_interval):
                await self._wake.wait()
            if eager.disarm(shot):
                self._claim_lane.unreserve()
                return False
            await shot.done.wait()
        except BaseException:
            if eager.disarm(shot):
                self._claim_lane.unreserve()
            else:
                await self._abandon(shot)
            raise
        self._claim_lane.unreserve()
        if shot.error is not None:
            self._claim_lane.lost()
            if isinstance(shot.error, Exception):
                self._log_db_error(shot.error, "claiming jobs")
            return False
        # The answer started its jobs; they run in this scheduler pass: let them go first
        # (arming the next claim can wait a pass).
        await trio.sleep(0)
        return True

    def _arm(self, n: int, nursery: trio.Nursery) -> Shot | None:
        """Arm an eager claim of up to ``n`` jobs: when the listener can send it, the worker
        takes plain jobs only (no limited class; none of its queues limited, as last read)
        and its claim lane's connection is free (it stays reserved until disarmed)."""
        eager = self._eager
        if (eager is None or self._stopping or not self._plain_names
                or not self._limits.idle_for(self._names, self.queues)):
            return None
        raw = self._claim_lane.reserve()
        if raw is None:
            return None
        statement, args, share = self._plain_claim(n)

        def on_answer(shot: Shot) -> None:  # trio thread, the claim loop's context
            if shot.error is not None or shot.abandoned:
                return
            self._more = self._filled(shot.rows or (), shot.n)
            self.stats["claimed"] += len(shot.runs)
            self.stats["claimed_on_notify"] += len(shot.runs)
            try:
                self._start(shot.runs, nursery)
            except RuntimeError as exc:  # the jobs nursery closed: the worker is gone
                logger.warning("worker %s: %d claimed job(s) not started (%s); released when "
                               "its lease expires", self.id, len(shot.runs), exc)
            self._wake.ring()

        shot = Shot(raw, statement, args, share, convert=Claimed.from_row, on_answer=on_answer)
        eager.arm(shot)
        return shot

    async def _abandon(self, shot: Shot) -> None:
        """The claim loop was cancelled while an eager claim ran: cancel it (asyncpg cancels
        the query) and wait for it to unwind, then hand the lane's connection back to the
        pool. Jobs it took were started in the jobs nursery, being cancelled too: each is
        released without using an attempt, as a running job is."""
        with trio.CancelScope(shield=True), trio.move_on_after(5):
            if not shot.done.is_set():
                bridge = getattr(self.db, "bridge", None)
                if bridge is not None:
                    bridge.run_sync(shot.cancel)
                await shot.done.wait()
        shot.abandoned = True  # an answer arriving later starts nothing
        self._claim_lane.unreserve()
        self._claim_lane.lost()

    def _after_limited_claim(self, outcome: ClaimOutcome) -> None:
        # A rate window frees a slot at a known time; a slot held by one of our own finished
        # jobs frees when its completion is written (soon): claim again then, not at the poll.
        if outcome.retry_in is not None:
            self._wake_after(outcome.retry_in + 0.005)
        if outcome.blocked and (self._done or self._flushing):
            self._wake_after(0.02)

    def _on_control_note(self, note: str) -> None:
        """A ``rum:...`` note on the ``rum_jobs`` channel: queue controls changed, or a
        running job was cancelled (see :mod:`rum_jobs.controls`)."""
        if note == QUEUES_NOTE:
            self._limits.invalidate()
            self._wake.set()
        elif note.startswith(CANCEL_NOTE):
            try:
                job_id = int(note[len(CANCEL_NOTE):])
            except ValueError:
                return
            entry = self._running.get(job_id)
            if entry is not None and entry.cancel_reason is None:
                logger.info("worker %s: job %s was cancelled; cancelling its task", self.id,
                            job_id)
                entry.cancel_reason = "cancelled"
                entry.scope.cancel()

    def _log_db_error(self, exc: Exception, doing: str) -> None:
        if "rum_jobs" in str(exc) and "does not exist" in str(exc):
            if not self._missing_table_logged:
                self._missing_table_logged = True
                logger.warning("worker %s: the rum_jobs table does not exist yet; run `rum "
                               "migrate run` (or rum_jobs.ensure_schema(db)). Polling every "
                               "%.1fs until it does.", self.id, self.poll_interval)
            return
        logger.error("worker %s: %s failed (retrying in %.1fs): %s: %s", self.id, doing,
                     self.poll_interval, type(exc).__name__, exc, exc_info=exc)

    def _lanes_allowed(self) -> bool:
        """Hold the claim and completion lanes when the database hands out connections
        (``db.connection()``), the worker does not run inside one already, and the pool
        spares two connections besides the presence session (at least 6)."""
        db = self.db
        current = getattr(db, "current", None)
        return (getattr(db, "connection", None) is not None
                and getattr(db, "pool_max", 0) >= LANE_MIN_POOL
                and (current is None or current() is None))

    async def _wait_wake(self) -> None:
        self._wake = _Wake()
        await self._wake.wait()

    def _wake_after(self, delay: float) -> None:
        """Claim again after ``delay`` (a retry/snooze due before the next poll)."""
        services = self._services
        if services is None or self._stopping or delay >= self.poll_interval:
            return

        async def later() -> None:
            await trio.sleep(delay)
            self._wake.set()

        services.start_soon(later)

    async def _listener(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        listen = getattr(self.db, "listen", None)
        if listen is None:
            task_status.started()
            return
        eager: EagerClaim | None = None
        if "on_loop" in inspect.signature(listen).parameters and self._lanes_allowed():
            queues = None if self.queues is None else frozenset(self.queues)

            def accepts(payload: str) -> bool:  # on the database thread
                return not payload.startswith(NOTE_PREFIX) and (queues is None
                                                                or payload in queues)

            eager = EagerClaim(accepts)
        while True:
            try:
                async with (listen("rum_jobs") if eager is None
                            else listen("rum_jobs", on_loop=eager.on_notify)) as notes:
                    self._eager = eager
                    task_status.started()
                    task_status = trio.TASK_STATUS_IGNORED
                    try:
                        async for queue in notes:
                            if queue.startswith(NOTE_PREFIX):
                                self._on_control_note(queue)
                            elif self.queues is None or queue in self.queues:
                                self._wake.set()
                    finally:
                        self._eager = None
            except Exception:
                logger.exception("worker %s: LISTEN rum_jobs failed; polling every %.1fs "
                                 "until it reconnects", self.id, self.poll_interval)
                task_status.started()
                task_status = trio.TASK_STATUS_IGNORED
                await trio.sleep(max(self.poll_interval, 1.0))

    # -- leases ---------------------------------------------------------------------------
    #
    # The worker holds one lease for everything it runs: its row in rum_jobs_workers, renewed
    # every lease/3. Job rows are not touched by heartbeats (so a job whose code finished but
    # whose completion is not written yet stays covered), and a job is released only when both
    # its claim-time lease and its worker's lease have expired.

    async def _heartbeat(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        interval = self.lease / 3
        # A presence session: one connection held while the worker lives, whose backend pid
        # others check to tell a dead process from a stalled one. db.session() is a pooled
        # connection, or its own connection to [database] direct_url behind a
        # transaction-mode pooler (where a pooled connection's backend changes).
        session = getattr(self.db, "session", None)
        present = session is not None and (getattr(self.db, "direct_url", None) is not None
                                           or getattr(self.db, "pool_max", 0) >= 3)
        while True:
            try:
                if present and session is not None:
                    async with session() as conn:
                        await self._beat(conn, present=True)
                        task_status.started()
                        task_status = trio.TASK_STATUS_IGNORED
                        while True:
                            await trio.sleep(interval)
                            await self._beat(conn, present=True)
                else:
                    await self._beat(self.db, present=False)
                    task_status.started()
                    task_status = trio.TASK_STATUS_IGNORED
                    while True:
                        await trio.sleep(interval)
                        await self._beat(self.db, present=False)
            except Exception as exc:
                self._log_db_error(exc, "renewing the worker's lease")
                task_status.started()
                task_status = trio.TASK_STATUS_IGNORED
                await trio.sleep(min(interval, 1.0))

    async def _beat(self, db: Any, *, present: bool) -> None:
        """Renew this worker's lease; interrupt runs whose job was taken from it."""
        ids = list(self._running)  # before the query: every one of these is committed
        owned = await db.fetchval(sql.WORKER_BEAT, self.id, socket.gethostname(), os.getpid(),
                                  self.queues, self._names, self.lease, present)
        owned = set(owned or ())
        for job_id in ids:
            entry = self._running.get(job_id)
            if job_id not in owned and entry is not None and entry.cancel_reason is None:
                logger.warning("worker %s lost job %s (its lease expired or another worker "
                               "took it over); interrupting it", self.id, job_id)
                entry.cancel_reason = "lease_lost"
                entry.scope.cancel()
        # Rows running under our name that we do not know: a claim committed whose answer
        # never reached us (the connection broke mid-claim). Our lease would cover them
        # forever, so release them, once they were unknown at two beats in a row (a claim
        # answer in flight arrives long before the next beat).
        known = self._running.keys() | self._writing | {d["id"] for d in self._done}
        unknown = owned - known
        orphans = sorted(unknown & self._unknown_before)
        self._unknown_before = unknown - set(orphans)
        if orphans:
            released = await db.fetch(sql.RELEASE_ORPHANS, orphans, self.id)
            if released:
                logger.warning("worker %s released %d job(s) it had claimed but never "
                               "received (the connection broke mid-claim): %s", self.id,
                               len(released), [r["id"] for r in released])
                self._wake.set()

    async def _unregister(self) -> None:
        try:
            await self.db.execute(sql.WORKER_GONE, self.id)
        except Exception as exc:
            self._log_db_error(exc, "removing the worker's row")

    async def _rescuer(self) -> None:
        interval = min(max(self.lease / 4, 0.25), 15.0)
        unknown_every = max(min(self.unknown_job_grace / 4, 15.0), interval)
        next_unknown = trio.current_time() + unknown_every
        next_forget = trio.current_time()
        while True:
            try:
                rescued = await self.db.fetch(sql.RESCUE, **stateless(self.db))
            except Exception as exc:
                self._log_db_error(exc, "releasing expired leases")
                rescued = []
            if rescued:
                self.stats["rescued"] += len(rescued)
                for kind in sorted({r["kind"] for r in rescued}):
                    ids = [r["id"] for r in rescued if r["kind"] == kind]
                    logger.warning("released %d job(s) (%s): %s", len(ids), _RESCUE_WHY[kind],
                                   ids)
                self._wake.set()
            now = trio.current_time()
            if now >= next_unknown:
                next_unknown = now + unknown_every
                await self._fail_unknown()
            if now >= next_forget:
                next_forget = now + 3600
                try:
                    await self.db.execute(sql.WORKERS_FORGET)
                except Exception as exc:
                    self._log_db_error(exc, "forgetting old workers")
            await trio.sleep(interval)

    async def _fail_unknown(self) -> None:
        """Fail due jobs that no live worker has a class for (see ``unknown_job_grace``)."""
        try:
            rows = await self.db.fetch(sql.FAIL_UNKNOWN, self.unknown_job_grace, 1000)
        except Exception as exc:
            self._log_db_error(exc, "failing jobs of unknown classes")
            return
        if not rows:
            return
        self.stats["unknown_job"] += len(rows)
        names = sorted({r["job"] for r in rows})
        logger.error("failed %d job(s) that no running worker has a class for (%s), after "
                     "they waited %gs; registered classes are listed in each job's error",
                     len(rows), ", ".join(names), self.unknown_job_grace)
        if self.observer is not None:
            for r in rows:
                self._observe(r["job"], "unknown_job", 0.0)

    async def _watch_loop(self) -> None:
        """Notice when the event loop is blocked (blocking code in an async job): log it
        and remember it on the running jobs, whose timeout errors then say so."""
        tick = BLOCKED_AFTER / 2
        while True:
            before = trio.current_time()
            await trio.sleep(tick)
            late = trio.current_time() - before - tick
            if late >= BLOCKED_AFTER:
                names = sorted({f"{e.run.job} #{e.run.id}" for e in self._running.values()})
                for entry in self._running.values():
                    entry.blocked += late
                logger.warning("worker %s: the event loop was blocked for %.2fs while running "
                               "%s; blocking code in an async job stops every job of the "
                               "worker and its lease renewal (use `threaded = True` or "
                               "`await trio.to_thread.run_sync(...)`)", self.id, late,
                               ", ".join(names) or "no job")

    # -- running one job --------------------------------------------------------------------

    async def _run_job(self, entry: Claimed | _Running) -> None:
        if not isinstance(entry, _Running):  # drain(): not started through _start
            run = entry
            entry = self._running[run.id] = _Running(run)
        run = entry.run
        started = trio.current_time()
        try:
            outcome = await self._execute(entry)
        finally:
            if self._running.get(run.id) is entry:  # not a later attempt's entry
                del self._running[run.id]
            self._wake.set()
            if self._services is not None and self._limits.covers(run.queue, run.job):
                with contextlib.suppress(RuntimeError):  # services closing: shutting down
                    self._services.start_soon(self._announce_free_slot, run.queue)
        if self.observer is not None and outcome is not None:
            self._observe(run.job, outcome, trio.current_time() - started)

    async def _announce_free_slot(self, queue: str) -> None:
        """A limited job ended: once its outcome is written, wake the other workers of its
        queue so the freed slot goes to whoever claims first, not to this worker alone."""
        with trio.move_on_after(max(self.poll_interval, 1.0)):
            while self._done or self._flushing:
                await self._flushed.wait()
            try:
                await self.db.execute(LIMITED_SLOT_FREED, queue, **stateless(self.db))
            except Exception as exc:
                self._log_db_error(exc, "announcing a freed limited slot")

    def _observe(self, job: str, outcome: str, elapsed: float) -> None:
        try:
            self.observer(job, outcome, elapsed)  # type: ignore[misc]
        except Exception:
            logger.exception("job observer %r failed", self.observer)

    async def _execute(self, entry: _Running) -> str | None:
        """Run one job and record how it ended; return that outcome (None: not ours)."""
        run = entry.run
        job = self.jobs[run.job]()
        job._bind(run, self)
        entry.run_threaded = job.threaded
        timeout = _sane_timeout(run)
        started = trio.current_time()
        try:
            with entry.scope:
                if timeout:
                    with trio.fail_after(timeout):
                        value = await self._call(job, run)
                else:
                    value = await self._call(job, run)
        except trio.TooSlowError:
            return await self._failed(job, run, self._timeout_message(entry, timeout), None)
        except Exception as exc:
            tb = "".join(traceback.format_exception(exc))
            logger.warning("job %s #%s attempt %d/%d failed: %r", run.job, run.id,
                           run.attempt, run.max_attempts, exc)
            return await self._failed(job, run, f"{type(exc).__name__}: {exc}", tb)
        except BaseException as exc:
            if _being_cancelled():
                with trio.CancelScope(shield=True), trio.move_on_after(5):
                    await self._release(run, "the worker was cancelled while the job ran")
                raise
            # Job code raised SystemExit, KeyboardInterrupt, GeneratorExit, a Cancelled
            # that no cancellation of this worker caused (a stale one), ...: a failed
            # attempt like any other, not the end of the worker and of every job it runs.
            return await self._base_exception(job, run, exc)
        if entry.scope.cancelled_caught:
            if entry.cancel_reason == "cancelled":
                return "cancelled"  # the row was marked cancelled by whoever cancelled it
            if entry.cancel_reason == "shutdown":
                await self._release(run, "the worker shut down before the job finished")
                return "interrupted"
            return None  # lease lost: another worker owns the job now
        if timeout and trio.current_time() - started > timeout:
            # It returned after its deadline without trio getting a chance to cancel it: it
            # ran blocking code past the deadline. Its result is not kept: a timeout is a
            # failed attempt, however it ends.
            entry.blocked = max(entry.blocked, trio.current_time() - started - timeout)
            return await self._failed(job, run, self._timeout_message(entry, timeout), None)
        return await self._outcome(job, run, value)

    async def _base_exception(self, job: Job, run: Claimed, exc: BaseException) -> str:
        """Record a ``BaseException`` raised by job code as a failed attempt; a
        ``KeyboardInterrupt`` (Ctrl-C landing in job code, in a program that does not turn
        signals into a graceful stop as ``rum worker`` does) also stops the worker."""
        tb = "".join(traceback.format_exception(exc))
        logger.error("job %s #%s attempt %d/%d raised %r (a BaseException); recorded as a "
                     "failed attempt, the worker goes on", run.job, run.id, run.attempt,
                     run.max_attempts, exc)
        if isinstance(exc, KeyboardInterrupt):
            logger.warning("worker %s: KeyboardInterrupt in job %s #%s; stopping gracefully",
                           self.id, run.job, run.id)
            self.stop()
        outcome = "failed"
        with trio.CancelScope(shield=True):
            outcome = await self._failed(job, run, f"{type(exc).__name__}: {exc}", tb)
        return outcome

    async def _call(self, job: Job, run: Claimed) -> Any:
        if not job.threaded:
            return await job.execute(run.args)
        return await run_in_thread(job.execute, run.args, limiter=self._threads)

    def _timeout_message(self, entry: _Running, timeout: float | None) -> str:
        message = (f"TimeoutError: attempt {entry.run.attempt} exceeded the job's timeout of "
                   f"{timeout:g}s")
        if entry.blocked and not entry.run_threaded:
            message += (f"; it blocked the event loop for {entry.blocked:.1f}s, so it could "
                        "not be interrupted in time (blocking code in an async job ignores "
                        "its timeout: set `threaded = True` or use trio.to_thread)")
        return message

    async def _outcome(self, job: Job, run: Claimed, value: Any) -> str:
        if isinstance(value, Retry):
            return await self._failed(job, run, value.error, None,
                                      retry_after=seconds(value.after))
        if isinstance(value, Snooze):
            delay = seconds(value.after) or 0.0
            await self._finish(run, "scheduled", delay, None, refund=1)
            self._wake_after(delay)
            return "snoozed"
        if isinstance(value, Cancel):
            await self._finish(run, "cancelled", None, self._entry(run, value.reason,
                                                                    kind="cancelled"))
            return "cancelled"
        if isinstance(value, Discard):
            await self._finish(run, "discarded", None, self._entry(run, value.reason,
                                                                    kind="discarded"))
            return "discarded"
        result = value.result if isinstance(value, Done) else value
        encoded = None
        if result is not None:
            encoded, problem = encode_result(result, f"{run.job} result")
            if problem is not None:
                logger.warning("job %s #%s returned a result that cannot be stored (%s); "
                               "storing its repr", run.job, run.id, problem)
        self._done.append({"id": run.id, "attempt": run.attempt,
                           "result": None if encoded is None else _Raw(encoded)})
        self._done_ready.set()
        self.stats["complete"] += 1
        return "complete"

    async def _failed(self, job: Job, run: Claimed, message: str, tb: str | None, *,
                      retry_after: float | None = None) -> str:
        entry = self._entry(run, message, tb=tb)
        if run.attempt >= run.max_attempts:
            self.stats["failed"] += 1
            logger.error("job %s #%s failed for good after %d attempt(s): %s", run.job, run.id,
                         run.attempt, message)
            await self._finish(run, "failed", None, entry)
            return "failed"
        delay = retry_after if retry_after is not None else job.retry_delay(run.attempt)
        self.stats["retried"] += 1
        await self._finish(run, "retryable", delay, entry)
        self._wake_after(delay)
        return "retried"

    async def _release(self, run: Claimed, why: str) -> None:
        await self._finish(run, "retryable", 0.0,
                           self._entry(run, why, kind="interrupted"), refund=1)

    def _entry(self, run: Claimed, message: str, *, tb: str | None = None,
               kind: str = "error") -> dict[str, Any]:
        return {"attempt": run.attempt, "at": dt.datetime.now(dt.UTC).isoformat(),
                "worker": self.id, "kind": kind, "error": storable_text(message),
                "traceback": None if tb is None else storable_text(tb)}

    async def _finish(self, run: Claimed, status: str, delay: float | None,
                      entry: dict[str, Any] | None, *, refund: int = 0) -> None:
        """Write how a run ended. Retried while the database is unreachable, however long:
        until it is written the job stays leased to this worker (covered by its heartbeat;
        if the heartbeat cannot renew either, other workers release the job once the lease
        expires, and this write then finds the row changed and writes nothing)."""
        encoded = None if entry is None else dumps(entry)
        give_up = _GiveUp(self)
        for attempt in itertools.count():
            try:
                await self.db.fetchrow(sql.FINISH, run.id, run.attempt, self.id, status,
                                       delay, encoded, refund, **stateless(self.db))
                return
            except Exception as exc:
                if give_up.now():
                    logger.error("worker %s: recording the end of job %s failed while the "
                                 "worker stops; giving up (it is released when this "
                                 "worker's lease expires): %s", self.id, run.id, exc)
                    return
                if _worth_logging(attempt):
                    self._log_db_error(exc, f"recording the end of job {run.id} (try "
                                            f"{attempt + 1})")
                await trio.sleep(min(0.05 * 2 ** attempt, 1.0))

    # -- batched completion -----------------------------------------------------------------

    async def _completer(self) -> None:
        while True:
            await self._done_ready.wait()
            self._done_ready = trio.Event()
            await self._flush()

    async def _flush(self) -> None:
        while self._done:
            batch = self._next_batch()
            ids = [d["id"] for d in batch]
            self._writing.update(ids)
            self._flushing += 1
            try:
                await self._write_completions(batch)
            finally:
                self._writing.difference_update(ids)
                self._flushing -= 1
                self._flushed.set()
                self._flushed = trio.Event()

    def _next_batch(self) -> list[dict[str, Any]]:
        """Take the next completions to write: up to COMPLETE_BATCH of them, and results
        of up to COMPLETE_BATCH_CHARS in all (the batch's results are one jsonb value, which
        PostgreSQL caps at 256 MiB), one at least."""
        size = 0
        n = 0
        for n, item in enumerate(self._done[:COMPLETE_BATCH], 1):
            result = item["result"]
            size += 0 if result is None else len(result.text)
            if size > COMPLETE_BATCH_CHARS and n > 1:
                n -= 1
                break
        batch = self._done[:n]
        del self._done[:n]
        return batch

    async def _write_completions(self, batch: list[dict[str, Any]]) -> None:
        """One COMPLETE statement for ``batch``, retried while the database is unreachable
        (the jobs stay leased to this worker meanwhile). When PostgreSQL refuses the data
        (a result too big for jsonb), the batch is split to find the result it refuses,
        which is replaced by a note: one such result does not hold back the others."""
        ids = [d["id"] for d in batch]
        results = "{" + ",".join(_encode_done(d) for d in batch) + "}"
        give_up = _GiveUp(self)
        for attempt in itertools.count():
            try:
                await self._complete_lane.fetch(sql.COMPLETE, ids, results, self.id)
                return
            except Exception as exc:
                if refused_by_postgres(exc):
                    if not await self._write_refused(batch, exc):
                        logger.error("worker %s: PostgreSQL refused the completion of job %s "
                                     "even without its result: %s", self.id, ids, exc)
                    return
                if give_up.now():
                    logger.error("worker %s: marking %d job(s) complete failed while the "
                                 "worker stops; giving up (they are released when this "
                                 "worker's lease expires): %s", self.id, len(batch), exc)
                    return
                if _worth_logging(attempt):
                    self._log_db_error(exc, f"marking {len(batch)} job(s) complete (try "
                                            f"{attempt + 1})")
                await trio.sleep(min(0.05 * 2 ** attempt, 1.0))

    async def _write_refused(self, batch: list[dict[str, Any]], exc: Exception) -> bool:
        """PostgreSQL refused ``batch``'s data: write its halves apart, or, for one job,
        its completion with a note instead of the result. False: nothing left to try."""
        if len(batch) > 1:
            half = len(batch) // 2
            await self._write_completions(batch[:half])
            await self._write_completions(batch[half:])
            return True
        item = batch[0]
        if isinstance(item["result"], _Raw) and item["result"].text.startswith('"<result not'):
            return False  # the note itself was refused
        logger.warning("job #%s: PostgreSQL refused its result (%s); marking it complete with "
                       "a note instead", item["id"], exc)
        await self._write_completions([{**item, "result": _Raw(refused_note(exc))}])
        return True

    async def _flush_all(self) -> None:
        await self._flush()
        while self._flushing:
            await self._flushed.wait()
            await self._flush()


class _Lane:
    """One pooled connection a worker holds for statements it makes one at a time (its
    claims; its completion batches): each is one bridge crossing and one round trip on a
    connection that is already there, with no acquire and release around it (and no session
    reset, on a storage whose one-shot statements cannot skip it).

    The connection is taken by :meth:`hold`, a service task of the worker, so no job task
    inherits it as its current connection. Until it is held, while a statement already runs
    on it, and after an error (the connection goes back to the pool, reset, and a new one is
    taken), statements go through the database's one-shot path instead. When the worker is
    cancelled, the connection goes back to the pool only once the statement running on it
    (if any) has unwound, so the pool never resets a connection in the middle of a query.
    """

    __slots__ = ("_busy", "_conn", "_idle", "_lost", "worker")

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self._conn: Any = None
        self._busy = False
        self._idle = trio.Event()
        self._lost = trio.Event()

    async def hold(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Hold a connection until cancelled, taking a new one after each error."""
        db = self.worker.db
        while True:
            try:
                async with db.connection() as conn:
                    self._lost = trio.Event()
                    self._conn = conn
                    task_status.started()
                    task_status = trio.TASK_STATUS_IGNORED
                    try:
                        await self._lost.wait()
                    finally:
                        self._conn = None  # no new statement on it
                        with trio.CancelScope(shield=True), trio.move_on_after(10):
                            while self._busy:
                                self._idle = trio.Event()
                                await self._idle.wait()
            except Exception as exc:
                self.worker._log_db_error(exc, "taking a connection for claims/completions")
            finally:
                self._conn = None
            task_status.started()
            task_status = trio.TASK_STATUS_IGNORED
            await trio.sleep(min(self.worker.poll_interval, 1.0))

    def reserve(self) -> Any:
        """Reserve the held connection for an eager claim (rum_jobs.eager): its asyncpg
        connection, or None when there is none or it is busy. Statements meanwhile go through
        the database's one-shot path; :meth:`unreserve` ends the reservation."""
        conn = self._conn
        raw = getattr(conn, "raw", None)
        if raw is None or self._busy:
            return None
        self._busy = True
        return raw

    def unreserve(self) -> None:
        self._busy = False
        self._idle.set()

    def lost(self) -> None:
        """The connection may be broken (or left mid-statement): hand it back to the pool
        (which resets it) and take another."""
        self._conn = None
        self._lost.set()

    async def fetch(self, statement: str, *args: Any) -> Any:
        """``fetch`` on the held connection, or on the database when it is not free."""
        conn = self._conn
        if conn is None or self._busy:
            db = self.worker.db
            return await db.fetch(statement, *args, **stateless(db))
        self._busy = True
        try:
            return await conn.fetch(statement, *args)
        except BaseException:
            self._conn = None  # hand it back (reset by the pool) and take another
            self._lost.set()
            raise
        finally:
            self.unreserve()


class _Raw:
    """Already-encoded JSON spliced into the completion payload."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _GiveUp:
    """When a worker stops writing an outcome the database does not take: never while it
    runs (a job whose outcome is dropped would be released as never received and run again
    under the same attempt), and ``max(30 s, 2 × lease)`` after the write began or the
    worker began stopping, whichever is later, once it stops."""

    __slots__ = ("_began", "_worker")

    def __init__(self, worker: Worker) -> None:
        self._worker = worker
        self._began = trio.current_time()

    def now(self) -> bool:
        worker = self._worker
        if not worker._stopping:
            return False
        since = max(self._began, worker._stopping_since or self._began)
        return trio.current_time() > since + max(30.0, 2 * worker.lease)


def _worth_logging(attempt: int) -> bool:
    """Log the first tries of a write the database does not take, then every power of
    two (a long outage logs a few lines, not one a second per job)."""
    return attempt < 3 or attempt & (attempt - 1) == 0


def _being_cancelled() -> bool:
    """Whether a cancel scope around the current task is cancelled (a real cancellation,
    as opposed to a ``trio.Cancelled`` that job code raised on its own)."""
    return trio.current_effective_deadline() == -math.inf


def _sane_timeout(run: Claimed) -> float | None:
    """The run's timeout, or None (and a warning) when a hand-edited row holds a value that
    is not a positive, finite number of seconds."""
    timeout = run.timeout
    if timeout is None or 0 < timeout < math.inf:
        return timeout
    logger.warning("job %s #%s has timeout=%r, which is not a positive finite number of "
                   "seconds; running it without a timeout", run.job, run.id, timeout)
    return None


_RESCUE_WHY = {
    "worker_lost": "their worker process died",
    "stalled": "their worker is alive but stopped renewing its lease: a blocked event loop?",
    "lease_expired": "their worker stopped renewing its lease",
}


def _encode_done(item: dict[str, Any]) -> str:
    result = item["result"]
    return f'"{item["id"]}":[{item["attempt"]},{"null" if result is None else result.text}]'

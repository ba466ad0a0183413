"""``Job``: the base class of background jobs.

::

    class SendEmail(Job):
        queue = "mail"
        max_attempts = 3

        async def execute(self, args):
            await mailer.send(args["to"], args["body"])

    job_id = await SendEmail.enqueue({"to": "a@b.c", "body": "hi"}, run_in=60)
"""

from __future__ import annotations

import datetime as dt
import inspect
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from rum_jobs import sql
from rum_jobs.context import resolve_db
from rum_jobs.payload import to_json
from rum_jobs.results import seconds
from rum_jobs.store import NewJob, insert_jobs, stateless
from rum_jobs.unique import Unique, as_unique

if TYPE_CHECKING:
    from rum_jobs.clock import CronEntry
    from rum_jobs.records import Claimed


class Runner(Protocol):
    """What a running job sees of the :class:`~rum_jobs.Worker` that claimed it."""

    @property
    def db(self) -> Any:
        """The worker's database (storage API)."""

    @property
    def id(self) -> str:
        """The worker's id, which owns the job's lease."""


class Job:
    """A kind of background job. Subclass it and implement :meth:`execute`.

    Class attributes are the defaults of every job of this kind (each can be overridden per
    enqueue): ``name`` (stored in the table; defaults to the class name), ``queue``,
    ``max_attempts``, ``priority`` (higher runs first), ``timeout`` (seconds per attempt, or
    ``None``), ``unique`` (a :class:`~rum_jobs.Unique`), ``channel`` (an ordered channel:
    jobs of one channel run strictly one after another in enqueue order), and the retry
    backoff ``backoff_base``/``backoff_max`` seconds with ``jitter`` (a fraction).

    ``execute`` is ``async def``. A class that sets ``threaded = True`` defines a plain
    ``def execute`` instead, which runs in a worker thread (for blocking libraries); its
    timeout is enforced as far as Python allows (see docs/jobs.md, "Threaded jobs").

    While a run is in progress the instance knows ``id``, ``attempt``, ``tags``,
    ``checkpoint`` (what a previous attempt saved with :meth:`save_checkpoint`) and
    ``context`` (a :class:`~rum_jobs.records.Claimed`: queue, max_attempts, priority, channel,
    run_at, created_at as stored for this job).
    """

    name: ClassVar[str] = ""
    queue: ClassVar[str] = "default"
    max_attempts: ClassVar[int] = 5
    priority: ClassVar[int] = 0
    timeout: ClassVar[float | None] = None
    unique: ClassVar[Unique | None] = None
    channel: ClassVar[str | None] = None
    backoff_base: ClassVar[float] = 1.0
    backoff_max: ClassVar[float] = 3600.0
    jitter: ClassVar[float] = 0.2
    threaded: ClassVar[bool] = False

    # set for one run by the worker
    id: int
    attempt: int
    tags: list[str]
    checkpoint: Any = None
    context: Claimed

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__ or not cls.__dict__["name"]:
            cls.name = cls.__name__
        if cls.max_attempts < 1:
            raise ValueError(f"{cls.__qualname__}.max_attempts must be at least 1")
        if isinstance(cls.__dict__.get("unique"), (bool, tuple, list, str)):
            cls.unique = as_unique(cls.__dict__["unique"])
        _check_execute(cls)

    # -- the work ---------------------------------------------------------------------------

    async def execute(self, args: Any) -> Any:
        """Do the job's work with its JSON ``args``.

        Return ``None`` or a JSON value (kept as the result), or a
        :class:`~rum_jobs.Done`/:class:`~rum_jobs.Retry`/:class:`~rum_jobs.Snooze`/
        :class:`~rum_jobs.Cancel`/:class:`~rum_jobs.Discard`; raise to fail the attempt.
        """
        raise NotImplementedError(f"{type(self).__qualname__} must define "
                                  "`async def execute(self, args)`")

    def retry_delay(self, attempt: int) -> float:
        """Seconds to wait before retrying after failed ``attempt`` (1-based): exponential
        backoff ``backoff_base * 2**(attempt-1)`` capped at ``backoff_max``, ± ``jitter``."""
        delay = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return max(0.0, delay * (1 + random.uniform(-self.jitter, self.jitter)))

    @property
    def db(self) -> Any:
        """The database of the worker running this job (for queries the job makes)."""
        return self._worker.db

    async def save_checkpoint(self, state: Any) -> None:
        """Persist ``state`` (JSON) so a retry of this job starts from it (``self.checkpoint``).

        Only the worker that currently owns the job can save; a run whose lease was lost
        saves nothing.
        """
        run = self.context
        worker: Runner = self._worker
        await worker.db.execute(sql.SAVE_CHECKPOINT, run.id, run.attempt, worker.id,
                                to_json(state, f"{self.name} checkpoint"),
                                **stateless(worker.db))
        self.checkpoint = state

    def _bind(self, run: Claimed, worker: Runner) -> None:
        self.context = run
        self._worker = worker
        self.id = run.id
        self.attempt = run.attempt
        self.tags = run.tags
        self.checkpoint = run.checkpoint

    # -- enqueueing -------------------------------------------------------------------------

    @classmethod
    def build(cls, args: Any = None, *, run_at: dt.datetime | None = None,
              run_in: float | dt.timedelta | None = None, queue: str | None = None,
              priority: int | None = None, max_attempts: int | None = None,
              tags: Iterable[str] = (), unique_by: Any = None, unique: Any = None,
              channel: str | None = None, timeout: float | None = None) -> NewJob:
        """The row :meth:`enqueue` would insert (for :func:`rum_jobs.enqueue_many`)."""
        if run_at is not None and run_in is not None:
            raise ValueError(f"{cls.name}.enqueue: pass run_at= or run_in=, not both")
        rule = as_unique(unique_by if unique_by is not None else unique)
        if max_attempts is not None and max_attempts < 1:
            raise ValueError(f"{cls.name}.enqueue: max_attempts must be at least 1")
        return NewJob(
            job=cls.name, args=args, queue=queue or cls.queue,
            priority=cls.priority if priority is None else priority,
            max_attempts=max_attempts or cls.max_attempts, run_at=run_at,
            run_in=seconds(run_in), tags=list(tags),
            channel=channel if channel is not None else cls.channel,
            timeout=seconds(timeout) if timeout is not None else seconds(cls.timeout),
            unique=rule if rule is not None else cls.unique,
        )

    @classmethod
    async def enqueue(cls, args: Any = None, *, db: Any = None,
                      after: Iterable[int] | None = None, after_failure: str = "cancel",
                      **options: Any) -> int:
        """Insert one job and return its id.

        Options: ``run_at`` (aware datetime) or ``run_in`` (seconds/timedelta), ``queue``,
        ``priority``, ``max_attempts``, ``tags``, ``unique_by`` (a :class:`Unique`, ``True``
        or criteria such as ``("job", "args")``), ``channel``, ``timeout``. ``db`` defaults to
        the current app's storage; inside ``async with db.transaction()`` the job is part of
        that transaction (rolled back → never runs). ``after=[ids]`` runs it once those jobs
        completed (see :mod:`rum_jobs.workflows`; ``after_failure="run"`` runs it even when
        one of them failed).
        """
        if after is not None:
            from rum_jobs.workflows import enqueue_after

            return await enqueue_after(resolve_db(db), cls.build(args, **options), after,
                                       after_failure=after_failure)
        ids = await insert_jobs(resolve_db(db), [cls.build(args, **options)])
        return ids[0]

    @classmethod
    async def enqueue_many(cls, args_list: Iterable[Any], *, db: Any = None,
                           **options: Any) -> list[int]:
        """Insert one job per item of ``args_list`` in a single round trip; return the ids."""
        target = resolve_db(db)
        items = list(args_list)
        if not items:
            return []
        return await insert_jobs(target, cls.build(None, **options).for_each(items))

    @classmethod
    def schedule(cls, args: Any = None, cron: str = "", *, timezone: str = "UTC",
                 name: str | None = None, **options: Any) -> CronEntry:
        """A clock entry enqueueing this job on ``cron`` (5 fields, or 6 with seconds first).

        Give it to a worker (``Worker(schedules=[...])``), return it from a ``rum_cron_entries``
        hook, or add it with ``app.jobs.add_schedule(...)``. Each fire time is enqueued once
        however many workers run the clock.
        """
        from rum_jobs.clock import CronEntry

        return CronEntry(job=cls, args=args, cron=cron, timezone=timezone, name=name,
                         options=dict(options))


async def enqueue_many(jobs: Sequence[NewJob | tuple[type[Job], Any]], *,
                       db: Any = None) -> list[int]:
    """Enqueue jobs of several kinds in one round trip: ``[(SendEmail, args), ...]`` or
    ``[SendEmail.build(args, queue=...), ...]``."""
    rows = [j if isinstance(j, NewJob) else j[0].build(j[1]) for j in jobs]
    return await insert_jobs(resolve_db(db), rows)


def _is_async(fn: Any) -> bool:
    fn = getattr(fn, "__func__", fn)
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(inspect.unwrap(fn))


def _check_execute(cls: type[Job]) -> None:
    """Refuse, when the class is defined, an ``execute`` that would fail at run time."""
    execute = cls.execute
    if execute is Job.execute:
        return
    where = f"{cls.__module__}.{cls.__qualname__}.execute"
    if cls.threaded:
        if _is_async(execute) or inspect.isasyncgenfunction(execute):
            raise TypeError(f"{where} is `async def` but the class sets threaded = True: a "
                            "threaded job defines a plain `def execute(self, args)`, run in a "
                            "worker thread; drop threaded = True to run it on the event loop")
        return
    if inspect.isasyncgenfunction(execute):
        raise TypeError(f"{where} is an async generator (it contains `yield`); define "
                        "`async def execute(self, args)` returning the result")
    if not _is_async(execute):
        raise TypeError(f"{where} must be `async def execute(self, args)`. A plain `def` "
                        "would block every job of the worker while it runs; for blocking code "
                        "set `threaded = True` on the class (it then runs in a worker thread) "
                        "or call it with `await trio.to_thread.run_sync(...)`")


def job_class(candidate: object) -> type[Job]:
    """``candidate`` (a schedule's job, an item of ``jobs=``) as a Job subclass, else a
    TypeError naming it."""
    if not (isinstance(candidate, type) and issubclass(candidate, Job)):
        raise TypeError(f"{candidate!r} is not a Job subclass")
    return candidate


def jobs_by_name(jobs: Iterable[type[Job]] | Mapping[str, type[Job]]) -> dict[str, type[Job]]:
    """``{name: class}`` for job classes; refuses two classes with one name."""
    if isinstance(jobs, Mapping):
        return dict(jobs)
    out: dict[str, type[Job]] = {}
    for cls in map(job_class, jobs):
        other = out.get(cls.name)
        if other is not None and other is not cls:
            raise ValueError(f"two job classes are named {cls.name!r}: "
                             f"{other.__module__}.{other.__qualname__} and "
                             f"{cls.__module__}.{cls.__qualname__}; set `name = ...` on one")
        out[cls.name] = cls
    return out

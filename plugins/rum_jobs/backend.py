"""``app.jobs``: the app's job backend (registered jobs, schedules, worker factory, history)."""

from __future__ import annotations

import importlib
import inspect
import sys
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rum.errors import ConfigError
from rum_jobs import store
from rum_jobs.clock import CronEntry
from rum_jobs.job import Job, job_class
from rum_jobs.pruner import Pruner
from rum_jobs.schema import ensure_schema
from rum_jobs.worker import Worker

if TYPE_CHECKING:
    from rum.app import App
    from rum_jobs.records import JobRecord


class JobsBackend:
    """What ``app.jobs`` returns. Knows the app's job classes (``[jobs] modules`` plus
    :meth:`register`), its clock entries (``rum_cron_entries`` hooks plus :meth:`add_schedule`),
    builds workers from ``[jobs]`` settings and answers history/operations queries."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._registered: dict[str, type[Job]] = {}
        self._schedules: list[CronEntry] = []
        self._modules_loaded = False
        self.worker: Worker | None = None

    @property
    def db(self) -> Any:
        """The app's storage (``app.storage``)."""
        return self.app.storage

    # -- registry ---------------------------------------------------------------------------

    def register(self, *jobs: type[Job]) -> None:
        """Make job classes known to ``rum worker`` and the in-app worker."""
        for job in jobs:
            if not (isinstance(job, type) and issubclass(job, Job)):
                raise TypeError(f"app.jobs.register() takes Job subclasses, got {job!r}")
            self._registered[job.name] = job

    def add_schedule(self, entry: CronEntry) -> None:
        """Add a clock entry (``SendEmail.schedule(args, "0 0 9 * * *")``)."""
        self._schedules.append(entry)
        self._registered.setdefault(entry.job.name, job_class(entry.job))

    @property
    def registered(self) -> dict[str, type[Job]]:
        """Job classes by name: registered ones and those defined in ``[jobs] modules``."""
        self._load_modules()
        out = dict(self._registered)
        for entry in self.schedules:
            out.setdefault(entry.job.name, job_class(entry.job))
        return out

    @property
    def schedules(self) -> list[CronEntry]:
        """Clock entries from :meth:`add_schedule` and every plugin's ``rum_cron_entries``."""
        found = self.app.plugins.call_list("rum_cron_entries", app=self.app)
        legacy = [item for item in self.app.plugins.call_list("rum_schedule", app=self.app)
                  if isinstance(item, CronEntry)]
        if legacy:
            warnings.warn("cron entries returned by rum_schedule are deprecated and will be "
                          "ignored in the next release: return them from the jobs plugin's "
                          "rum_cron_entries hook", DeprecationWarning, stacklevel=2)
        return [*self._schedules, *found, *legacy]

    def _load_modules(self) -> None:
        if self._modules_loaded:
            return
        self._modules_loaded = True
        root = str(self.app.root)
        if root not in sys.path:
            sys.path.insert(0, root)  # modules are named relative to the project
        for name in self.app.config.get_list("jobs", "modules", []):
            try:
                module = importlib.import_module(name)
            except ImportError as exc:
                raise ConfigError(f"{self.app.config.describe_file()}: [jobs] modules names "
                                  f"{name!r}, which cannot be imported: {exc}") from exc
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if issubclass(obj, Job) and obj is not Job and obj.__module__ == module.__name__:
                    self._registered.setdefault(obj.name, obj)

    # -- workers ----------------------------------------------------------------------------

    def build_worker(self, *, jobs: Iterable[type[Job]] | None = None,
                     with_clock: bool = True, **overrides: Any) -> Worker:
        """A :class:`Worker` configured from ``[jobs]`` (keyword arguments override)."""
        config = self.app.config
        job_classes = list(jobs) if jobs is not None else list(self.registered.values())
        if not job_classes:
            raise ConfigError(f"no job classes to run: list the modules defining them in "
                              f"[jobs] modules of {config.describe_file()} or call "
                              "app.jobs.register(MyJob)")
        queues = config.get_list("jobs", "queues", ["default"])
        options: dict[str, Any] = {
            "db": overrides.pop("db") if "db" in overrides else self.db,
            "queues": None if queues in (["*"], []) else queues,
            "concurrency": config.get_int("jobs", "concurrency", 10),
            "poll_interval": config.get_float("jobs", "poll_interval", 1.0),
            "lease": config.get_float("jobs", "lease", 30.0),
            "shutdown_timeout": config.get_float("jobs", "shutdown_timeout", 30.0),
            "schedules": self.schedules if with_clock else (),
            "pruner": self.pruner(),
            "observer": getattr(self.app.extensions.get("metrics"), "observe_job", None),
        }
        options.update(overrides)
        return Worker(job_classes, **options)

    def pruner(self) -> Pruner | None:
        """The pruner configured by ``[jobs] prune_max_age``/``prune_max_count``, if any."""
        config = self.app.config
        max_age = config.get("jobs", "prune_max_age") or {}
        max_count = config.get("jobs", "prune_max_count") or {}
        if not max_age and not max_count:
            return None
        for status in [*max_age, *max_count]:
            if status not in store.TERMINAL_STATUSES:
                raise ConfigError(f"{config.describe_file()}: [jobs] prune settings name "
                                  f"status {status!r}; only finished statuses can be pruned: "
                                  f"{', '.join(store.TERMINAL_STATUSES)}")
        return Pruner(max_age=max_age, max_count=max_count,
                      interval=config.get_float("jobs", "prune_interval", 3600.0) or 3600.0)

    # -- enqueue, history, operations -------------------------------------------------------

    async def enqueue(self, job: type[Job], args: Any = None, **options: Any) -> int:
        """``job.enqueue(args, db=app.storage, **options)``."""
        return await job.enqueue(args, db=self.db, **options)

    async def get(self, job_id: int) -> JobRecord | None:
        """One job's row (status, attempts, errors, result)."""
        return await store.get_job(self.db, job_id)

    async def list(self, **filters: Any) -> list[JobRecord]:
        """Jobs filtered by ``status``, ``job``, ``queue``, ``tag`` (see ``store.list_jobs``)."""
        return await store.list_jobs(self.db, **filters)

    async def counts(self) -> dict[str, int]:
        """How many jobs are in each status."""
        return await store.count_jobs(self.db)

    async def retry(self, job_id: int) -> bool:
        """Run a failed/cancelled/discarded job again."""
        return await store.retry_job(self.db, job_id)

    async def cancel(self, job_id: int, reason: str = "cancelled by an operator") -> bool:
        """Cancel a job that has not started."""
        return await store.cancel_job(self.db, job_id, reason)

    async def discard(self, job_id: int, reason: str = "discarded by an operator") -> bool:
        """Give up on a waiting or failed job (not a running one); whether it was discarded."""
        return await store.discard_job(self.db, job_id, reason)

    async def prune(self, **options: Any) -> int:
        """Delete finished jobs (``max_age``/``max_count`` per status)."""
        return await store.prune(self.db, **options)

    async def ensure_schema(self) -> bool:
        """Create the jobs tables if missing (tests/scripts; apps use ``rum migrate run``)."""
        return await ensure_schema(self.db)

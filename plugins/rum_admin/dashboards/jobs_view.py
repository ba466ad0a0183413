"""The jobs dashboard's data, read through the jobs plugin's public API only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rum import AppLike
    from rum_jobs import JobRecord, JobStats


@dataclass(frozen=True)
class JobsDashboard:
    """``stats``: the jobs plugin's snapshot (``None`` when the plugin is not enabled);
    ``problem``: why there is no snapshot (the plugin is off, its tables are missing);
    ``tracebacks``: the last traceback of each listed failed job, by id; ``waiting``: the
    oldest jobs waiting to run (scheduled or retryable), which can be cancelled."""

    stats: JobStats | None
    problem: str | None = None
    tracebacks: dict[int, str] = field(default_factory=dict)
    waiting: list[JobRecord] = field(default_factory=list)


def jobs_enabled(app: AppLike) -> bool:
    """Whether the app has the jobs plugin's backend."""
    try:
        app.jobs  # noqa: B018  # asking builds it
    except Exception:
        return False
    return True


async def jobs_dashboard(app: AppLike, *, window: float = 300.0,
                         failures: int = 20) -> JobsDashboard:
    """A snapshot of every queue (``rum_jobs.stats``) with the failed jobs' tracebacks."""
    if not jobs_enabled(app):
        return JobsDashboard(None, "The jobs plugin is not enabled.")
    from rum_jobs import list_jobs, stats

    db: Any = app.storage
    try:
        snapshot = await stats(db, window=window, limit=failures)
    except Exception as exc:
        if type(exc).__name__ != "UndefinedTableError":
            raise
        return JobsDashboard(None, "The jobs plugin's tables are missing: apply the "
                                   f"migrations with `rum migrate run` ({exc}).")
    tracebacks: dict[int, str] = {}
    if snapshot.failed:
        for record in await list_jobs(db, status="failed", limit=max(failures, 1) * 2):
            last = record.errors[-1] if record.errors else {}
            if last.get("traceback"):
                tracebacks[record.id] = str(last["traceback"])
    waiting = await list_jobs(db, status=["scheduled", "retryable"], limit=failures,
                              newest_first=False)
    return JobsDashboard(snapshot, None, tracebacks, waiting)

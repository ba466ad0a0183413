"""Hook implementations of the jobs plugin: ``[jobs]`` settings, ``app.jobs``, the in-app
worker and clock, and the ``rum worker`` / ``rum jobs`` commands."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from rum import Setting, hookimpl
from rum_jobs import hookspecs as hookspecs  # rum_cron_entries, owned by this plugin
from rum_jobs.backend import JobsBackend

if TYPE_CHECKING:
    from rum import App
    from rum.cli import Command

name = "jobs"
logger = logging.getLogger("rum.jobs")


@hookimpl
def rum_config_schema() -> dict[str, dict[str, Any]]:
    """``[jobs]``: which queues workers take, how many jobs at once, leases, pruning."""
    return {
        "jobs": {
            "queues": Setting(["default"], list, "queues workers take jobs from (['*']: all)"),
            "concurrency": Setting(10, int, "jobs one worker runs at the same time"),
            "poll_interval": Setting(1.0, float, "seconds between polls when no NOTIFY "
                                                 "arrives (the fallback wake-up)"),
            "lease": Setting(30.0, float, "seconds a claimed job stays owned without a "
                                          "heartbeat; a dead worker's jobs rerun after this"),
            "shutdown_timeout": Setting(30.0, float, "seconds running jobs get to finish on "
                                                     "shutdown before they are released"),
            "run_worker_in_app": Setting(False, bool, "also run a worker and the clock inside "
                                                      "the app process (`rum run`)"),
            "modules": Setting([], list, "modules defining Job classes, imported by workers"),
            "prune_max_age": Setting({}, dict, "per status, seconds finished jobs are kept, "
                                               "e.g. {complete = 604800}"),
            "prune_max_count": Setting({}, dict, "per status, newest finished jobs kept, "
                                                 "e.g. {failed = 1000}"),
            "prune_interval": Setting(3600.0, float, "seconds between pruning runs"),
            "limits": Setting({}, dict, "per-queue limits across all workers, e.g. "
                                        "{mail = {concurrency = 2, rate = 100, per = 60}}"),
            "ready_needs_workers": Setting(False, bool, "the http plugin's readiness probe "
                                                        "also needs a live worker (a lease "
                                                        "renewed in rum_jobs_workers)"),
        },
    }


def backend(app: App) -> JobsBackend:
    """The app's :class:`JobsBackend` (created on first use)."""
    state = app.extensions.get("jobs")
    if not isinstance(state, JobsBackend):
        state = JobsBackend(app)
        app.extensions["jobs"] = state
    return state


@hookimpl(optionalhook=True)  # the http plugin's readiness probe
def rum_ready_checks(app: App) -> dict[str, Any]:
    """``jobs_workers`` when ``[jobs] ready_needs_workers``: some worker (in any process or
    node) renewed its lease recently."""
    if not app.config.get_bool("jobs", "ready_needs_workers", False):
        return {}

    async def workers_alive() -> None:
        from rum_jobs.sql import LIVE_WORKERS

        if not await app.storage.fetchval(LIVE_WORKERS):
            raise RuntimeError("no job worker renewed its lease recently: start `rum worker` "
                               "(or set [jobs] run_worker_in_app)")

    return {"jobs_workers": workers_alive}


@hookimpl
def rum_job_backend(app: App) -> JobsBackend:
    """``app.jobs``."""
    return backend(app)


@hookimpl
def rum_schedule(app: App) -> list[Any]:
    """Run a worker (with the clock) in the app when ``[jobs] run_worker_in_app`` is on."""
    if not app.config.get_bool("jobs", "run_worker_in_app", False):
        return []
    jobs = backend(app)

    async def run_worker() -> None:
        from rum_jobs.cli import apply_config_limits

        await apply_config_limits(app)
        worker = jobs.build_worker()
        jobs.worker = worker
        await worker.run()

    return [run_worker]


@hookimpl(trylast=True)
async def rum_shutdown(app: App) -> None:
    """Stop the in-app worker gracefully (before the database closes)."""
    state = app.extensions.get("jobs")
    if isinstance(state, JobsBackend) and state.worker is not None:
        state.worker.stop()
        await state.worker.wait_stopped()


@hookimpl
def rum_cli_commands(app: App | None) -> list[Command]:
    """``rum worker`` and ``rum jobs list|show|retry|cancel|prune``."""
    from rum_jobs.cli import commands

    return commands()

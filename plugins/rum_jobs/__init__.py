"""Rum's jobs plugin: a durable PostgreSQL job queue, workers and the cron clock.

::

    from rum_jobs import Job, Worker

    class SendEmail(Job):
        async def execute(self, args):
            ...

    await SendEmail.enqueue({"to": "a@b.c"})
    await Worker(jobs=[SendEmail], db=db).run()
"""

from __future__ import annotations

from rum_jobs.clock import Clock, CronEntry
from rum_jobs.controls import (
    QueueControl,
    Rate,
    pause_queue,
    paused_queues,
    queue_controls,
    resume_queue,
    set_queue_limits,
)
from rum_jobs.job import Job, enqueue_many
from rum_jobs.limits import Limit
from rum_jobs.pruner import Pruner
from rum_jobs.records import JobRecord
from rum_jobs.results import Cancel, Discard, Done, Retry, Snooze
from rum_jobs.schema import drop_schema, ensure_schema, migrations_dir
from rum_jobs.stats import (
    FailedJob,
    JobStats,
    QueueStats,
    RunningJob,
    ScheduleStats,
    WorkerStats,
    stats,
)
from rum_jobs.store import (
    NewJob,
    cancel_job,
    count_jobs,
    discard_job,
    get_job,
    list_jobs,
    prune,
    retry_job,
)
from rum_jobs.unique import ACTIVE_STATUSES, ALL_STATUSES, Unique
from rum_jobs.worker import Worker
from rum_jobs.workflows import WAITING_RUN_AT, waiting_on

__all__ = [
    "ACTIVE_STATUSES",
    "ALL_STATUSES",
    "WAITING_RUN_AT",
    "Cancel",
    "Clock",
    "CronEntry",
    "Discard",
    "Done",
    "FailedJob",
    "Job",
    "JobRecord",
    "JobStats",
    "Limit",
    "NewJob",
    "Pruner",
    "QueueControl",
    "QueueStats",
    "Rate",
    "Retry",
    "RunningJob",
    "ScheduleStats",
    "Snooze",
    "Unique",
    "Worker",
    "WorkerStats",
    "cancel_job",
    "count_jobs",
    "discard_job",
    "drop_schema",
    "enqueue_many",
    "ensure_schema",
    "get_job",
    "list_jobs",
    "migrations_dir",
    "pause_queue",
    "paused_queues",
    "prune",
    "queue_controls",
    "resume_queue",
    "retry_job",
    "set_queue_limits",
    "stats",
    "waiting_on",
]

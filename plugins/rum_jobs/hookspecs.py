"""Hook specs the jobs plugin owns; other plugins implement them to add to the job queue.

Registered when the jobs plugin loads (its ``hookspecs`` attribute). A plugin that also works
without jobs marks its implementation ``@hookimpl(optionalhook=True)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rum import hookspec

if TYPE_CHECKING:
    from rum import App
    from rum_jobs.clock import CronEntry


@hookspec
def rum_cron_entries(app: App) -> Iterable[CronEntry]:
    """Cron entries (``MyJob.schedule(args, "0 3 * * *")``) for the app's clock.

    Collected when a worker with a clock starts (``rum worker``, or the in-app worker); each fire
    time is enqueued once however many clocks run.
    """

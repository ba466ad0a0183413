"""Periodic deletion of finished jobs (by age and/or count per status)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import trio

from rum_jobs.store import prune

logger = logging.getLogger("rum.jobs.pruner")


@dataclass
class Pruner:
    """Every ``interval`` seconds delete finished jobs older than ``max_age[status]`` and
    beyond the newest ``max_count[status]``; ``jobs`` limits it to some job classes/names.

    ``Pruner(max_age={"complete": timedelta(days=7)}, max_count={"failed": 1000})``

    Once its passes have deleted ``vacuum_after`` rows since the last vacuum it runs ``VACUUM
    rum_jobs``, so the space is reused at once rather than when autovacuum gets to it, and the
    table and its indexes stay bounded under steady load (``0`` turns this off;
    a database user that does not own the table gets a warning from PostgreSQL and nothing
    else).
    """

    max_age: Mapping[str, float | dt.timedelta] = field(default_factory=dict)
    max_count: Mapping[str, int] = field(default_factory=dict)
    interval: float = 3600.0
    jobs: Iterable[str | type] | None = None
    vacuum_after: int = 10_000
    _since_vacuum: int = field(default=0, init=False, repr=False)

    async def prune_once(self, db: Any) -> int:
        """Prune now (and vacuum after a big pass); how many jobs were deleted."""
        deleted = await prune(db, max_age=dict(self.max_age), max_count=dict(self.max_count),
                              jobs=self.jobs)
        self._since_vacuum += deleted
        if self.vacuum_after and self._since_vacuum >= self.vacuum_after:
            self._since_vacuum = 0
            await db.execute("VACUUM rum_jobs")
        return deleted

    async def run(self, db: Any) -> None:
        """Prune every ``interval`` seconds until cancelled."""
        while True:
            try:
                deleted = await self.prune_once(db)
                if deleted:
                    logger.info("pruned %d finished job(s)", deleted)
            except Exception:
                logger.exception("pruning jobs failed")
            await trio.sleep(self.interval)

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
    """

    max_age: Mapping[str, float | dt.timedelta] = field(default_factory=dict)
    max_count: Mapping[str, int] = field(default_factory=dict)
    interval: float = 3600.0
    jobs: Iterable[str | type] | None = None

    async def prune_once(self, db: Any) -> int:
        """Prune now; how many jobs were deleted."""
        return await prune(db, max_age=dict(self.max_age), max_count=dict(self.max_count),
                           jobs=self.jobs)

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

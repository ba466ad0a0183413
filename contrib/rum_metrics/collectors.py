"""What ``/metrics`` reads at scrape time, and prometheus_client's multiprocess mode.

Counters and histograms are prometheus_client's own, registered on the app's
``CollectorRegistry``. Two gauges are read when scraped instead: the database pool (from
``app.storage``) and the job queue by status (counted in PostgreSQL). Under ``rum run
--workers N`` every process writes its counters to files in one directory
(``PROMETHEUS_MULTIPROC_DIR``) and the process that answers a scrape sums them all.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest, multiprocess, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from rum.errors import RumError

if TYPE_CHECKING:
    from rum.app import App

logger = logging.getLogger("rum.metrics")

#: The environment variable prometheus_client reads for its multiprocess directory.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class LiveGauges(Collector):
    """The gauges computed at scrape time: pool connections by state, jobs by status."""

    def __init__(self, app: App) -> None:
        self.app = app
        #: jobs by status, refreshed by ``Metrics.collect()`` before each scrape
        self.job_states: dict[str, float] = {}

    def collect(self) -> Iterator[Metric]:
        """Yield ``rum_db_pool_connections`` and ``rum_jobs_by_status``."""
        pool = GaugeMetricFamily(
            "rum_db_pool_connections",
            "Database pool connections by state (size, idle, in_use, min_size, max_size) in "
            "the process that answered the scrape.", labels=("state",))
        for state, value in sorted((pool_stats(self.app) or {}).items()):
            pool.add_metric((state,), value)
        yield pool
        jobs = GaugeMetricFamily(
            "rum_jobs_by_status",
            "Jobs in the queue table by status, counted at scrape time (jobs plugin).",
            labels=("status",))
        for status, count in sorted(self.job_states.items()):
            jobs.add_metric((status,), count)
        yield jobs


def use_multiprocess_dir(path: str) -> None:
    """Make this process write its metric values to files under ``path`` (shared by every
    worker process), as prometheus_client does when ``PROMETHEUS_MULTIPROC_DIR`` is set at
    start. Call it before the first observation: values created earlier stay in memory."""
    os.environ[MULTIPROC_ENV] = path
    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()


def multiprocess_dir() -> str | None:
    """The shared directory when this process runs in multiprocess mode, else ``None``."""
    if getattr(values.ValueClass, "_multiprocess", False):
        return os.environ.get(MULTIPROC_ENV) or None
    return None


def exposition(registry: CollectorRegistry, live: LiveGauges) -> bytes:
    """The text exposition: this process's registry, or, in multiprocess mode, the sum over
    every worker process's files plus the live gauges."""
    path = multiprocess_dir()
    if path is None:
        return generate_latest(registry)
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged, path=path)
    merged.register(live)
    return generate_latest(merged)


def pool_stats(app: App) -> Mapping[str, float] | None:
    """Connection-pool numbers from ``app.storage``, if it has any.

    Reads ``storage.pool_stats()`` (a mapping of state to count) when the storage offers it,
    else an asyncpg-style ``storage.pool`` (``get_size()``, ``get_idle_size()``, ...). Apps
    without a storage plugin, or whose pool is not open, report nothing.
    """
    try:
        storage: Any = app.storage
    except RumError:
        return None
    try:
        getter = getattr(storage, "pool_stats", None)
        if callable(getter):
            stats = getter()
            return {str(k): float(v) for k, v in (stats or {}).items()
                    if isinstance(v, int | float) and not isinstance(v, bool)}
        pool = getattr(storage, "pool", None)
        if pool is None or not hasattr(pool, "get_size"):
            return None
        size, idle = pool.get_size(), pool.get_idle_size()
        return {"size": size, "idle": idle, "in_use": size - idle,
                "min_size": pool.get_min_size(), "max_size": pool.get_max_size()}
    except Exception:  # a closed or half-open pool must not break the scrape
        logger.debug("could not read database pool stats", exc_info=True)
        return None

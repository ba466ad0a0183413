"""The per-app metrics object (``app.extensions["metrics"]``): what is measured and how."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rum.errors import RumError
from rum_metrics.registry import DEFAULT_BUCKETS, Gauge, LabelValues, Registry

if TYPE_CHECKING:
    from rum.app import App

logger = logging.getLogger("rum.metrics")

#: Methods reported by name; anything else is counted as ``OTHER`` (bounded label values).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

#: Route label of requests no route matched (404s): raw paths would make unbounded series.
UNMATCHED = "<unmatched>"


class Metrics:
    """Request, job and database-pool metrics of one app.

    Plugins and apps record with :meth:`observe_request` (done by the plugin's hooks),
    :meth:`observe_job` (called by a job backend) or their own metrics registered on
    :attr:`registry`; :meth:`render` produces the ``/metrics`` page.
    """

    def __init__(self, app: App, buckets: Sequence[float] = DEFAULT_BUCKETS,
                 job_buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        self.app = app
        self.registry = Registry()
        self.requests = self.registry.counter(
            "rum_http_requests_total", "HTTP requests answered, by method, route and status.",
            ("method", "route", "status"))
        self.latency = self.registry.histogram(
            "rum_http_request_duration_seconds",
            "Time from receiving a request to having its response ready, in seconds.",
            ("method", "route", "status"), buckets)
        self.jobs = self.registry.counter(
            "rum_jobs_total", "Background jobs finished, by job name and status.",
            ("job", "status"))
        self.job_duration = self.registry.histogram(
            "rum_job_duration_seconds", "Background job run time, in seconds.",
            ("job", "status"), job_buckets)
        self.job_states: Gauge = self.registry.gauge(
            "rum_jobs_by_status",
            "Jobs in the queue table by status, counted at scrape time (jobs plugin).",
            ("status",))
        self.pool: Gauge = self.registry.gauge(
            "rum_db_pool_connections",
            "Database pool connections by state (size, idle, in_use, min_size, max_size).",
            ("state",), callback=self._pool_stats)

    # -- recording ------------------------------------------------------------------------------

    def observe_request(self, method: str, route: str | None, status: int,
                        seconds: float) -> None:
        """Count one answered request and its latency.

        ``route`` is the matched route's path template (``/users/<int:id>``), ``None`` for
        requests no route matched.
        """
        key = (method if method in KNOWN_METHODS else "OTHER", route or UNMATCHED, str(status))
        self.requests.inc_key(key)
        self.latency.observe_key(key, seconds)

    def observe_job(self, name: str, status: str, seconds: float) -> None:
        """Count one finished job run: ``status`` is e.g. ``"succeeded"``, ``"failed"``,
        ``"retried"``; ``seconds`` its run time. Job backends call this when the metrics plugin
        is enabled (``app.extensions.get("metrics")``)."""
        self.jobs.inc(job=name, status=status)
        self.job_duration.observe(seconds, job=name, status=status)

    # -- reading --------------------------------------------------------------------------------

    def _pool_stats(self) -> dict[LabelValues, float] | None:
        stats = pool_stats(self.app)
        if stats is None:
            return None
        return {(state,): float(value) for state, value in stats.items()}

    async def collect(self) -> None:
        """Refresh the numbers read from the database at scrape time (job queue by status)."""
        if self.app.plugins.pm.get_plugin("jobs") is None:
            return
        stats = pool_stats(self.app)
        if stats is None:  # no open database
            return
        try:
            from rum_jobs import count_jobs

            counts = await count_jobs(self.app.storage)
        except Exception:  # no jobs table yet (migrations not run), database down, ...
            logger.debug("could not count jobs by status", exc_info=True)
            return
        self.job_states.values = {(str(k),): float(v) for k, v in counts.items()}

    def render(self) -> str:
        """Every metric in Prometheus' text exposition format."""
        return self.registry.render()


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

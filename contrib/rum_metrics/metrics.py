"""The per-app metrics object (``app.extensions["metrics"]``): what is measured and how."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from rum.tally import histogram
from rum_metrics.collectors import LiveGauges, exposition, pool_stats

if TYPE_CHECKING:
    from rum.app import App
    from rum.tally import RequestBatch

logger = logging.getLogger("rum.metrics")

#: Default latency buckets, in seconds (prometheus_client's own defaults).
DEFAULT_BUCKETS: tuple[float, ...] = tuple(b for b in Histogram.DEFAULT_BUCKETS
                                           if b != float("inf"))

#: Methods reported by name; anything else is counted as ``OTHER`` (bounded label values).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

#: Route label of requests no route matched (404s): raw paths would make unbounded series.
UNMATCHED = "<unmatched>"

#: Content type of the scrape answer: the Prometheus text format 0.0.4.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

LABELS = ("method", "route", "status")

# how Metrics.observe_requests records a series (see Metrics._series_for)
_VALUES, _PUBLIC = "values", "public"


class Metrics:
    """Request, job and database-pool metrics of one app, on prometheus_client.

    :attr:`registry` is the app's own ``prometheus_client.CollectorRegistry`` (two apps in one
    process never mix numbers); register your metrics on it with ``registry=``. Requests are
    recorded by :meth:`observe_batch` (the plugin's request observer, fed by the kernel's
    request tally) and jobs by :meth:`observe_job` (called by a job backend); :meth:`render`
    produces the ``/metrics`` page.
    """

    def __init__(self, app: App, buckets: Sequence[float] = DEFAULT_BUCKETS,
                 job_buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        self.app = app
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rum_http_requests_total", "HTTP requests answered, by method, route and status.",
            LABELS, registry=self.registry)
        self.latency = Histogram(
            "rum_http_request_duration_seconds",
            "Time from receiving a request to having its response ready, in seconds.",
            LABELS, buckets=buckets, registry=self.registry)
        self.jobs = Counter(
            "rum_jobs_total", "Background jobs finished, by job name and status.",
            ("job", "status"), registry=self.registry)
        self.job_duration = Histogram(
            "rum_job_duration_seconds", "Background job run time, in seconds.",
            ("job", "status"), buckets=job_buckets, registry=self.registry)
        self.live = LiveGauges(app)
        self.registry.register(self.live)
        # (method, route, status) -> how and what observe_requests increments (_series_for)
        self._series: dict[tuple[str, str | None, int], tuple[Any, ...]] = {}

    # -- recording ------------------------------------------------------------------------------

    def observe_request(self, method: str, route: str | None, status: int,
                        seconds: float) -> None:
        """Count one answered request and its latency (see :meth:`observe_requests`)."""
        self.observe_requests(method, route, status, (seconds,))

    def observe_batch(self, batch: RequestBatch) -> None:
        """Count the requests of a batch of the kernel's request tally: the plugin's
        ``rum_request_observer``."""
        for (method, route, status), durations in batch.durations.items():
            self.observe_requests(method, route, status, durations)

    def observe_requests(self, method: str, route: str | None, status: int,
                         durations: Sequence[float]) -> None:
        """Count answered requests of one label set, with their latencies in seconds, sorted
        from the quickest (as the kernel's request tally hands them over).

        ``route`` is the matched route's path template (``/users/<int:id>``), ``None`` for
        requests no route matched. Called on the app's trio thread (the kernel hands the
        plugin its batches there), not from other threads.
        """
        key = (method if method in KNOWN_METHODS else "OTHER", route, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = self._series_for(*key)
        how, count, total, buckets, bounds = series
        if how is _PUBLIC:  # an unfamiliar prometheus_client: its public API
            count.inc(len(durations))
            for seconds in durations:
                total.observe(seconds)
            return
        # What Counter.inc and Histogram.observe do, without their checks (made once, in
        # _series_for), for a whole group at once: each value is written once per batch (one
        # lock round trip, or one file write in multi-process mode), the buckets counted with
        # a bisect per bucket over the sorted durations.
        count.inc(len(durations))
        total.inc(sum(durations))
        for value, hits in zip(buckets, histogram(durations, bounds), strict=True):
            if hits:
                value.inc(hits)

    def _series_for(self, method: str, route: str | None, status: int) -> tuple[Any, ...]:
        """How observe_requests records one label set: ``(how, counter value, histogram sum,
        histogram buckets, finite bucket bounds)``, the values being the children's
        ``ValueClass`` objects (``_VALUES``); ``_PUBLIC`` (with the two children) when
        prometheus_client does not have the expected shape."""
        labels = (method, route or UNMATCHED, str(status))
        counter, latency = self.requests.labels(*labels), self.latency.labels(*labels)
        try:
            count, total = counter._value, latency._sum
            buckets, bounds = list(latency._buckets), tuple(latency._upper_bounds)
            usable = (len(buckets) == len(bounds) and bounds and bounds[-1] == float("inf")
                      and list(bounds) == sorted(bounds)
                      and all(hasattr(v, "inc") for v in (count, total, *buckets)))
        except AttributeError:
            usable = False
        if not usable:
            return (_PUBLIC, counter, latency, None, None)
        return (_VALUES, count, total, buckets, bounds[:-1])

    def observe_job(self, name: str, status: str, seconds: float) -> None:
        """Count one finished job run: ``status`` is e.g. ``"complete"``, ``"failed"``,
        ``"retried"``; ``seconds`` its run time. Job backends call this when the metrics plugin
        is enabled (``app.extensions.get("metrics")``)."""
        self.jobs.labels(name, status).inc()
        self.job_duration.labels(name, status).observe(seconds)

    # -- reading --------------------------------------------------------------------------------

    async def collect(self) -> None:
        """Refresh the numbers read from the database at scrape time (job queue by status)."""
        if self.app.plugins.pm.get_plugin("jobs") is None:
            return
        if pool_stats(self.app) is None:  # no open database
            return
        try:
            from rum_jobs import count_jobs

            counts = await count_jobs(self.app.storage)
        except Exception:  # no jobs table yet (migrations not run), database down, ...
            logger.debug("could not count jobs by status", exc_info=True)
            return
        self.live.job_states = {str(k): float(v) for k, v in counts.items()}

    def render(self) -> str:
        """Every metric in Prometheus' text exposition format (summed over every worker
        process under ``rum run --workers N``)."""
        return exposition(self.registry, self.live).decode()

"""The per-app metrics object (``app.extensions["metrics"]``): what is measured and how."""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.values import MutexValue

from rum_metrics.collectors import LiveGauges, exposition, pool_stats

if TYPE_CHECKING:
    from rum.app import App

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

# how Metrics.observe_request records a series (see Metrics._series_for)
_PLAIN, _VALUES, _PUBLIC = "plain", "values", "public"


class Metrics:
    """Request, job and database-pool metrics of one app, on prometheus_client.

    :attr:`registry` is the app's own ``prometheus_client.CollectorRegistry`` (two apps in one
    process never mix numbers); register your metrics on it with ``registry=``. Plugins record
    with :meth:`observe_request` (done by the plugin's hooks) and :meth:`observe_job` (called
    by a job backend); :meth:`render` produces the ``/metrics`` page.
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
        # (method, route, status) -> how and what observe_request increments (_series_for)
        self._series: dict[tuple[str, str | None, int], tuple[Any, ...]] = {}

    # -- recording ------------------------------------------------------------------------------

    def observe_request(self, method: str, route: str | None, status: int,
                        seconds: float) -> None:
        """Count one answered request and its latency.

        ``route`` is the matched route's path template (``/users/<int:id>``), ``None`` for
        requests no route matched. Called on the app's trio thread (the plugin's
        ``rum_response`` hook does it), not from other threads.
        """
        key = (method if method in KNOWN_METHODS else "OTHER", route, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = self._series_for(*key)
        how, count, total, buckets, bounds = series
        if how is _PLAIN:
            # What Counter.inc(1) and Histogram.observe(seconds) do, without their checks
            # (made once, in _series_for), with a bisect instead of a scan of the buckets,
            # and without taking each value's lock (three lock round trips cost more than
            # the rest of the hook): these series are written only here, on the app's trio
            # thread, and a reader (the /metrics page) reads one float at a time.
            count._value += 1
            total._value += seconds
            buckets[bisect_left(bounds, seconds)]._value += 1
        elif how is _VALUES:  # e.g. multi-process values, which also write their file
            count.inc(1)
            total.inc(seconds)
            buckets[bisect_left(bounds, seconds)].inc(1)
        else:  # an unfamiliar prometheus_client: its public API
            count.inc()
            total.observe(seconds)

    def _series_for(self, method: str, route: str | None, status: int) -> tuple[Any, ...]:
        """How observe_request records one label set: ``(how, counter value, histogram sum,
        histogram buckets, bucket bounds)``, the values being the children's ``ValueClass``
        objects; ``_PLAIN`` when they are prometheus_client's single-process ``MutexValue``,
        ``_VALUES`` for others (multi-process), ``_PUBLIC`` (with the two children) when
        prometheus_client does not have the expected shape."""
        labels = (method, route or UNMATCHED, str(status))
        counter, histogram = self.requests.labels(*labels), self.latency.labels(*labels)
        try:
            count, total = counter._value, histogram._sum
            buckets, bounds = list(histogram._buckets), tuple(histogram._upper_bounds)
            usable = (len(buckets) == len(bounds) and bounds and bounds[-1] == float("inf")
                      and list(bounds) == sorted(bounds)
                      and all(hasattr(v, "inc") for v in (count, total, *buckets)))
        except AttributeError:
            usable = False
        if not usable:
            return (_PUBLIC, counter, histogram, None, None)
        plain = all(type(v) is MutexValue and isinstance(getattr(v, "_value", None), float)
                    for v in (count, total, *buckets))
        return (_PLAIN if plain else _VALUES, count, total, buckets, bounds)

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

"""The request tally: what the app answered, counted for plugins that only count.

Metrics and dashboards want the same three facts of every request: its method, its route and
its status, with how long it took. Asking each of them through ``rum_response`` costs a hook
call and its own bookkeeping on every request. Instead, the kernel notes each answered
request once, in a :class:`RequestTally`, grouped by ``(method, route, status)``, and hands
the groups in batches to the *request observers* plugins register with the
``rum_request_observer`` hook.

A batch is handed over when a quarter of a second passed since the last one (checked when a
request is noted, and by a task while the app runs, so a process that turned idle is not left
behind), when a request answered ``5xx`` (at once, so that a failure is never late), when a
reader asks (``app.tally.flush()``: the metrics page before it renders, the dashboards before
they write) and when the app shuts down, before ``rum_shutdown``. An observer is therefore at
most a quarter of a second behind, and exact wherever it flushes before reading. Noting a
request is a clock read, a dictionary lookup and an append; the sorting and counting happen
once per batch.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from time import perf_counter
from typing import TYPE_CHECKING, Any, NamedTuple

import trio

if TYPE_CHECKING:
    from rum.request import Request

logger = logging.getLogger("rum.tally")

#: ``(method, route path or None, status)``: how requests are grouped in a batch. ``route``
#: is the matched route's path template (``/users/<int:id>``); ``None`` when no route matched
#: (a 404, or a request a ``rum_request`` hook answered, e.g. a static file).
RequestKey = tuple[str, "str | None", int]


class FailedRequest(NamedTuple):
    """A request that answered ``5xx``: the request itself (its ``id``, ``path``, and what
    plugins noted on it), its status and how long it took, in seconds."""

    request: Request
    status: int
    seconds: float


class RequestBatch(NamedTuple):
    """The requests answered since the last batch.

    ``durations`` maps each :data:`RequestKey` to the durations, in seconds, of its requests,
    sorted from the quickest (``len()`` is the count; :func:`histogram` counts them into
    buckets with a bisect per bucket, not per request). ``failures`` lists the
    requests among them that answered ``5xx``, as :class:`FailedRequest`. Observers must not
    change either.
    """

    durations: Mapping[RequestKey, Sequence[float]]
    failures: Sequence[FailedRequest]


def histogram(durations: Sequence[float], bounds: Sequence[float]) -> list[int]:
    """How many of ``durations`` (sorted, as a :class:`RequestBatch` has them) fall in each
    bucket: at most ``bounds[0]``, above it and at most ``bounds[1]``, ..., and a last count
    for those above ``bounds[-1]``. ``bounds`` are sorted upper bounds, as Prometheus has
    them."""
    counts, low, size = [], 0, len(durations)
    for bound in bounds:
        high = bisect_right(durations, bound, low) if low < size else size
        counts.append(high - low)
        low = high
    counts.append(size - low)
    return counts


#: What ``rum_request_observer`` returns: called with each batch, on the app's trio thread.
RequestObserver = Callable[[RequestBatch], Any]


class RequestTally:
    """Notes every answered request (``App.handle`` calls :meth:`note`) and hands batches to
    the observers (:meth:`flush`). ``app.tally`` is the app's; see the module doc for when
    batches are handed over."""

    #: seconds after the last batch before the next one is handed over, at the latest
    interval = 0.25

    def __init__(self) -> None:
        self.observers: list[RequestObserver] = []
        self._durations: dict[RequestKey, list[float]] = {}
        self._failures: list[FailedRequest] = []
        self._due = perf_counter() + self.interval

    def note(self, request: Request, status: int) -> None:
        """Note one answered request, timed from ``request.started`` until now."""
        now = perf_counter()
        route = request.route
        key = (request.method, route.path if route is not None else None, status)
        try:  # (cheaper than dict.get and a test, on the path every request takes)
            durations = self._durations[key]
        except KeyError:
            durations = self._durations[key] = []
        durations.append(now - request.started)
        if now >= self._due or status >= 500:
            if status >= 500:
                self._failures.append(FailedRequest(request, status, durations[-1]))
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        """Hand what was noted to every observer now, as one :class:`RequestBatch`.

        An observer that raises is logged and skipped; the others still get the batch.
        """
        self._due = (perf_counter() if now is None else now) + self.interval
        if not self._durations:
            return
        for durations in self._durations.values():
            durations.sort()
        batch = RequestBatch(self._durations, self._failures)
        self._durations, self._failures = {}, []
        for observe in self.observers:
            try:
                observe(batch)
            except Exception:
                logger.exception("request observer %r failed; it misses a batch", observe)

    async def flush_every_interval(self) -> None:
        """Hand a batch over each ``interval`` seconds when requests wait (the app runs this
        while it runs, when it has observers), so that a process that turned idle is not
        left behind."""
        while True:
            await trio.sleep(self.interval)
            if self._durations and perf_counter() >= self._due:
                self.flush()

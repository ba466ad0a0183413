"""Per-process request counters, cheap on the hot path, drained by the flusher.

A :class:`RequestRecorder` keeps, per route, a count, a 5xx count, the summed seconds and a
latency histogram over fixed :data:`LATENCY_BOUNDS`, since the last flush; and the failing
(5xx) requests seen since then. Noting requests is a dictionary lookup per route and status
and a ``bisect`` per bucket over their sorted durations (no clock read beyond the caller's, no
lock: trio runs one task at a time, and the flusher swaps the dictionaries out in one step).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from rum.tally import histogram

#: Upper bounds (seconds) of the latency histogram's buckets; a last bucket holds the rest.
LATENCY_BOUNDS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                     0.5, 1.0, 2.5, 5.0, 10.0)
#: How many buckets a histogram has (the bounds plus "slower than the last bound").
BUCKETS = len(LATENCY_BOUNDS) + 1
#: Failing requests kept in memory between flushes (the rest are counted, not listed).
MAX_PENDING_FAILURES = 100


@dataclass
class RouteCounts:
    """What one route saw since the last flush."""

    count: int = 0
    errors: int = 0
    seconds: float = 0.0
    histogram: list[int] = field(default_factory=lambda: [0] * BUCKETS)


@dataclass(frozen=True)
class Failure:
    """One failing (5xx) request, as recorded: ``at`` is a Unix time."""

    request_id: str
    method: str
    path: str
    route: str
    status: int
    exception: str | None
    seconds: float
    at: float


class RequestRecorder:
    """Accumulates one process's requests between flushes (see the module docstring)."""

    __slots__ = ("failures", "routes")

    def __init__(self) -> None:
        self.routes: dict[str, RouteCounts] = {}
        self.failures: list[Failure] = []

    def note(self, route: str, status: int, seconds: float) -> RouteCounts:
        """Count one request of ``route`` that answered ``status`` after ``seconds``."""
        return self.note_many(route, status, (seconds,))

    def note_many(self, route: str, status: int, durations: Sequence[float]) -> RouteCounts:
        """Count requests of ``route`` that answered ``status``, one per duration (seconds,
        sorted from the quickest, as the kernel's request tally hands them over)."""
        counts = self.routes.get(route)
        if counts is None:
            counts = self.routes[route] = RouteCounts()
        counts.count += len(durations)
        counts.seconds += sum(durations)
        counts.histogram = [old + new for old, new in
                            zip(counts.histogram, histogram(durations, LATENCY_BOUNDS),
                                strict=True)]
        if status >= 500:
            counts.errors += len(durations)
        return counts

    def note_failure(self, request_id: str, method: str, path: str, route: str, status: int,
                     exception: str | None, seconds: float) -> None:
        """Keep a failing request for the failures table (the newest ones when many)."""
        if len(self.failures) >= MAX_PENDING_FAILURES:
            del self.failures[0]
        self.failures.append(Failure(request_id[:200], method, path[:500], route, status,
                                     exception, seconds, time.time()))

    def drain(self) -> tuple[dict[str, RouteCounts], list[Failure]]:
        """Hand over what was recorded and start afresh (the flusher calls it)."""
        routes, failures = self.routes, self.failures
        self.routes, self.failures = {}, []
        return routes, failures

    def put_back(self, routes: dict[str, RouteCounts], failures: list[Failure]) -> None:
        """Merge a drained batch back (its flush failed), so a database hiccup loses nothing."""
        for route, old in routes.items():
            counts = self.routes.get(route)
            if counts is None:
                self.routes[route] = old
                continue
            counts.count += old.count
            counts.errors += old.errors
            counts.seconds += old.seconds
            counts.histogram = [a + b for a, b in zip(counts.histogram, old.histogram,
                                                      strict=True)]
        self.failures[:0] = failures
        del self.failures[:-MAX_PENDING_FAILURES]


def percentile(histogram: list[int], q: float) -> float | None:
    """The ``q`` quantile (0–1) of a summed histogram, interpolated inside its bucket;
    ``None`` when it is empty. The last bucket (slower than every bound) answers its lower
    bound, so a p95 there reads "at least that"."""
    total = sum(histogram)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(histogram):
        if n and seen + n >= rank:
            if i >= len(LATENCY_BOUNDS):
                return LATENCY_BOUNDS[-1]
            low = LATENCY_BOUNDS[i - 1] if i else 0.0
            high = LATENCY_BOUNDS[i]
            return low + (high - low) * max(0.0, rank - seen) / n
        seen += n
    return LATENCY_BOUNDS[-1]

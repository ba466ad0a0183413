"""The requests dashboard's tables in PostgreSQL: shared by every process and node.

``rum_admin_request_stats`` holds one row per route per :data:`BUCKET_SECONDS` bucket (the
bucket comes from the database's clock, so nodes agree): request and 5xx counts, summed
seconds and a latency histogram. Every process adds its counters with one upsert per route
per flush; rows older than the kept span are pruned by the same flush.
``rum_admin_request_failures`` keeps the newest :data:`MAX_FAILURES` failing requests. Both
are ``UNLOGGED``: fast to write, and a crash of the database server empties them (they are
live figures, not history).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from rum_admin.dashboards.recorder import BUCKETS, Failure, RouteCounts, percentile

#: Width of a stats bucket, in seconds.
BUCKET_SECONDS = 10
#: How many failing requests the failures table keeps.
MAX_FAILURES = 200

SCHEMA = """
SELECT pg_advisory_xact_lock(hashtext('rum_admin_dashboards'));
CREATE UNLOGGED TABLE IF NOT EXISTS rum_admin_request_stats (
    bucket timestamptz NOT NULL,
    route text NOT NULL,
    requests bigint NOT NULL,
    errors bigint NOT NULL,
    seconds double precision NOT NULL,
    histogram bigint[] NOT NULL,
    PRIMARY KEY (bucket, route)
);
CREATE UNLOGGED TABLE IF NOT EXISTS rum_admin_request_failures (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    request_id text NOT NULL,
    method text NOT NULL,
    path text NOT NULL,
    route text NOT NULL,
    status integer NOT NULL,
    exception text,
    seconds double precision NOT NULL,
    node text NOT NULL
);
"""

UPSERT = f"""
INSERT INTO rum_admin_request_stats AS s (bucket, route, requests, errors, seconds, histogram)
VALUES (to_timestamp(floor(extract(epoch FROM now()) / {BUCKET_SECONDS}) * {BUCKET_SECONDS}),
        $1, $2, $3, $4, $5)
ON CONFLICT (bucket, route) DO UPDATE SET
    requests = s.requests + excluded.requests,
    errors = s.errors + excluded.errors,
    seconds = s.seconds + excluded.seconds,
    histogram = ARRAY(SELECT a + b FROM unnest(s.histogram, excluded.histogram)
                          WITH ORDINALITY AS u(a, b, i) ORDER BY i)
"""

INSERT_FAILURE = """
INSERT INTO rum_admin_request_failures
    (at, request_id, method, path, route, status, exception, seconds, node)
VALUES (to_timestamp($1), $2, $3, $4, $5, $6, $7, $8, $9)
"""

CAP_FAILURES = """
DELETE FROM rum_admin_request_failures
 WHERE id <= (SELECT id FROM rum_admin_request_failures ORDER BY id DESC OFFSET $1 LIMIT 1)
"""

PRUNE = """
DELETE FROM rum_admin_request_stats WHERE bucket < now() - $1::float8 * interval '1 second'
"""

SELECT_STATS = """
SELECT route, requests, errors, seconds, histogram FROM rum_admin_request_stats
 WHERE bucket >= to_timestamp(floor(extract(epoch FROM now()) / $2) * $2)
                 - $1::float8 * interval '1 second'
"""

SELECT_FAILURES = """
SELECT id, at, request_id, method, path, route, status, exception, seconds, node
  FROM rum_admin_request_failures ORDER BY id DESC LIMIT $1
"""


async def ensure_tables(db: Any) -> None:
    """Create the dashboards' tables when missing (any process may; an advisory lock keeps
    concurrent start-ups from racing)."""
    async with db.transaction() as tx:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                await tx.execute(statement)


async def flush(db: Any, routes: dict[str, RouteCounts], failures: list[Failure], *,
                node: str, keep: float) -> None:
    """Add one process's counters (one upsert per route, in route order so concurrent
    flushes lock rows in the same order) and failures; prune rows older than ``keep``
    seconds and failures beyond :data:`MAX_FAILURES`. One transaction, so a flush that fails
    wrote nothing and its counters can be put back."""
    async with db.transaction() as tx:  # all or nothing: a failed flush is retried whole
        if routes:
            await tx.executemany(UPSERT, [
                (route, c.count, c.errors, c.seconds, c.histogram)
                for route, c in sorted(routes.items())])
        if failures:
            await tx.executemany(INSERT_FAILURE, [
                (f.at, f.request_id, f.method, f.path, f.route, f.status, f.exception,
                 f.seconds, node) for f in failures])
            await tx.execute(CAP_FAILURES, MAX_FAILURES)
        await tx.execute(PRUNE, keep)


@dataclass(frozen=True)
class RouteStats:
    """One route over the window: ``rate`` in requests per second, latencies in seconds
    (``None`` without requests)."""

    route: str
    requests: int
    errors: int
    rate: float
    mean: float | None
    p50: float | None
    p95: float | None


@dataclass(frozen=True)
class FailingRequest:
    """A request answered with a 5xx, newest first; ``node`` is ``host:pid`` of the process."""

    id: int
    at: dt.datetime
    request_id: str
    method: str
    path: str
    route: str
    status: int
    exception: str | None
    seconds: float
    node: str


@dataclass(frozen=True)
class RequestStats:
    """What :func:`request_stats` returns: per route (busiest first), and failing requests."""

    window: float
    routes: list[RouteStats] = field(default_factory=list)
    failures: list[FailingRequest] = field(default_factory=list)

    def route(self, name: str) -> RouteStats | None:
        """The stats of ``name`` (``"GET /orders/{id:int}"``), or ``None``."""
        return next((r for r in self.routes if r.route == name), None)

    @property
    def requests(self) -> int:
        """Requests of every route in the window."""
        return sum(r.requests for r in self.routes)

    @property
    def errors(self) -> int:
        """5xx answers of every route in the window."""
        return sum(r.errors for r in self.routes)


async def request_stats(db: Any, *, window: float = 300.0, failures: int = 20) -> RequestStats:
    """Every process's flushed counters over the last ``window`` seconds (whole buckets:
    the current bucket plus ``window`` before it) and the newest ``failures`` failing
    requests."""
    if not window > 0:
        raise ValueError(f"the requests dashboard's window must be positive seconds, "
                         f"got {window!r}")
    per: dict[str, list[Any]] = {}
    for row in await db.fetch(SELECT_STATS, float(window), BUCKET_SECONDS):
        entry = per.setdefault(row["route"], [0, 0, 0.0, [0] * BUCKETS])
        entry[0] += row["requests"]
        entry[1] += row["errors"]
        entry[2] += row["seconds"]
        entry[3] = [a + b for a, b in zip(entry[3], row["histogram"], strict=False)]
    span = float(window) + BUCKET_SECONDS
    routes = [RouteStats(route=name, requests=n, errors=errors, rate=n / span,
                         mean=seconds / n if n else None, p50=percentile(hist, 0.5),
                         p95=percentile(hist, 0.95))
              for name, (n, errors, seconds, hist) in per.items()]
    routes.sort(key=lambda r: (-r.requests, r.route))
    listed = [FailingRequest(**dict(row)) for row in await db.fetch(SELECT_FAILURES, failures)]
    return RequestStats(window=float(window), routes=routes, failures=listed)

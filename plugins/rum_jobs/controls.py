"""Queue controls shared by every worker through PostgreSQL: pause/resume and queue limits.

::

    await rum_jobs.pause_queue("mail")            # no worker claims from "mail" any more
    await rum_jobs.resume_queue("mail")
    await rum_jobs.set_queue_limits("mail", concurrency=2, rate=Rate(100, per=60))

State lives in the ``rum_jobs_queues`` table, which every claim reads, so a control applies
at once to every worker process on every node. Jobs already running when a queue is paused
finish normally. Changes are announced on the ``rum_jobs`` channel (payload ``rum:queues``)
so workers refresh their copy of the limits at once instead of at their next poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rum_jobs.context import resolve_db

#: NOTIFY payload prefixes on the ``rum_jobs`` channel that are not queue names.
NOTE_PREFIX = "rum:"
QUEUES_NOTE = "rum:queues"
CANCEL_NOTE = "rum:cancel:"


@dataclass(frozen=True)
class Rate:
    """At most ``limit`` job starts per ``per`` seconds, counted across every worker.

    ``Rate(100, per=60)``: 100 starts a minute. Every attempt counts (a retry is a start).
    """

    limit: int
    per: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.limit, int) or isinstance(self.limit, bool) or self.limit < 1:
            raise ValueError(f"Rate limit must be a positive integer, got {self.limit!r}")
        if not isinstance(self.per, (int, float)) or not self.per > 0 or self.per == float("inf"):
            raise ValueError(f"Rate period must be positive seconds, got {self.per!r}")


@dataclass(frozen=True)
class QueueControl:
    """The controls of one queue as stored: paused, concurrency and rate limits."""

    queue: str
    paused: bool = False
    concurrency: int | None = None
    rate: Rate | None = None

    @property
    def limited(self) -> bool:
        """True when the queue has a concurrency or rate limit."""
        return self.concurrency is not None or self.rate is not None


_UPSERT_PAUSED = """
WITH up AS (
    INSERT INTO rum_jobs_queues (queue, paused) VALUES ($1, $2)
    ON CONFLICT (queue) DO UPDATE SET paused = excluded.paused, updated_at = now()
    RETURNING queue
)
SELECT pg_notify('rum_jobs', 'rum:queues'), pg_notify('rum_jobs', $1) FROM up
"""

_UPSERT_LIMITS = """
WITH up AS (
    INSERT INTO rum_jobs_queues (queue, concurrency, rate_limit, rate_period)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (queue) DO UPDATE SET concurrency = excluded.concurrency,
           rate_limit = excluded.rate_limit, rate_period = excluded.rate_period,
           updated_at = now()
    RETURNING queue
)
SELECT pg_notify('rum_jobs', 'rum:queues'), pg_notify('rum_jobs', $1) FROM up
"""

SELECT_CONTROLS = """
SELECT queue, paused, concurrency, rate_limit, rate_period FROM rum_jobs_queues
 WHERE paused OR concurrency IS NOT NULL OR rate_limit IS NOT NULL ORDER BY queue
"""


def _check_queue(queue: str) -> str:
    if not isinstance(queue, str) or not queue.strip():
        raise ValueError(f"queue name must be a non-empty string, got {queue!r}")
    if queue.startswith(NOTE_PREFIX):
        raise ValueError(f"queue names starting with {NOTE_PREFIX!r} are reserved: {queue!r}")
    return queue


async def pause_queue(queue: str, *, db: Any = None) -> None:
    """Stop every worker from claiming jobs of ``queue`` (running jobs finish normally).

    Jobs can still be enqueued into a paused queue; they wait until :func:`resume_queue`.
    """
    await resolve_db(db).fetchrow(_UPSERT_PAUSED, _check_queue(queue), True)


async def resume_queue(queue: str, *, db: Any = None) -> None:
    """Let workers claim jobs of ``queue`` again (and wake them at once)."""
    await resolve_db(db).fetchrow(_UPSERT_PAUSED, _check_queue(queue), False)


async def set_queue_limits(queue: str, *, concurrency: int | None = None,
                           rate: Rate | None = None, db: Any = None) -> None:
    """Limit ``queue`` across every worker: at most ``concurrency`` jobs running at once
    and/or at most ``rate`` starts per period. ``None`` removes that limit."""
    if concurrency is not None and (not isinstance(concurrency, int)
                                    or isinstance(concurrency, bool) or concurrency < 1):
        raise ValueError(f"queue {queue!r}: concurrency must be a positive integer or None, "
                         f"got {concurrency!r}")
    if rate is not None and not isinstance(rate, Rate):
        raise TypeError(f"queue {queue!r}: rate must be a rum_jobs.Rate, got {rate!r}")
    await resolve_db(db).fetchrow(
        _UPSERT_LIMITS, _check_queue(queue), concurrency,
        None if rate is None else rate.limit, None if rate is None else float(rate.per))


async def queue_controls(*, db: Any = None) -> dict[str, QueueControl]:
    """Every queue that is paused or limited, by name."""
    rows = await resolve_db(db).fetch(SELECT_CONTROLS)
    return {r["queue"]: control_from_row(r) for r in rows}


async def paused_queues(*, db: Any = None) -> list[str]:
    """Names of the paused queues."""
    return [q for q, c in (await queue_controls(db=db)).items() if c.paused]


def control_from_row(row: Any) -> QueueControl:
    """A :class:`QueueControl` from a ``rum_jobs_queues`` row."""
    rate = (Rate(row["rate_limit"], row["rate_period"])
            if row["rate_limit"] is not None else None)
    return QueueControl(queue=row["queue"], paused=row["paused"],
                        concurrency=row["concurrency"], rate=rate)


def queue_limits_from_config(table: Any, where: str = "[jobs.limits]") -> dict[str, tuple[
        int | None, Rate | None]]:
    """Parse ``[jobs.limits]`` (``mail = {concurrency = 2, rate = 100, per = 60}``) into
    ``{queue: (concurrency, rate)}``; raise ``ValueError`` naming the bad entry."""
    out: dict[str, tuple[int | None, Rate | None]] = {}
    if not table:
        return out
    if not isinstance(table, dict):
        raise ValueError(f"{where} must be a table of queues, got {table!r}")
    for queue, spec in table.items():
        if not isinstance(spec, dict):
            raise ValueError(f"{where} {queue}: expected a table like "
                             f"{{concurrency = 2, rate = 100, per = 60}}, got {spec!r}")
        unknown = set(spec) - {"concurrency", "rate", "per"}
        if unknown:
            raise ValueError(f"{where} {queue}: unknown key(s) {', '.join(sorted(unknown))}; "
                             "known: concurrency, rate, per")
        concurrency = spec.get("concurrency")
        if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 1):
            raise ValueError(f"{where} {queue}: concurrency must be a positive integer, "
                             f"got {concurrency!r}")
        rate = None
        if "rate" in spec:
            try:
                rate = Rate(spec["rate"], float(spec.get("per", 1.0)))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where} {queue}: {exc}") from None
        elif "per" in spec:
            raise ValueError(f"{where} {queue}: per = ... needs rate = N")
        out[_check_queue(queue)] = (concurrency, rate)
    return out


async def apply_queue_limits(limits: dict[str, tuple[int | None, Rate | None]], *,
                             db: Any = None) -> None:
    """Store limits parsed by :func:`queue_limits_from_config`."""
    for queue, (concurrency, rate) in limits.items():
        await set_queue_limits(queue, concurrency=concurrency, rate=rate, db=db)

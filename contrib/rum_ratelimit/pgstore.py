"""Token buckets in PostgreSQL: one count shared by every process and node of an app.

``[ratelimit] store = "postgres"`` keeps every bucket in an UNLOGGED table (no WAL: the counts
are cheap to lose in a crash, and a crash only forgives a few requests). Taking a token is one
``INSERT ... ON CONFLICT DO UPDATE`` round trip that refills and takes in the same statement,
with the database's clock, so nodes whose clocks disagree still share one bucket; the row lock
serialises concurrent takes of one bucket. Buckets that have refilled are deleted now and then.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rum.services import Storage

TABLE = "rum_ratelimit_buckets"

CREATE = f"""
CREATE UNLOGGED TABLE IF NOT EXISTS {TABLE} (
    bucket text PRIMARY KEY,
    tokens double precision NOT NULL,
    at timestamptz NOT NULL,
    allowed boolean NOT NULL
)
"""

# $1 bucket, $2 burst, $3 refill (tokens per second). The refilled level is computed twice
# (for the new count and for the decision) because ON CONFLICT cannot name it once.
TAKE = f"""
INSERT INTO {TABLE} AS b (bucket, tokens, at, allowed)
VALUES ($1, $2::float8 - 1, clock_timestamp(), true)
ON CONFLICT (bucket) DO UPDATE SET
    tokens = least($2::float8, b.tokens + extract(epoch FROM clock_timestamp() - b.at) * $3::float8)
             - CASE WHEN least($2::float8, b.tokens + extract(epoch FROM clock_timestamp() - b.at)
                                           * $3::float8) >= 1 THEN 1 ELSE 0 END,
    at = clock_timestamp(),
    allowed = least($2::float8, b.tokens + extract(epoch FROM clock_timestamp() - b.at)
                                * $3::float8) >= 1
RETURNING tokens, allowed
"""

# Buckets untouched for longer than their full refill time are full again: drop them. $1:
# a name prefix (one limiter), $2: seconds.
PRUNE = f"""
DELETE FROM {TABLE}
 WHERE left(bucket, length($1)) = $1 AND at < clock_timestamp() - make_interval(secs => $2)
"""

#: Takes between two prunes of one limiter, per process.
PRUNE_EVERY = 1000


class PostgresBuckets:
    """The buckets of every limiter of one app, in ``rum_ratelimit_buckets``."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._takes: dict[str, int] = {}

    async def ensure_table(self) -> None:
        """Create the table if it is missing (idempotent; run at start-up)."""
        await self.storage.execute(CREATE)

    async def take(self, limiter: str, key: str, burst: int,
                   refill: float) -> tuple[bool, float]:
        """Take one token from ``key``'s bucket of ``limiter``: (allowed, tokens left)."""
        row = await self.storage.fetchrow(TAKE, f"{limiter}\x1f{key}", float(burst), refill)
        assert row is not None  # INSERT ... RETURNING always returns the row
        count = self._takes[limiter] = self._takes.get(limiter, 0) + 1
        if count % PRUNE_EVERY == 0:
            await self.storage.execute(PRUNE, f"{limiter}\x1f",
                                       math.ceil(burst / refill) + 1.0)
        return bool(row["allowed"]), float(row["tokens"])

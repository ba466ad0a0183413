"""Plain-data views of job rows: what history queries and workers hand around."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from rum_jobs.payload import from_json as _json


@dataclass
class JobRecord:
    """One row of ``rum_jobs``: a job's definition, state and history.

    ``errors`` holds one entry per failed attempt (``attempt``, ``at``, ``error``,
    ``traceback``, ``kind``), oldest first; ``result`` is what a successful run returned.
    """

    id: int
    job: str
    queue: str
    args: Any
    status: str
    priority: int
    attempt: int
    max_attempts: int
    run_at: dt.datetime
    tags: list[str] = field(default_factory=list)
    unique_key: str | None = None
    channel: str | None = None
    timeout: float | None = None
    checkpoint: Any = None
    result: Any = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    worker: str | None = None
    lease_expires_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    @classmethod
    def from_row(cls, row: Any) -> JobRecord:
        """Build from a row selected with :data:`rum_jobs.sql.RETURNING`."""
        return cls(
            id=row["id"], job=row["job"], queue=row["queue"], args=_json(row["args"]),
            status=row["status"], priority=row["priority"], attempt=row["attempt"],
            max_attempts=row["max_attempts"], run_at=row["run_at"],
            tags=list(row["tags"] or []), unique_key=row["unique_key"],
            channel=row["channel"], timeout=row["timeout"],
            checkpoint=_json(row["checkpoint"]), result=_json(row["result"]),
            errors=_json(row["errors"], []), worker=row["worker"],
            lease_expires_at=row["lease_expires_at"], created_at=row["created_at"],
            started_at=row["started_at"], finished_at=row["finished_at"],
        )

    @property
    def last_error(self) -> str | None:
        """The most recent error message, if any."""
        return self.errors[-1].get("error") if self.errors else None


@dataclass
class Claimed:
    """A job a worker has claimed and is about to run (one attempt)."""

    id: int
    job: str
    queue: str
    args: Any
    attempt: int
    max_attempts: int
    priority: int
    tags: list[str]
    channel: str | None
    timeout: float | None
    checkpoint: Any
    run_at: dt.datetime
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: Any) -> Claimed:
        """Build from a row returned by the claim statement."""
        return cls(
            id=row["id"], job=row["job"], queue=row["queue"], args=_json(row["args"]),
            attempt=row["attempt"], max_attempts=row["max_attempts"],
            priority=row["priority"], tags=list(row["tags"] or []), channel=row["channel"],
            timeout=row["timeout"], checkpoint=_json(row["checkpoint"]), run_at=row["run_at"],
            created_at=row["created_at"],
        )

"""Uniqueness rules for enqueued jobs (rexecutor's criteria, in Python).

A job enqueued with a :class:`Unique` rule is skipped (or replaces the existing job) when a job
with the same *unique key* already exists in one of ``statuses``, created within ``within``
seconds. The key is built from the parts named in ``by`` (``"job"``, ``"args"``, ``"queue"``)
plus an optional explicit ``key``. Checking and inserting happen under a transaction-scoped
advisory lock on the key, so concurrent enqueues of the same key cannot both insert.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from rum_jobs.results import seconds

ACTIVE_STATUSES = ("scheduled", "retryable", "running")
ALL_STATUSES = ("scheduled", "retryable", "running", "complete", "failed", "cancelled",
                "discarded")
_CRITERIA = ("job", "args", "queue")


@dataclass(frozen=True)
class Unique:
    """A uniqueness rule.

    - ``by``: which parts make jobs "the same": any of ``"job"``, ``"args"``, ``"queue"``.
    - ``key``: an extra explicit key (``Unique(by=("job",), key=f"user:{uid}")``).
    - ``within``: only jobs created less than this long ago conflict (seconds or timedelta).
    - ``statuses``: only jobs in these statuses conflict (default: not finished yet).
    - ``on_conflict``: ``"skip"`` returns the existing job's id; ``"replace"`` updates the
      existing job (args, run_at, priority, queue, max_attempts, tags) unless it is running.
    """

    by: tuple[str, ...] = ("job", "args")
    key: str | None = None
    within: float | dt.timedelta | None = None
    statuses: tuple[str, ...] = ACTIVE_STATUSES
    on_conflict: Literal["skip", "replace"] = "skip"

    def __post_init__(self) -> None:
        if isinstance(self.by, str):
            object.__setattr__(self, "by", (self.by,))
        bad = [b for b in self.by if b not in _CRITERIA]
        if bad:
            raise ValueError(f"Unique(by=...) got {bad!r}; use any of {', '.join(_CRITERIA)}")
        if not self.by and self.key is None:
            raise ValueError("Unique needs at least one of by=(...) or key=...")
        wrong = [s for s in self.statuses if s not in ALL_STATUSES]
        if wrong:
            raise ValueError(f"Unique(statuses=...) got unknown statuses {wrong!r}; known: "
                             f"{', '.join(ALL_STATUSES)}")
        if self.on_conflict not in ("skip", "replace"):
            raise ValueError(f"Unique(on_conflict={self.on_conflict!r}) must be 'skip' or "
                             "'replace'")

    @property
    def within_seconds(self) -> float | None:
        """The window in seconds, or ``None`` for no window."""
        return seconds(self.within)

    def key_for(self, job: str, args_json: str, queue: str) -> str:
        """The unique key of a job with these attributes."""
        parts = []
        if "job" in self.by:
            parts.append(f"job={job}")
        if "queue" in self.by:
            parts.append(f"queue={queue}")
        if "args" in self.by:
            parts.append("args=" + hashlib.sha256(args_json.encode()).hexdigest()[:32])
        if self.key is not None:
            parts.append(f"key={self.key}")
        return "|".join(parts)


def as_unique(value: Any) -> Unique | None:
    """Accept a :class:`Unique`, ``True`` (by job and args), or a sequence of criteria."""
    if value is None or value is False:
        return None
    if isinstance(value, Unique):
        return value
    if value is True:
        return Unique()
    if isinstance(value, str):
        return Unique(by=(value,))
    if isinstance(value, (list, tuple)):
        return Unique(by=tuple(value))
    raise TypeError(f"unique_by must be a Unique, True or a sequence of {_CRITERIA}, got "
                    f"{value!r}")

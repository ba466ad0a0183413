"""What a job's ``execute`` may return to say how its run ended (like rexecutor's
``ExecutionResult``).

Returning ``None`` (or any other value) means success; the value, when it is not ``None``, is
stored as the job's result. Raising an exception is a failed attempt: it is retried with
backoff until ``max_attempts`` is reached, then kept with status ``failed``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


def seconds(value: float | dt.timedelta | None) -> float | None:
    """``value`` in seconds (``timedelta`` or number); ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


class Result:
    """Base class of the explicit outcomes below."""


@dataclass(frozen=True)
class Done(Result):
    """Success, with an optional JSON result kept on the job row (``job.result``)."""

    result: Any = None


@dataclass(frozen=True)
class Retry(Result):
    """A failed attempt that should be retried ``after`` seconds (default: the backoff).

    Counts as an attempt: once ``max_attempts`` are used up the job is ``failed``.
    """

    error: str = "retry requested"
    after: float | dt.timedelta | None = None


@dataclass(frozen=True)
class Snooze(Result):
    """Run again ``after`` seconds from now without using up an attempt."""

    after: float | dt.timedelta = 60.0


@dataclass(frozen=True)
class Cancel(Result):
    """Stop for good: the job is kept with status ``cancelled`` and ``reason``."""

    reason: str = "cancelled by the job"


@dataclass(frozen=True)
class Discard(Result):
    """Give up for good (e.g. invalid arguments): kept with status ``discarded``."""

    reason: str = "discarded by the job"

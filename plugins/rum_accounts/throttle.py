"""Log-in throttling: after N failed log-ins in a window, answer 429 with ``Retry-After``.

Failures are counted twice: per account (the e-mail or user name tried, so one account can't
be guessed at from many addresses) and per client address (so one address can't try many
accounts). A successful log-in clears the account's count, never the address's (else an
attacker could reset it with an account of their own).

Counts live in memory, per app and **per process**: with ``--workers N`` each worker counts
on its own, so the effective limit is up to N times the configured one; after a restart
counts start from zero. That is the usual trade for a check on every log-in; an app that
needs one shared count can keep failures in a table instead.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rum_accounts.errors import LoginThrottled

if TYPE_CHECKING:
    from rum.request import Request

_MIN_PRUNE = 1024


class _Counter:
    """Failures per key in fixed windows: ``key -> [failures, window start]``."""

    __slots__ = ("limit", "prune_at", "table", "window")

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.table: dict[str, list[float]] = {}
        self.prune_at = _MIN_PRUNE

    def retry_after(self, key: str, now: float) -> int:
        entry = self.table.get(key)
        if entry is None or entry[0] < self.limit:
            return 0
        left = entry[1] + self.window - now
        if left <= 0:
            del self.table[key]
            return 0
        return max(1, math.ceil(left))

    def add(self, key: str, now: float) -> None:
        entry = self.table.get(key)
        if entry is None or now - entry[1] >= self.window:
            if entry is None and len(self.table) >= self.prune_at:
                self._prune(now)
            self.table[key] = [1.0, now]
        else:
            entry[0] += 1

    def clear(self, key: str) -> None:
        self.table.pop(key, None)

    def _prune(self, now: float) -> None:
        stale = [k for k, (_, start) in self.table.items() if now - start >= self.window]
        for k in stale:
            del self.table[k]
        self.prune_at = max(_MIN_PRUNE, 2 * len(self.table))


class LoginThrottle:
    """Count failed log-ins per account and per client address (in this process).

    ``per_account`` / ``per_client`` failures within ``window`` seconds lock that account /
    address until the window that began with its first failure ends. Use it around the
    password check::

        throttle.check(request, email)           # raises LoginThrottled (429) when locked
        if ok: throttle.succeeded(request, email)
        else:  throttle.failed(request, email)
    """

    def __init__(self, *, per_account: int = 5, per_client: int = 20, window: float = 900.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if per_account < 1 or per_client < 1 or window <= 0:
            raise ValueError("LoginThrottle needs per_account >= 1, per_client >= 1 and "
                             f"window > 0, got {per_account}, {per_client}, {window}")
        self.accounts = _Counter(per_account, float(window))
        self.clients = _Counter(per_client, float(window))
        self.clock = clock

    @staticmethod
    def account_key(account: str) -> str:
        """The name an account is counted under (trimmed, case-folded)."""
        return str(account).strip().casefold()

    @staticmethod
    def client_key(request: Request) -> str:
        """The address a request is counted under (the peer's IP address)."""
        return request.client[0] if request.client else "unknown"

    def check(self, request: Request, account: str) -> None:
        """Raise :class:`LoginThrottled` when the account or the client is locked out."""
        now = self.clock()
        wait = self.clients.retry_after(self.client_key(request), now)
        if wait:
            raise LoginThrottled(wait, "client")
        wait = self.accounts.retry_after(self.account_key(account), now)
        if wait:
            raise LoginThrottled(wait, "account")

    def failed(self, request: Request, account: str) -> None:
        """Count one failed log-in for the account and for the client address."""
        now = self.clock()
        self.accounts.add(self.account_key(account), now)
        self.clients.add(self.client_key(request), now)

    def succeeded(self, request: Request, account: str) -> None:
        """Forget the account's failures (the address's stay counted)."""
        self.accounts.clear(self.account_key(account))

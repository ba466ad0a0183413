"""Log-in throttling: after N failed log-ins in a window, answer 429 with ``Retry-After``.

Failures are counted twice: per account (the e-mail or user name tried, so one account can't
be guessed at from many addresses) and per client address (so one address can't try many
accounts). A successful log-in clears the account's count, never the address's (else an
attacker could reset it with an account of their own). Each count runs in a fixed window that
starts with its first failure.

Where counts live is the store's business:

- :class:`MemoryStore` (the default, ``[accounts] throttle_store = "memory"``): in this
  process's memory, per app. With ``--workers N`` each worker counts on its own, so the
  effective limit is up to N times the configured one, and a restart forgets the counts.
- :class:`DatabaseStore` (``throttle_store = "database"``): one row per counted key in the
  app's PostgreSQL (``rum_accounts_login_failures``, from ``rum migrate run``), shared by
  every process and node; keys are stored as SHA-256 digests, never as addresses.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rum_accounts.errors import LoginThrottled

if TYPE_CHECKING:
    from rum.request import Request

#: The plugin's migrations (the database store's table), found by the ORM's migrator like
#: every enabled plugin's ``migrations/``.
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIN_PRUNE = 1024
_PRUNE_EVERY = 256


class ThrottleStore(Protocol):
    """Failure counts by ``(scope, key)``, each in a window starting with its first failure."""

    async def retry_after(self, scope: str, key: str, limit: int, window: float) -> int:
        """Seconds until ``key`` may try again (0: now), given ``limit`` failures per
        ``window`` seconds."""

    async def add(self, scope: str, key: str, window: float) -> None:
        """Count one failure (a new window when the current one is over)."""

    async def clear(self, scope: str, key: str) -> None:
        """Forget ``key``'s failures."""


class MemoryStore:
    """Counts in this process: ``(scope, key) -> [failures, window start]``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.table: dict[tuple[str, str], list[float]] = {}
        self.prune_at = _MIN_PRUNE

    async def retry_after(self, scope: str, key: str, limit: int, window: float) -> int:
        entry = self.table.get((scope, key))
        if entry is None or entry[0] < limit:
            return 0
        left = entry[1] + window - self.clock()
        if left <= 0:
            del self.table[(scope, key)]
            return 0
        return max(1, math.ceil(left))

    async def add(self, scope: str, key: str, window: float) -> None:
        now = self.clock()
        entry = self.table.get((scope, key))
        if entry is None or now - entry[1] >= window:
            if entry is None and len(self.table) >= self.prune_at:
                self._prune(now, window)
            self.table[(scope, key)] = [1.0, now]
        else:
            entry[0] += 1

    async def clear(self, scope: str, key: str) -> None:
        self.table.pop((scope, key), None)

    def _prune(self, now: float, window: float) -> None:
        stale = [k for k, (_, start) in self.table.items() if now - start >= window]
        for k in stale:
            del self.table[k]
        self.prune_at = max(_MIN_PRUNE, 2 * len(self.table))


_RETRY_AFTER = """
SELECT failures,
       EXTRACT(EPOCH FROM window_start + make_interval(secs => $3) - clock_timestamp())::float8
FROM rum_accounts_login_failures WHERE scope = $1 AND key = $2"""
_ADD = """
INSERT INTO rum_accounts_login_failures AS f (scope, key, failures, window_start)
VALUES ($1, $2, 1, clock_timestamp())
ON CONFLICT (scope, key) DO UPDATE SET
    failures = CASE WHEN f.window_start + make_interval(secs => $3) <= clock_timestamp()
                    THEN 1 ELSE f.failures + 1 END,
    window_start = CASE WHEN f.window_start + make_interval(secs => $3) <= clock_timestamp()
                        THEN clock_timestamp() ELSE f.window_start END"""
_CLEAR = "DELETE FROM rum_accounts_login_failures WHERE scope = $1 AND key = $2"
_PRUNE = """DELETE FROM rum_accounts_login_failures
WHERE window_start < clock_timestamp() - make_interval(secs => $1)"""


class DatabaseStore:
    """Counts in PostgreSQL, shared by every process: ``storage()`` returns the database
    (``app.storage``) when a count is read or written. Expired rows are deleted every few
    hundred failures."""

    def __init__(self, storage: Callable[[], Any]) -> None:
        self.storage = storage
        self.adds = 0

    @staticmethod
    def digest(key: str) -> str:
        """The stored form of a key (no e-mail or IP address in the table)."""
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()

    async def retry_after(self, scope: str, key: str, limit: int, window: float) -> int:
        row = await self.storage().fetchrow(_RETRY_AFTER, scope, self.digest(key),
                                            float(window))
        if row is None or row[0] < limit or row[1] <= 0:
            return 0
        return max(1, math.ceil(row[1]))

    async def add(self, scope: str, key: str, window: float) -> None:
        db = self.storage()
        await db.execute(_ADD, scope, self.digest(key), float(window))
        self.adds += 1
        if self.adds % _PRUNE_EVERY == 0:
            await db.execute(_PRUNE, float(window))

    async def clear(self, scope: str, key: str) -> None:
        await self.storage().execute(_CLEAR, scope, self.digest(key))


async def create_table(db: Any) -> None:
    """Create the database store's table if it is missing (tests and scripts; apps run
    ``rum migrate run``)."""
    for path in sorted(MIGRATIONS_DIR.glob("*.up.sql")):
        await db.execute(path.read_text(encoding="utf-8"))


class LoginThrottle:
    """Count failed log-ins per account and per client address.

    ``per_account`` / ``per_client`` failures within ``window`` seconds lock that account /
    address until the window that began with its first failure ends. ``store`` keeps the
    counts (default: a :class:`MemoryStore`, this process only). Use it around the password
    check::

        await throttle.check(request, email)     # raises LoginThrottled (429) when locked
        if ok: await throttle.succeeded(request, email)
        else:  await throttle.failed(request, email)
    """

    def __init__(self, *, per_account: int = 5, per_client: int = 20, window: float = 900.0,
                 store: ThrottleStore | None = None) -> None:
        if per_account < 1 or per_client < 1 or window <= 0:
            raise ValueError("LoginThrottle needs per_account >= 1, per_client >= 1 and "
                             f"window > 0, got {per_account}, {per_client}, {window}")
        self.per_account = per_account
        self.per_client = per_client
        self.window = float(window)
        self.store: ThrottleStore = store if store is not None else MemoryStore()

    @staticmethod
    def account_key(account: str) -> str:
        """The name an account is counted under (trimmed, case-folded)."""
        return str(account).strip().casefold()

    @staticmethod
    def client_key(request: Request) -> str:
        """The address a request is counted under: the client's IP address, an IPv6 address
        by its /64 (one subscriber's network: counting each of its 2**64 addresses apart let
        one client try passwords without end) and an IPv4-mapped one as IPv4."""
        return request.client_network

    async def check(self, request: Request, account: str) -> None:
        """Raise :class:`LoginThrottled` when the client or the account is locked out."""
        wait = await self.store.retry_after("client", self.client_key(request),
                                            self.per_client, self.window)
        if wait:
            raise LoginThrottled(wait, "client")
        wait = await self.store.retry_after("account", self.account_key(account),
                                            self.per_account, self.window)
        if wait:
            raise LoginThrottled(wait, "account")

    async def failed(self, request: Request, account: str) -> None:
        """Count one failed log-in for the account and for the client address."""
        await self.store.add("account", self.account_key(account), self.window)
        await self.store.add("client", self.client_key(request), self.window)

    async def succeeded(self, request: Request, account: str) -> None:
        """Forget the account's failures (the address's stay counted)."""
        await self.store.clear("account", self.account_key(account))

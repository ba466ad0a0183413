"""A token-bucket request rate limiter, as middleware.

Each key (client address, session, or what ``key=`` returns) owns a bucket holding up to
``burst`` tokens, refilled at ``rate`` tokens per ``window`` seconds; a request takes one
token or is answered ``429 Too Many Requests`` with ``Retry-After``. Responses that get
through are rewritten on the way out with ``RateLimit-Limit``, ``RateLimit-Remaining`` and
``RateLimit-Reset`` headers.

Buckets live in memory, per app (``app.extensions["ratelimit"]``), so two apps in one
process never share counts and several worker processes each count on their own; with
``[ratelimit] store = "postgres"`` they live in PostgreSQL instead (:mod:`rum_ratelimit.pgstore`),
one count for every process and node.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rum.errorpage import error_response
from rum.errors import RumError
from rum.middleware import Middleware

if TYPE_CHECKING:
    from rum.request import Request
    from rum.response import Response
    from rum_ratelimit.pgstore import PostgresBuckets

KeyFunction = Callable[["Request"], str]
_MIN_PRUNE = 1024


class Decision:
    """What the limiter decided for one request."""

    __slots__ = ("allowed", "limit", "remaining", "reset", "retry_after")

    def __init__(self, allowed: bool, limit: int, remaining: int, reset: int,
                 retry_after: int) -> None:
        self.allowed = allowed
        self.limit = limit
        self.remaining = remaining
        self.reset = reset
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        """The ``RateLimit-*`` headers describing this decision."""
        return {"ratelimit-limit": str(self.limit),
                "ratelimit-remaining": str(self.remaining),
                "ratelimit-reset": str(self.reset)}


class Buckets:
    """One limiter's buckets in one app: ``key -> [tokens, last refill time]``."""

    __slots__ = ("prune_at", "table")

    def __init__(self) -> None:
        self.table: dict[str, list[float]] = {}
        self.prune_at = _MIN_PRUNE


class RateLimiter(Middleware):
    """Limit each client (or session) to ``rate`` requests per ``window`` seconds.

    - ``per="client"`` counts by client IP address (an IPv6 address by its /64);
      ``per="session"`` by logged-in user (needs the sessions plugin; visitors who are not
      logged in are counted by address, since a new anonymous session cookie is free to get
      and would reset the count); ``key=fn`` counts by ``fn(request)``.
    - ``burst`` is how many requests may arrive at once (default: ``rate``); after a burst,
      requests are let through at ``rate / window`` per second.

    Use it on one controller (``def middleware(self): return [RateLimiter(rate=5,
    window=60)]``) or app-wide with ``[ratelimit] rate = ...`` in ``Rum.toml``.

    ``name`` identifies the limiter's buckets in the PostgreSQL store (``[ratelimit] store =
    "postgres"``), where every process must agree on it; the default is made of the class,
    the key function and the settings, so give two limiters with equal settings different
    names to keep their counts apart.
    """

    def __init__(self, per: str = "client", rate: int = 60, window: float = 60.0,
                 burst: int | None = None, *, key: KeyFunction | None = None,
                 exempt_paths: tuple[str, ...] | list[str] = (),
                 clock: Callable[[], float] = time.monotonic, name: str | None = None) -> None:
        if per not in ("client", "session"):
            raise ValueError(f"RateLimiter(per={per!r}): use \"client\" or \"session\" "
                             "(or key=a function of the request)")
        if rate < 1 or window <= 0:
            raise ValueError(f"RateLimiter needs rate >= 1 and window > 0, got rate={rate}, "
                             f"window={window}")
        if burst is not None and burst < 1:
            raise ValueError(f"RateLimiter(burst={burst}) must be at least 1")
        self.per = per
        self.rate = rate
        self.window = float(window)
        self.burst = burst if burst is not None else rate
        self.refill = rate / self.window  # tokens per second
        self.key = key or (_session_key if per == "session" else _client_key)
        self.exempt_paths = tuple(exempt_paths)
        self.clock = clock
        self.name = name or ":".join((
            type(self).__qualname__, getattr(key, "__qualname__", per),
            f"{rate}/{self.window:g}s", f"burst {self.burst}"))
        self._own = Buckets()  # used only for requests without an app

    # -- the bucket -----------------------------------------------------------------------------

    def take(self, buckets: Buckets, key: str) -> Decision:
        """Take one token from ``key``'s bucket and say whether the request may pass."""
        now = self.clock()
        table = buckets.table
        bucket = table.get(key)
        if bucket is None:
            if len(table) >= buckets.prune_at:
                self._prune(buckets, now)
            bucket = table[key] = [float(self.burst), now]
        else:
            bucket[0] = min(float(self.burst), bucket[0] + (now - bucket[1]) * self.refill)
            bucket[1] = now
        allowed = bucket[0] >= 1.0
        if allowed:
            bucket[0] -= 1.0
        return self.decision(allowed, bucket[0])

    async def take_shared(self, store: PostgresBuckets, key: str) -> Decision:
        """:meth:`take` from the bucket every process shares in PostgreSQL."""
        allowed, tokens = await store.take(self.name, key, self.burst, self.refill)
        return self.decision(allowed, tokens)

    def decision(self, allowed: bool, tokens: float) -> Decision:
        """The :class:`Decision` for a bucket left holding ``tokens``."""
        reset = math.ceil((self.burst - tokens) / self.refill)
        retry_after = 0 if allowed else max(1, math.ceil((1.0 - tokens) / self.refill))
        return Decision(allowed, self.burst, int(tokens), reset, retry_after)

    def _prune(self, buckets: Buckets, now: float) -> None:
        """Forget buckets that have refilled completely (they hold no information)."""
        full_after = self.burst / self.refill
        stale = [k for k, (_, last) in buckets.table.items() if now - last >= full_after]
        for k in stale:
            del buckets.table[k]
        buckets.prune_at = max(_MIN_PRUNE, 2 * len(buckets.table))

    def buckets_for(self, request: Request) -> Buckets:
        """This limiter's buckets in the request's app."""
        app = request.app
        if app is None:
            return self._own
        store: dict[RateLimiter, Buckets] = app.extensions.setdefault("ratelimit", {})
        buckets = store.get(self)
        if buckets is None:
            buckets = store[self] = Buckets()
        return buckets

    # -- middleware -----------------------------------------------------------------------------

    async def handle_request(self, request: Request) -> Response | None:
        """Take a token for the request's client; answer 429 when none is left."""
        if self.exempt_paths and request.path.startswith(self.exempt_paths):
            return None
        shared = request.app.extensions.get("ratelimit.store") if request.app else None
        if shared is not None:
            decision = await self.take_shared(shared, self.key(request))
        else:
            decision = self.take(self.buckets_for(request), self.key(request))
        if decision.allowed:
            seen: dict[RateLimiter, Decision] = getattr(request.state, "ratelimit", None) or {}
            seen[self] = decision
            request.state.ratelimit = seen
            return None
        headers = {"retry-after": str(decision.retry_after), **decision.headers()}
        window = f"{self.window:g} seconds" if self.window != 1 else "second"
        return error_response(request, 429,
                              f"too many requests: at most {self.rate} per {window} "
                              f"(bursts of {self.burst}); retry in {decision.retry_after} s",
                              headers=headers)

    async def handle_response(self, request: Request, response: Response) -> Response:
        """Add the ``RateLimit-*`` headers of the tightest bucket this request used."""
        seen: dict[RateLimiter, Decision] | None = getattr(request.state, "ratelimit", None)
        decision = seen.get(self) if seen else None
        if decision is None:
            return response
        current = response.headers.get("ratelimit-remaining")
        if current is None or (current.isdigit() and decision.remaining < int(current)):
            for name, value in decision.headers().items():  # the tightest limit wins
                response.headers[name] = value
        return response

    def __repr__(self) -> str:
        return (f"<RateLimiter per={self.per} rate={self.rate}/{self.window:g}s "
                f"burst={self.burst}>")


def _client_key(request: Request) -> str:
    """The client's address, an IPv6 one by its /64 (``Request.client_network``)."""
    return request.client_network


def _session_key(request: Request) -> str:
    """The logged-in user, else the client's address: an anonymous session is a cookie any
    client gets for the asking (any page that stores the session hands out a new one), so
    counting by it would let a client start every request with a fresh bucket."""
    session: Any = request.session
    if session is None:
        raise RumError("RateLimiter(per=\"session\") needs request.session: add \"sessions\" to "
                       "[plugins] enabled in Rum.toml, or use per=\"client\"")
    user_id = getattr(session, "user_id", None)
    if session.is_new or user_id is None:
        return f"client:{_client_key(request)}"
    return f"user:{user_id}"

"""Rum rate limiter: token-bucket middleware answering ``429`` with ``Retry-After``.

Per controller: ``def middleware(self): return [RateLimiter(rate=10, window=60)]``;
app-wide: ``[ratelimit] rate = 600`` in ``Rum.toml``. See ``docs/auth.md``.
"""

from rum_ratelimit.limiter import Decision, RateLimiter

__all__ = ["Decision", "RateLimiter"]

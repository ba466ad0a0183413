"""The CORS decisions, kept apart from the hooks so they can be read and tested alone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

SAFE_METHODS = ("GET", "HEAD", "POST")


def _origin_pattern(origin: str) -> tuple[str, ...]:
    """``https://*.example.org`` matches any subdomain; everything else matches exactly.
    The pattern is kept as the literal parts between its stars."""
    return tuple(origin.lower().split("*"))


def glob_match(parts: tuple[str, ...], text: str) -> bool:
    """Whether ``text`` is ``parts`` joined by stretches of any characters.

    Greedy from the left, in time linear in ``len(text)`` per part: each part after the first
    is taken at its first occurrence, which leaves the most room for the rest. (A regular
    expression with ``.*`` per star backtracked: the origin ``https://`` followed by 2,000 dots
    took 9 s against ``https://*.*.*.example.org``, the event loop blocked all that time.)
    """
    if len(parts) == 1:
        return text == parts[0]
    first, *middle, last = parts
    if len(text) < len(first) + len(last) or not text.startswith(first) \
            or not text.endswith(last):
        return False
    position, end = len(first), len(text) - len(last)
    for part in middle:
        found = text.find(part, position, end)
        if found < 0:
            return False
        position = found + len(part)
    return True


@dataclass
class CorsPolicy:
    """What one app allows, from its ``[cors]`` table."""

    allow_origins: list[str] = field(default_factory=list)
    allow_methods: list[str] = field(default_factory=lambda: [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
    allow_headers: list[str] = field(default_factory=lambda: [
        "content-type", "authorization", "x-requested-with"])
    expose_headers: list[str] = field(default_factory=list)
    allow_credentials: bool = False
    max_age: int = 600
    paths: list[str] = field(default_factory=lambda: ["/"])

    def __post_init__(self) -> None:
        self.any_origin = "*" in self.allow_origins
        if self.any_origin and self.allow_credentials:
            raise ValueError(
                'allow_origins = ["*"] with allow_credentials = true would let every web site '
                "read the answers to requests made with its visitors' cookies or HTTP "
                "credentials; list the origins that may (\"https://app.example.com\", "
                "\"https://*.example.com\"), or set allow_credentials = false")
        self._patterns = [_origin_pattern(o) for o in self.allow_origins if o != "*"]
        self.allow_methods = [m.upper() for m in self.allow_methods]
        self.any_header = "*" in self.allow_headers
        self._headers = {h.lower() for h in self.allow_headers}

    def applies_to(self, path: str) -> bool:
        """True when ``path`` is under one of the configured prefixes."""
        return any(path.startswith(prefix) for prefix in self.paths)

    def origin_allowed(self, origin: str) -> bool:
        """True when ``origin`` may read responses."""
        if self.any_origin:
            return True
        low = origin.lower()
        return any(glob_match(p, low) for p in self._patterns)

    def allow_origin_value(self, origin: str) -> str:
        """The ``Access-Control-Allow-Origin`` value for an allowed ``origin``."""
        return "*" if self.any_origin else origin

    def refused_headers(self, requested: Iterable[str]) -> list[str]:
        """The requested headers that are not allowed (empty: all fine)."""
        if self.any_header:
            return []
        return [h for h in requested if h and h not in self._headers]

"""The CORS decisions, kept apart from the hooks so they can be read and tested alone."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

SAFE_METHODS = ("GET", "HEAD", "POST")


def _origin_pattern(origin: str) -> re.Pattern[str]:
    """``https://*.example.org`` matches any subdomain; everything else matches exactly."""
    return re.compile(".*".join(re.escape(part) for part in origin.lower().split("*")))


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
        return any(p.fullmatch(low) for p in self._patterns)

    def allow_origin_value(self, origin: str) -> str:
        """The ``Access-Control-Allow-Origin`` value for an allowed ``origin``."""
        if self.any_origin and not self.allow_credentials:
            return "*"
        return origin

    def refused_headers(self, requested: Iterable[str]) -> list[str]:
        """The requested headers that are not allowed (empty: all fine)."""
        if self.any_header:
            return []
        return [h for h in requested if h and h not in self._headers]

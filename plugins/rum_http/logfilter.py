"""Secrets kept out of the access log: path parameters whose names look secret.

A password-reset link (``/password/reset/<token>``), a signed download or an API key in the
path would otherwise be written to the log on every request, where anyone who reads the logs
could use it. The access log writes such a segment as ``[FILTERED]``: a route parameter is
filtered when its name contains one of ``[http] log_filter`` (``token``, ``passw``,
``secret``... case-insensitive, like Rails' ``filter_parameters``). The query string is not
logged at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

#: Parts of parameter names whose values the access log leaves out (``[http] log_filter``).
DEFAULT_LOG_FILTER = ("token", "passw", "secret", "_key", "apikey", "signature", "otp",
                      "nonce")
FILTERED = "[FILTERED]"
_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class PathFilter:
    """Which route parameters to leave out of logged paths, and the paths without them."""

    def __init__(self, words: Iterable[str] = DEFAULT_LOG_FILTER) -> None:
        self.words = tuple(w.lower() for w in words if w)
        self._secret: dict[str, tuple[str, ...]] = {}  # route template -> filtered names

    def secret_params(self, template: str) -> tuple[str, ...]:
        """The parameters of the route ``template`` (``/reset/<token>``) to filter."""
        names = self._secret.get(template)
        if names is None:
            names = self._secret[template] = tuple(
                name for name in _PARAM.findall(template)
                if any(word in name.lower() for word in self.words))
        return names

    def logged_path(self, raw_path: str, route: Any, params: dict[str, Any]) -> str:
        """``raw_path`` with the segments of secret parameters replaced by ``[FILTERED]``."""
        if route is None or not self.words:
            return raw_path
        names = self.secret_params(route.path)
        if not names:
            return raw_path
        secrets: set[str] = set()
        for name in names:
            if name in params:
                value = str(params[name])
                secrets.update((value, quote(value, safe="")))
        return "/".join(FILTERED if part in secrets else part
                        for part in raw_path.split("/"))

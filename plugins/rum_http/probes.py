"""Liveness and readiness probes: ``[http] health_path`` and ``[http] ready_path``.

``GET /_rum/health`` answers 200 whenever the process can answer at all (it runs nothing).
``GET /_rum/ready`` runs every plugin's ``rum_ready_checks`` concurrently (the ORM: the
database answers, no migration is pending) and answers 200 when all pass, 503 when one fails
or takes longer than ``ready_timeout``, or once the server has begun a graceful stop (so a
load balancer stops sending new requests while in-flight ones finish). Both are answered in
``rum_request``, before routing, sessions and authentication, and are left out of the access
log unless ``log_probes`` is set.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from rum import Response

if TYPE_CHECKING:
    from rum import App, Config, Request

logger = logging.getLogger("rum.http.probes")

Check = Callable[[], Awaitable[None]]
_METHODS = frozenset({"GET", "HEAD"})


@dataclass
class Probes:
    """The probe paths and the readiness checks of one app (``app.extensions["probes"]``)."""

    health_path: str = "/_rum/health"
    ready_path: str = "/_rum/ready"
    timeout: float = 2.0
    checks: dict[str, Check] | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, config: Config) -> Probes:
        """The ``[http]`` probe settings (an empty path turns that probe off)."""
        from rum.errors import ConfigError

        probes = cls(health_path=config.get_str("http", "health_path", "/_rum/health") or "",
                     ready_path=config.get_str("http", "ready_path", "/_rum/ready") or "",
                     timeout=config.get_float("http", "ready_timeout", 2.0) or 2.0)
        for key in ("health_path", "ready_path"):
            path = getattr(probes, key)
            if path and not path.startswith("/"):
                raise ConfigError(f"{config.describe_file()}: [http] {key} must start with "
                                  f"'/' (or be empty to turn the probe off), got {path!r}")
        if probes.timeout <= 0:
            raise ConfigError(f"{config.describe_file()}: [http] ready_timeout must be a "
                              f"positive number of seconds, got {probes.timeout}")
        return probes

    def _collect(self, app: App) -> dict[str, Check]:
        if self.checks is None:
            merged: dict[str, Check] = {}
            for result in app.plugins.call("rum_ready_checks", app=app):
                merged.update(result or {})
            self.checks = merged
        return self.checks

    async def answer(self, request: Request) -> Response | None:
        """The probe response for ``request``, or ``None`` when it is not a probe."""
        path = request.path
        if path == self.health_path and path:
            if request.method not in _METHODS:
                return _not_allowed()
            return Response.json({"status": "alive"}, headers={"cache-control": "no-store"})
        if path == self.ready_path and path:
            if request.method not in _METHODS:
                return _not_allowed()
            return await self.readiness(request.app)
        return None

    async def readiness(self, app: Any) -> Response:
        """Run the checks: 200 with ``{"status": "ready"}`` or 503 naming what failed."""
        server = app.extensions.get("http")
        stopping = getattr(server, "stopping", None)
        if stopping is not None and stopping.is_set():
            return Response.json({"status": "stopping", "checks": {}}, 503,
                                 headers={"cache-control": "no-store"})
        checks = self._collect(app)
        results: dict[str, str] = {name: "timed out" for name in checks}

        async def run(name: str, check: Check) -> None:
            try:
                await check()
            except Exception as exc:
                logger.warning("readiness check %r failed: %s: %s", name,
                               type(exc).__name__, exc)
                results[name] = "failing"
            else:
                results[name] = "ok"

        with trio.move_on_after(self.timeout) as scope:
            async with trio.open_nursery() as nursery:
                for name, check in checks.items():
                    nursery.start_soon(run, name, check)
        if scope.cancelled_caught:
            late = [n for n, r in results.items() if r == "timed out"]
            logger.warning("readiness checks timed out after %gs: %s", self.timeout,
                           ", ".join(late))
        ready = all(r == "ok" for r in results.values())
        return Response.json({"status": "ready" if ready else "unavailable",
                              "checks": results}, 200 if ready else 503,
                             headers={"cache-control": "no-store"})


def _not_allowed() -> Response:
    return Response.text("Method Not Allowed", 405, headers={"allow": "GET, HEAD"})


def probes_for(app: Any) -> Probes | None:
    """The app's :class:`Probes` (``None`` before ``rum_configure``)."""
    probes = app.extensions.get("probes")
    return probes if isinstance(probes, Probes) else None


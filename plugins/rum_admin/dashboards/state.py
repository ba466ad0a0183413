"""The dashboards' per-app state (``app.extensions["admin.dashboards"]``) and settings."""

from __future__ import annotations

import itertools
import os
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rum_admin.dashboards.recorder import RequestRecorder

if TYPE_CHECKING:
    from rum import AppLike

EXTENSION = "admin.dashboards"


@dataclass(frozen=True)
class DashboardSettings:
    """How the dashboards record and refresh (pass to :func:`install_dashboards`).

    ``window``: seconds of history shown (requests and jobs). ``flush_interval``: how often a
    process writes its request counters to PostgreSQL. ``refresh_interval``: how often open
    dashboards are re-rendered and broadcast (only while a page is subscribed).
    ``keep``: seconds of request buckets kept before pruning (at least ``window``).
    ``record_requests``: off, requests are not timed at all. ``failures``: failing requests
    and failed jobs listed.
    """

    window: float = 300.0
    flush_interval: float = 2.0
    refresh_interval: float = 2.0
    keep: float = 900.0
    record_requests: bool = True
    failures: int = 20

    def __post_init__(self) -> None:
        for name in ("window", "flush_interval", "refresh_interval", "keep"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value > 0):
                raise ValueError(f"DashboardSettings.{name} must be a positive number of "
                                 f"seconds, got {value!r}")
        if self.keep < self.window:
            raise ValueError(f"DashboardSettings.keep ({self.keep}) must be at least window "
                             f"({self.window}): pruned buckets would be missing from the "
                             "dashboard")


@dataclass
class Dashboards:
    """One app's dashboards: settings, this process's recorder, its node name."""

    settings: DashboardSettings
    recorder: RequestRecorder = field(default_factory=RequestRecorder)
    node: str = field(default_factory=lambda: node_name())
    tables_ready: bool = False


_apps = itertools.count(1)


def node_name() -> str:
    """``host:pid``, and ``#n`` for the n-th app of the process (tests run several)."""
    n = next(_apps)
    return f"{socket.gethostname()}:{os.getpid()}" + (f"#{n}" if n > 1 else "")


def dashboards_of(app: AppLike) -> Dashboards:
    """The app's :class:`Dashboards`; a clear error when :func:`install_dashboards` was not
    called."""
    state = app.extensions.get(EXTENSION)
    if state is None:
        raise RuntimeError("the admin dashboards are not installed in this app: the admin "
                           "plugin calls rum_admin.dashboards.install_dashboards(app) from its "
                           "rum_configure")
    return state  # type: ignore[no-any-return]


def live_enabled(app: AppLike) -> bool:
    """Whether pages update live: the turbo plugin (Turbo Streams over WebSockets) is on."""
    return app.plugins.pm.get_plugin("turbo") is not None


def admin_prefix(app: AppLike) -> str:
    """Where the admin is mounted (``[admin] prefix``, default ``/admin``)."""
    state = app.extensions.get("admin")
    prefix = getattr(state, "prefix", None)
    if not isinstance(prefix, str) or not prefix:
        try:
            prefix = app.config.get_str("admin", "prefix") or "/admin"
        except Exception:
            prefix = "/admin"
    return prefix.rstrip("/") or ""

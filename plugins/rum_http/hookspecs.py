# mypy: disable-error-code="empty-body"
"""Hook specs the http plugin owns: other plugins implement them to take part in serving.

Registered with the app's plugin manager when the http plugin loads (its ``hookspecs``
attribute). A plugin that also works without the http plugin marks its implementations
``@hookimpl(optionalhook=True)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from rum import hookspec

if TYPE_CHECKING:
    from rum import App


@hookspec
def rum_http_workers(app: App, workers: int) -> Mapping[str, str]:
    """Called once in the parent process before ``rum run --workers N`` (N > 1) starts the app
    and its worker processes: return environment variables every worker process inherits
    (merged; e.g. a directory where the processes share state such as metrics)."""


@hookspec
def rum_ready_checks(app: App) -> Mapping[str, Callable[[], Awaitable[None]]]:
    """Return named readiness checks for the ``[http] ready_path`` probe (merged).

    Each check is an async callable that returns when this part of the app can serve and
    raises (any exception, its message saying why) when it cannot. Checks run concurrently on
    every probe, bounded by ``[http] ready_timeout``: keep them cheap (one short query) and
    cache what cannot change while the process lives. Called once, on the first probe.
    """

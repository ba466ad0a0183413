"""The app and request being served by the current trio task (context variables, no globals)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rum.app import App
    from rum.request import Request

_app: ContextVar[App | None] = ContextVar("rum_app", default=None)
_request: ContextVar[Request | None] = ContextVar("rum_request", default=None)


def current_app() -> App | None:
    """The :class:`~rum.App` running the current task (set by ``app.running()``)."""
    return _app.get()


def current_request() -> Request | None:
    """The request the current task is handling, or ``None`` outside a request."""
    return _request.get()

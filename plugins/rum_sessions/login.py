"""Logging users in and out: ``await rum_sessions.login(request, user_id)``.

The seed framework spells these ``request.login(user_id)`` and ``request.logout()``; the sessions
plugin adds those two methods to :class:`rum.Request` when it loads (:func:`attach_to_request`),
so both spellings work. Typed code may prefer the functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rum import Request, RumError

if TYPE_CHECKING:
    from rum import Response
    from rum_sessions.manager import SessionManager


def _manager(request: Request, what: str) -> SessionManager:
    manager = request.app.extensions.get("sessions") if request.app is not None else None
    if manager is None:
        where = request.app.config.describe_file() if request.app is not None else "Rum.toml"
        raise RumError(f"{what} needs the sessions plugin: add \"sessions\" to [plugins] "
                       f"enabled in {where}")
    return manager  # type: ignore[no-any-return]


async def login(request: Request, user_id: Any, response: Response | None = None) -> Response:
    """Log ``user_id`` in: a new session (new id and CSRF secret) on ``response`` (default: an
    empty 200), which is returned."""
    return _manager(request, "login()").login(request, user_id, response)


async def logout(request: Request, response: Response | None = None) -> Response:
    """Log the request's user out: ``response`` (default: an empty 200) clears the session."""
    return _manager(request, "logout()").logout(request, response)


async def _request_login(self: Request, user_id: Any, response: Response | None = None
                         ) -> Response:
    """Log ``user_id`` in and return ``response`` carrying the session (sessions plugin)."""
    return await login(self, user_id, response)


async def _request_logout(self: Request, response: Response | None = None) -> Response:
    """Log the current user out; the response clears the session (sessions plugin)."""
    return await logout(self, response)


def attach_to_request() -> None:
    """Give :class:`rum.Request` the seed framework's ``login``/``logout`` methods."""
    Request.login = _request_login  # type: ignore[attr-defined]
    Request.logout = _request_logout  # type: ignore[attr-defined]

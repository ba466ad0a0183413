"""``request.session``, read from the cookie on first use.

A request that never reads its session (a static page, an API call with a token, a health
check) costs the sessions plugin no cookie parsing, no decryption and no ``Session`` object, as
in Rails and Django. When the plugin loads it makes ``session`` a lazy attribute of
:class:`rum.Request` (:meth:`rum.Request.add_lazy_attribute`, beside
``request.login``/``request.logout``): the first read loads the session through the app's
:class:`~rum_sessions.manager.SessionManager`; assigning replaces it (``login``/``logout``
do). In an app without the sessions plugin it is ``None``, as the kernel's placeholder was.
"""

from __future__ import annotations

from typing import Any

from rum import Request

#: where the plugin keeps the app's SessionManager (``app.extensions``)
EXTENSION = "sessions"


def load_session(request: Request) -> Any:
    """The request's session from its cookie (``None`` in an app without the plugin)."""
    app = request.app
    manager = app.extensions.get(EXTENSION) if app is not None else None
    return manager.load(request) if manager is not None else None


def attach_lazy_session() -> None:
    """Make ``request.session`` read the session on first use."""
    Request.add_lazy_attribute("session", load_session)

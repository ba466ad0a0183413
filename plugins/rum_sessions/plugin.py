"""Hook implementations of the sessions plugin: cookie sessions, login/logout, CSRF."""

from __future__ import annotations

import argparse
import functools
from typing import TYPE_CHECKING, Any

from rum import LazyUser, hookimpl
from rum.cli import Command
from rum.config import Setting
from rum_sessions.auth import SessionAuth
from rum_sessions.csrf import SAFE_METHODS, LazyToken, check, csrf_input, csrf_token
from rum_sessions.flash import flash_messages, render_flash
from rum_sessions.keys import generate_secret_key
from rum_sessions.lazy import attach_lazy_session
from rum_sessions.login import attach_to_request
from rum_sessions.manager import SessionManager

if TYPE_CHECKING:
    from rum.app import App
    from rum.config import Config
    from rum.request import Request
    from rum.response import Response

name = "sessions"
attach_to_request()  # request.login(user_id) / request.logout(), the seed framework's API
attach_lazy_session()  # request.session, read from the cookie on first use


@hookimpl
def rum_config_schema() -> dict[str, dict[str, Any]]:
    """``[sessions]``; the key itself is the kernel's ``[general] secret_key``."""
    return {"sessions": {
        "cookie_name": Setting("rum_session", str, "name of the session cookie"),
        "max_age": Setting(4 * 24 * 3600, int, "seconds a session stays valid without use"),
        "renew_after": Setting(None, int, "re-issue a used session's cookie after this many "
                                          "seconds (default: an hour, or max_age/4 if shorter;"
                                          " 0: on every request)"),
        "old_secret_keys": Setting([], list, "previous secret keys still accepted (rotation)"),
        "secure": Setting(None, bool, "Secure cookie flag (default: outside development)"),
        "domain": Setting(None, str, "cookie Domain attribute (default: the request host)"),
        "anonymous": Setting(False, bool, "send a new visitor's session cookie on the first "
                                          "response even when the session is unused (default:"
                                          " only once it is written or a CSRF token rendered)"),
        "csrf": Setting(True, bool, "CSRF protection on unsafe requests: the token, the "
                                    "Origin/Referer, and no cookie-less browser posts"),
        "csrf_field": Setting("csrf_token", str, "form field carrying the CSRF token"),
        "trusted_origins": Setting([], list, "other origins (https://admin.example.com) whose "
                                             "posts pass the Origin/Referer check"),
        "login_url": Setting(None, str, "where the \"session\" auth handler redirects"),
    }}


@hookimpl
def rum_configure(config: Config, app: App) -> None:
    """Build the app's :class:`SessionManager` from ``[sessions]``."""
    app.extensions["sessions"] = SessionManager.from_config(config)


@hookimpl
def rum_auth_handlers(app: App) -> dict[str, Any]:
    """The ``session`` auth handler (redirects to ``login_url`` by default)."""
    manager: SessionManager = app.extensions["sessions"]

    def session(redirect_to: str | None = None) -> SessionAuth:
        return SessionAuth(redirect_to=redirect_to or manager.login_url)

    return {"session": session}


# The per-request hooks are plain functions: they never await on the common path, and the
# kernel calls a plain implementation without making a coroutine (see Plugins.bind).


def _session_user(request: Request) -> Any:
    session = request.session
    return session.user_id if session is not None else None


#: the answer for requests of a safe method: the session's user, read only if needed
SESSION_USER = LazyUser(_session_user)


@hookimpl(tryfirst=True)
def rum_authenticate(request: Request) -> Any:
    """The session's user id: for a safe method a :class:`~rum.LazyUser` (the cookie is read
    only if ``request.user`` is); for an unsafe one with CSRF on, a coroutine the kernel
    awaits that checks the CSRF token first (it may read the form)."""
    if request.method in SAFE_METHODS:  # check() lets every safe method through
        return SESSION_USER
    session = request.session
    if session is None:
        return None
    manager: SessionManager = request.app.extensions["sessions"]  # type: ignore[union-attr]
    if manager.csrf:
        return _checked_user(request, session, manager)
    return session.user_id


async def _checked_user(request: Request, session: Any, manager: SessionManager) -> Any:
    await check(request, session, manager.csrf_field, manager.trusted_origins)
    return session.user_id


@hookimpl(tryfirst=True)
def rum_response(request: Request, response: Response) -> None:
    """Put the session's cookie on the response if it changed or is due for renewal; a new
    visitor's session only once it was used (see :meth:`SessionManager.save`).

    With ``[sessions] anonymous = true``, API routes and bearer-token requests still never
    get an unused session's cookie (see :func:`wants_new_cookie`); a session they change or
    log into gets one.
    """
    manager: SessionManager = request.app.extensions["sessions"]  # type: ignore[union-attr]
    if not manager.anonymous and not request.loaded("session"):
        return  # nothing read the session: nothing changed, nothing to renew (as in Django)
    session = request.session
    if session is not None:
        if session.is_new:
            if not session.modified and not session.had_cookie and not manager.anonymous:
                return  # a new visitor's unused session: no cookie (save() would return too)
        elif (not session.modified and not session.reissue and not session.deleted
              and session._header is None
              and session.expires_at - manager.clock() >= manager.max_age - manager.renew_after):
            return  # a returning visitor's session, unchanged and not due for renewal: the
            # same answer as save(), without its call (the common case of every page view)
        manager.save(session, response, new_cookie=(not session.is_new or not manager.anonymous
                                                     or wants_new_cookie(request)))


def wants_new_cookie(request: Request) -> bool:
    """False for requests that must not be given an anonymous session cookie: API routes
    (``Controller.api``), requests with ``Authorization: Bearer …``, and requests a token
    handler authenticated (``request.state.token_authenticated``)."""
    route = request.route
    if route is not None and route.api:
        return False
    auth = request.headers.get("authorization")
    if auth is not None and auth.strip()[:7].lower() == "bearer ":
        return False
    return not getattr(request.state, "token_authenticated", False)


@hookimpl(optionalhook=True)  # the templates plugin's hook: templates may be disabled
def rum_template_globals(app: App, request: Request | None) -> dict[str, Any]:
    """``csrf_token()``, ``csrf_input()``, ``flash_messages`` (the messages as HTML, taken
    from the session) and ``flashes()`` (them as a list) for templates rendered in a
    request."""
    if request is None:  # (the session is read only if a template uses one of these)
        return {}
    return {"csrf_token": LazyToken(request, csrf_token),
            "csrf_input": LazyToken(request, csrf_input),
            "flash_messages": LazyToken(request, render_flash),
            "flashes": functools.partial(flash_messages, request)}


def _print_key(args: argparse.Namespace, app: App | None) -> int:
    print(generate_secret_key())
    return 0


@hookimpl
def rum_cli_commands(app: App | None) -> list[Command]:
    """``rum secret-key``."""
    return [Command("secret-key", "print a new random [general] secret_key for Rum.toml",
                    _print_key, needs_app=False)]

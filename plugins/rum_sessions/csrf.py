"""Cross-site request forgery protection for session-authenticated form posts.

Each session holds a random CSRF secret (created the first time a page asks for a token).
Pages embed a *masked* token (a fresh random mask XOR the secret, so the token differs on
every render and cannot be recovered through compression side channels); unsafe requests
(POST, PUT, PATCH, DELETE) must send it back in the form field ``csrf_token`` (configurable)
or the ``X-CSRF-Token`` header.

Exempt: safe methods; controllers with ``csrf_exempt = True``; requests that carry no session
cookie (nothing ambient to forge) or a bearer token (not sent by browsers on their own).
"""

from __future__ import annotations

import base64
import hmac
import secrets
from html import escape
from typing import TYPE_CHECKING, Any

from rum.errors import Forbidden

if TYPE_CHECKING:
    from rum.request import Request
    from rum_sessions.session import Session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
HEADER = "x-csrf-token"
SECRET_BYTES = 32
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def session_secret(session: Session) -> bytes:
    """The session's CSRF secret, created (and the session marked changed) on first use."""
    if session._csrf is None:
        session._csrf = _b64(secrets.token_bytes(SECRET_BYTES))
        session.modified = True
    return _unb64(session._csrf)


def mask_token(secret: bytes) -> str:
    """A token for ``secret`` that differs on every call."""
    mask = secrets.token_bytes(len(secret))
    return _b64(mask + bytes(a ^ b for a, b in zip(mask, secret, strict=True)))


def token_matches(session: Session, token: str | None) -> bool:
    """True if ``token`` is a masked form of the session's CSRF secret (constant time)."""
    if not token or session._csrf is None:
        return False
    try:
        raw = _unb64(token.strip())
        secret = _unb64(session._csrf)
    except Exception:
        return False
    if len(raw) != 2 * len(secret):
        return False
    mask, masked = raw[:len(secret)], raw[len(secret):]
    return hmac.compare_digest(bytes(a ^ b for a, b in zip(mask, masked, strict=True)), secret)


def csrf_token(request: Request) -> str:
    """A CSRF token for ``request``'s session, to put in a form or an ``X-CSRF-Token`` header."""
    session = request.session
    if session is None:
        raise RuntimeError("csrf_token() needs request.session: enable the sessions plugin")
    return mask_token(session_secret(session))


def csrf_input(request: Request) -> str:
    """The hidden ``<input>`` carrying the CSRF token, to place inside a ``<form>``."""
    field = request.app.extensions["sessions"].csrf_field if request.app else "csrf_token"
    return (f'<input type="hidden" name="{escape(field)}" '
            f'value="{escape(csrf_token(request))}">')


class LazyToken:
    """A template value that makes the token only when rendered (``<%= csrf_token %>``)."""

    __slots__ = ("_make", "_request")

    def __init__(self, request: Request, make: Any) -> None:
        self._request = request
        self._make = make

    def __str__(self) -> str:
        return self._make(self._request)

    def __html__(self) -> str:  # already safe HTML: the token is base64url, the input escaped
        return self._make(self._request)

    def __call__(self) -> str:
        """Make the value now (``csrf_token()`` / ``csrf_input()`` in a template)."""
        return self._make(self._request)


def check(request: Request, session: Session, field: str) -> None:
    """Raise 403 unless ``request`` is safe, exempt, or carries a valid CSRF token."""
    if request.method in SAFE_METHODS or not session.had_cookie:
        return
    route = request.route
    if route is not None and getattr(route.controller, "csrf_exempt", False):
        return
    auth = request.headers.get("authorization")
    if auth is not None and auth[:7].lower() == "bearer ":
        return
    token = request.headers.get(HEADER)
    if token is None and request.content_type in _FORM_TYPES:
        token = request.form().get(field)
    if token_matches(session, token):
        return
    if session.is_new:
        reason = ("your session expired or is no longer valid, so the form's CSRF token "
                  "cannot be checked; reload the page and submit it again")
    elif token is None:
        reason = (f"the CSRF token is missing: add the hidden field {field!r} to the form "
                  "(<%- csrf_input %> in a template) or send an X-CSRF-Token header")
    else:
        reason = "the CSRF token is invalid for this session; reload the page and try again"
    raise Forbidden(f"CSRF check failed for {request.method} {request.path}: {reason}. "
                    "Controllers that must accept cross-site posts can set csrf_exempt = True.")

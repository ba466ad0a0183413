"""Cross-site request forgery protection for session-authenticated form posts.

Each session holds a random CSRF secret (created the first time a page asks for a token).
Pages embed a *masked* token (a fresh random mask XOR the secret, so the token differs on
every render and cannot be recovered through compression side channels); unsafe requests
(POST, PUT, PATCH, DELETE) must send it back in the form field ``csrf_token`` (configurable)
or the ``X-CSRF-Token`` header.

Exempt: safe methods; controllers with ``csrf_exempt = True``; requests with a bearer token
(browsers never send one on their own). Unsafe requests without a session cookie are refused
(login CSRF) unless they send ``Authorization: Basic`` or a JSON body to an API route; see
:func:`check` and ``docs/auth.md``.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from rum.errors import Forbidden
from rum.negotiation import is_json_type

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


def _authorization_scheme(request: Request) -> str:
    auth = request.headers.get("authorization")
    return auth.strip().partition(" ")[0].lower() if auth else ""


def _strip_default_port(netloc: str, scheme: str) -> str:
    netloc = netloc.lower()
    default = {"http": ":80", "https": ":443"}.get(scheme, "")
    return netloc[:-len(default)] if default and netloc.endswith(default) else netloc


def _split(url: str) -> tuple[str, str]:
    """``(scheme, netloc)`` of ``url`` in lower case; ``("", "")`` if it does not parse."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # e.g. an unclosed IPv6 bracket: not this site
        return "", ""
    return parts.scheme.lower(), parts.netloc.lower()


def origin_problem(request: Request, trusted_origins: frozenset[str] = frozenset()) -> str | None:
    """Why the request's ``Origin`` (or, over HTTPS, ``Referer``) is not this site; ``None`` if
    it is, as in Django.

    A present ``Origin`` must name the request's host (and ``https`` when the request came
    over HTTPS) or be listed in ``trusted_origins``. HTTPS requests without ``Origin`` must
    send a ``Referer`` on this host over ``https``. Plain-HTTP requests without ``Origin`` are
    not checked (behind a TLS-terminating proxy the scheme Rum sees is not the browser's).
    """
    host = _strip_default_port(request.host, request.scheme)
    origin = request.headers.get("origin")
    if origin is not None:
        origin = origin.strip()
        if origin.lower().rstrip("/") in trusted_origins:
            return None
        scheme, netloc = _split(origin)
        same = (bool(host) and _strip_default_port(netloc, scheme) == host
                and scheme in ("http", "https")
                and (request.scheme != "https" or scheme == "https"))
        return None if same else f"the Origin header {origin!r} is not this site ({host})"
    if request.scheme != "https":
        return None
    referer = request.headers.get("referer")
    if not referer:
        return "an HTTPS post must send an Origin or Referer header naming this site"
    scheme, netloc = _split(referer)
    if f"{scheme}://{netloc}" in trusted_origins:
        return None
    if scheme != "https" or _strip_default_port(netloc, "https") != host:
        return f"the Referer {referer!r} is not an https page of this site ({host})"
    return None


def _csrf_failed(request: Request, reason: str) -> Forbidden:
    return Forbidden(f"CSRF check failed for {request.method} {request.path}: {reason}. "
                     "Controllers that must accept cross-site posts can set csrf_exempt = True.",
                     extra={"code": "csrf_failed"})


async def check(request: Request, session: Session, field: str,
                trusted_origins: frozenset[str] = frozenset()) -> None:
    """Raise 403 unless ``request`` is safe, exempt, or carries a valid CSRF token.

    Exempt: safe methods; ``csrf_exempt`` controllers; ``Authorization: Bearer`` requests.
    An unsafe request **without a session cookie** is refused (login CSRF, as in Django)
    unless it sends ``Authorization: Basic`` or is a JSON body to an API route; a page's GET
    gives browsers the cookie first. With a cookie, the ``Origin``/``Referer`` must be this
    site (:func:`origin_problem`) and the token must match. The ``X-CSRF-Token`` header is
    looked at first; only without it is a form body parsed (``await request.form()``:
    bounded, and off the event loop for large or multipart bodies).
    """
    if request.method in SAFE_METHODS:
        return
    route = request.route
    if route is not None and getattr(route.controller, "csrf_exempt", False):
        return
    scheme = _authorization_scheme(request)
    if scheme == "bearer":
        return
    if not session.had_cookie:
        if scheme == "basic" or (route is not None and route.api
                                 and is_json_type(request.content_type)):
            return
        raise _csrf_failed(request, (
            "the request has no session cookie, so it cannot be checked. Browsers get the "
            "cookie with the page that holds the form (load it first, then submit); API "
            "clients send JSON to an API route or authenticate with an Authorization header"))
    problem = origin_problem(request, trusted_origins)
    if problem is not None:
        raise _csrf_failed(request, problem)
    token = request.headers.get(HEADER)
    if token is None and request.content_type in _FORM_TYPES:
        token = (await request.form()).get(field)
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
    raise _csrf_failed(request, reason)

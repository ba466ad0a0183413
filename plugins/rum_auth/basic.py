"""HTTP Basic authentication (RFC 7617) with constant-time credential checks."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING

from rum.auth import Authentication
from rum.errors import Unauthorized

if TYPE_CHECKING:
    from rum.request import Request
    from rum.response import Response


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """``(user, password)`` from an ``Authorization: Basic ...`` header, else ``None``."""
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


class BasicAuth(Authentication):
    """Browser user/password prompt: ``BasicAuth(user="admin", password="super-secret")``.

    ``users={"alice": "pw1", "bob": "pw2"}`` accepts several accounts. Wrong or missing
    credentials get ``401`` with ``WWW-Authenticate: Basic realm="..."``, which makes
    browsers show their login prompt. On success ``request.user`` is the user name (unless
    another authenticator already set it). Comparisons take the same time whatever matches.
    """

    def __init__(self, user: str | None = None, password: str | None = None, *,
                 users: Mapping[str, str] | None = None, realm: str = "Rum") -> None:
        accounts = dict(users or {})
        if user is not None:
            if password is None:
                raise ValueError("BasicAuth(user=...) needs password=... too")
            accounts[user] = password
        if not accounts:
            raise ValueError("BasicAuth needs user= and password=, or users={name: password}")
        self._accounts = [(u.encode("utf-8"), p.encode("utf-8")) for u, p in accounts.items()]
        self.realm = realm

    async def authorize(self, request: Request) -> bool:
        """True when the ``Authorization: Basic`` credentials match a configured account."""
        creds = parse_basic(request.headers.get("authorization"))
        if creds is None:
            return False
        user, password = creds[0].encode("utf-8"), creds[1].encode("utf-8")
        found = False
        for known_user, known_password in self._accounts:  # no early exit: constant time
            user_ok = hmac.compare_digest(user, known_user)
            password_ok = hmac.compare_digest(password, known_password)
            found |= user_ok & password_ok
        if found and request.user is None:
            request.user = creds[0]
        return found

    async def denied(self, request: Request) -> Response:
        """Raise 401 with a ``WWW-Authenticate: Basic`` challenge."""
        raise Unauthorized("this page needs a user name and password",
                           headers={"www-authenticate":
                                    f'Basic realm={_quote(self.realm)}, charset="UTF-8"'})

    def __repr__(self) -> str:
        return f"<BasicAuth realm={self.realm!r} users={len(self._accounts)}>"

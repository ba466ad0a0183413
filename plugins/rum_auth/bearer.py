"""Token authentication: bearer tokens (RFC 6750) or an API-key header."""

from __future__ import annotations

import hmac
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from rum.auth import Authentication
from rum.errors import Unauthorized

if TYPE_CHECKING:
    from rum.request import Request
    from rum.response import Response

#: ``lookup(token)`` returns the user the token belongs to (any value), or ``None``.
TokenLookup = Callable[[str], "Awaitable[Any] | Any"]


class TokenAuth(Authentication):
    """Lets requests through that present a known token.

    - ``TokenAuth(tokens=["t1", "t2"])``: a static list (``request.user`` becomes the token),
      or ``tokens={"t1": "alice"}`` to name each token's user;
    - ``TokenAuth(lookup=find_user)``: ``await find_user(token)`` (or a plain function) returns
      the user, or ``None`` for an unknown token, e.g. a database lookup.

    The token is read from ``Authorization: Bearer <token>``; pass ``header="X-API-Key"`` to
    read it from another header instead. Refused requests get ``401`` with
    ``WWW-Authenticate: Bearer realm="..."`` (plus ``error="invalid_token"`` when a token was
    sent but not accepted). Accepted requests are marked ``request.state.token_authenticated``,
    so the sessions plugin gives them no anonymous session cookie.
    """

    def __init__(self, tokens: Iterable[str] | Mapping[str, Any] | None = None, *,
                 lookup: TokenLookup | None = None, header: str | None = None,
                 realm: str = "Rum") -> None:
        if (tokens is None) == (lookup is None):
            raise ValueError("TokenAuth needs exactly one of tokens=[...] or lookup=callable")
        if isinstance(tokens, str):
            raise ValueError("TokenAuth(tokens=...) takes a list of tokens, not one string")
        table = (dict(tokens) if isinstance(tokens, Mapping)
                 else {t: t for t in tokens} if tokens is not None else {})
        self._tokens = [(t.encode("utf-8"), user) for t, user in table.items()]
        self._lookup = lookup
        self.header = header.lower() if header else None
        self.realm = realm

    def token_from(self, request: Request) -> str | None:
        """The token ``request`` presents, or ``None``."""
        if self.header is not None:
            value = request.headers.get(self.header)
            return value.strip() or None if value else None
        auth = request.headers.get("authorization")
        if not auth:
            return None
        scheme, _, token = auth.strip().partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None

    async def identify(self, token: str) -> Any:
        """The user ``token`` belongs to, or ``None``."""
        if self._lookup is not None:
            user = self._lookup(token)
            return await user if inspect.isawaitable(user) else user
        presented = token.encode("utf-8")
        found = None
        for known, user in self._tokens:  # no early exit: constant time
            if hmac.compare_digest(presented, known):
                found = user
        return found

    async def authorize(self, request: Request) -> bool:
        """True when the token identifies a user (set as ``request.user`` if none is yet)."""
        token = self.token_from(request)
        if token is None:
            return False
        user = await self.identify(token)
        if user is None:
            request.state.token_rejected = True
            return False
        if request.user is None:
            request.user = user
        request.state.token_authenticated = True  # the sessions plugin sets no new cookie
        return True

    async def denied(self, request: Request) -> Response:
        """Raise 401 with a ``Bearer`` challenge (``error=invalid_token`` if one was refused)."""
        challenge = f'Bearer realm="{self.realm}"'
        if getattr(request.state, "token_rejected", False):
            challenge += ', error="invalid_token"'
            detail = "the token is not valid (unknown, revoked or expired)"
        else:
            where = f"the {self.header} header" if self.header else "Authorization: Bearer"
            detail = f"this API needs a token in {where}"
        raise Unauthorized(detail, headers={"www-authenticate": challenge})

    def __repr__(self) -> str:
        source = "lookup" if self._lookup is not None else f"{len(self._tokens)} tokens"
        return f"<TokenAuth {source}>"

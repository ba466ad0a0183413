"""The accounts plugin's exceptions: bad passwords, bad tokens, throttled log-ins."""

from __future__ import annotations

from rum.errors import RumError, TooManyRequests, UnprocessableEntity


class PasswordTooLong(UnprocessableEntity):
    """A password longer than ``[accounts] max_password_bytes`` (a 422 in a request).

    Hashing cost grows with the input, so the length is capped before any work is done.
    """


class TokenError(RumError):
    """A signed token that cannot be used. Subclasses say why; each message names the fix."""


class TokenExpired(TokenError):
    """The token was valid once, but its ``expires_in`` has passed."""


class TokenInvalid(TokenError):
    """The token is malformed, was altered, was signed with another key, or its password
    has changed since it was made."""


class TokenPurposeMismatch(TokenError):
    """The token was made for another purpose (an e-mail confirmation used as a reset)."""


class LoginThrottled(TooManyRequests):
    """Too many failed log-ins for this account or client address: 429 with ``Retry-After``.

    ``scope`` is ``"account"`` or ``"client"`` (which count is over its limit);
    ``retry_after`` the seconds until log-ins are accepted again.
    """

    def __init__(self, retry_after: int, scope: str) -> None:
        self.retry_after = retry_after
        self.scope = scope
        where = "for this account" if scope == "account" else "from your network address"
        super().__init__(f"too many failed log-in attempts {where}; try again in "
                         f"{retry_after} s", headers={"retry-after": str(retry_after)})

"""Signed, time-limited tokens for links sent by mail (password reset, e-mail confirmation).

A token is ``<payload>.<signature>``, both URL-safe base64 without padding. The payload is
compact JSON: the purpose, the subject (an account id), the expiry time and, when the token
is bound to a password, a keyed fingerprint of the password hash. The signature is
HMAC-SHA256 over the payload with a key derived from the app's ``[general] secret_key``, so
tokens need no table: changing the password (hence the hash) or the secret key voids them.
The payload is signed, not encrypted: never put secrets in ``subject``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from rum_accounts.errors import TokenExpired, TokenInvalid, TokenPurposeMismatch

_TOKEN_LABEL = b"rum_accounts tokens v1"
_FINGERPRINT_LABEL = b"rum_accounts password fingerprint v1"
MAX_TOKEN_CHARS = 2048


def derive_key(secret_key: bytes) -> bytes:
    """The token-signing key derived from the app's secret key (never the key itself, so a
    token signature reveals nothing usable for the session cookies)."""
    return hmac.new(secret_key, _TOKEN_LABEL, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Token:
    """A token's verified content: ``purpose``, ``subject`` (as given to ``make``) and
    ``expires_at`` (Unix time). Check ``password_hash`` with :meth:`check_password_hash`."""

    purpose: str
    subject: str | int
    expires_at: int
    fingerprint: str | None
    _signer: TokenSigner = field(repr=False, compare=False)

    def check_password_hash(self, password_hash: str | None) -> None:
        """Raise :class:`TokenInvalid` unless the token was made for this password hash.

        Call it with the account's *current* hash: a password changed since the token was
        made (or a token made without a hash) fails.
        """
        expected = self.fingerprint
        if expected is None or password_hash is None or not any(
                hmac.compare_digest(expected, self._signer.fingerprint(password_hash, key))
                for key in self._signer.keys):
            raise TokenInvalid("this link is no longer valid: the password has changed since "
                               "it was sent; ask for a new one")


class TokenSigner:
    """Makes and reads tokens with ``keys[0]``; older keys (rotation) still read."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("TokenSigner needs at least one key")
        self.keys = [derive_key(k) for k in keys]

    def fingerprint(self, password_hash: str, key: bytes | None = None) -> str:
        """A short keyed digest of ``password_hash`` (the payload is readable: no hash in it)."""
        mac = hmac.new(key or self.keys[0], _FINGERPRINT_LABEL + password_hash.encode(),
                       hashlib.sha256)
        return _b64(mac.digest()[:16])

    def make(self, purpose: str, subject_id: str | int, *, expires_in: float,
             password_hash: str | None = None, now: float | None = None) -> str:
        """A token for ``purpose`` and ``subject_id``, valid for ``expires_in`` seconds.

        With ``password_hash`` the token is bound to it: :meth:`read` (with the current hash)
        refuses it once the password changes.
        """
        if not purpose or not isinstance(purpose, str):
            raise ValueError("make_token() needs a purpose, e.g. \"password_reset\"")
        if isinstance(subject_id, bool) or not isinstance(subject_id, (str, int)):
            raise TypeError("make_token(subject_id=...) must be a str or an int, got "
                            f"{type(subject_id).__name__}")
        if expires_in <= 0:
            raise ValueError(f"make_token(expires_in={expires_in}) must be a positive number "
                             "of seconds")
        issued = time.time() if now is None else now
        claims: dict[str, object] = {"p": purpose, "s": subject_id,
                                     "e": int(issued + expires_in)}
        if password_hash is not None:
            claims["f"] = self.fingerprint(password_hash)
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(self.keys[0], payload)}"

    @staticmethod
    def _sign(key: bytes, payload: str) -> str:
        return _b64(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())

    def read(self, token: str, purpose: str, *, password_hash: str | None = None,
             now: float | None = None) -> Token:
        """The verified :class:`Token`, or an exception saying why not.

        :class:`TokenInvalid` (malformed, altered, another key; or ``password_hash`` given and
        not the one the token was made for), :class:`TokenPurposeMismatch`,
        :class:`TokenExpired`. Without ``password_hash``, a token bound to a password still
        needs :meth:`Token.check_password_hash` once the account is loaded.
        """
        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
            raise TokenInvalid("this link is not valid (malformed token); check that it was "
                               "copied whole")
        payload, signature = token.split(".")
        try:
            payload.encode("ascii")
            signature.encode("ascii")
        except UnicodeEncodeError:
            raise TokenInvalid("this link is not valid (malformed token)") from None
        if not any(hmac.compare_digest(self._sign(key, payload), signature)
                   for key in self.keys):
            raise TokenInvalid("this link is not valid (bad signature): it was altered, or "
                               "signed with another secret key")
        try:
            claims = json.loads(_unb64(payload))
            found, subject, expires_at = claims["p"], claims["s"], int(claims["e"])
            fingerprint = claims.get("f")
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise TokenInvalid("this link is not valid (unreadable token)") from None
        if found != purpose:
            raise TokenPurposeMismatch(f"this link was made for {found!r}, not {purpose!r}")
        current = time.time() if now is None else now
        if current >= expires_at:
            raise TokenExpired(f"this link expired {int(current - expires_at) + 1} s ago; "
                               "ask for a new one")
        result = Token(found, subject, expires_at, fingerprint, self)
        if password_hash is not None:
            result.check_password_hash(password_hash)
        return result

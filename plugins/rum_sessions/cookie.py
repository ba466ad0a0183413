"""Session cookies: JSON sealed with pynacl's SecretBox (XSalsa20-Poly1305), base64url-encoded.

The cookie is encrypted *and* authenticated: the browser can neither read nor change it.
Decoding never raises: a tampered, truncated, expired or foreign cookie yields ``None``.
"""

from __future__ import annotations

import base64
import json
import json.scanner
from collections.abc import Sequence
from typing import Any

from nacl.secret import SecretBox

from rum.errors import RumError
from rum_sessions.session import Session

FORMAT_VERSION = 1
#: Browsers drop cookies over 4096 bytes (name, value and attributes together).
MAX_COOKIE_BYTES = 4096
#: Recently opened cookies kept decoded, so a browser's repeated cookie costs no crypto.
CACHE_ENTRIES = 2048
CACHE_MAX_VALUE = 1024
#: ``json.loads`` of a document that is exactly one JSON value (``json.dumps`` output): the
#: C scanner ``loads`` ends in, without the whitespace checks around it
_scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


class SessionCodec:
    """Seals sessions with the first key; opens them with any key (rotation)."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("SessionCodec needs at least one key")
        self._boxes = [SecretBox(k) for k in keys]
        # cookie value -> (id, user_id, data as JSON or "", csrf, expires_at, old key?)
        self._cache: dict[str, tuple[str, Any, str, str | None, int, bool]] = {}

    def encode(self, session: Session) -> str:
        """The cookie value for ``session``; raises a RumError naming unserializable data."""
        payload = [FORMAT_VERSION, session.id, session.user_id, session.data, session._csrf,
                   int(session.expires_at)]
        try:
            plain = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise RumError(f"request.session holds a value that is not JSON-serializable "
                           f"({exc}); store ids, strings, numbers, lists or dicts only") from None
        try:
            raw = plain.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (a JSON "\udc00" escape a request sent)
            raw = json.dumps(payload, separators=(",", ":")).encode("ascii")  # kept escaped
        sealed = self._boxes[0].encrypt(raw)
        return base64.urlsafe_b64encode(bytes(sealed)).rstrip(b"=").decode("ascii")

    def decode(self, value: str, now: float) -> Session | None:
        """The session in cookie ``value``, or ``None`` if it is invalid or expired."""
        hit = self._cache.get(value)
        if hit is not None:
            sid, user_id, data_json, csrf, expires_at, old_key = hit
            if expires_at <= now:
                return None
            # a fresh copy of the data for each request (it may be changed in place);
            # _scan is json.loads without its Python layers (the JSON is our own dumps)
            cached = Session._make(sid, user_id, _scan(data_json, 0)[0] if data_json else {},
                                   csrf, expires_at, False, True)
            cached.reissue = old_key
            return cached
        session = self._open(value, now)
        if (session is not None and len(value) <= CACHE_MAX_VALUE
                and isinstance(session.user_id, int | str | None)):
            if len(self._cache) >= CACHE_ENTRIES:
                self._cache.clear()
            data_json = json.dumps(session.data) if session.data else ""
            self._cache[value] = (session.id, session.user_id, data_json, session._csrf,
                                  int(session.expires_at), session.reissue)
        return session

    def _open(self, value: str, now: float) -> Session | None:
        try:
            sealed = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except Exception:
            return None
        if len(sealed) < SecretBox.NONCE_SIZE + SecretBox.MACBYTES:
            return None
        for index, box in enumerate(self._boxes):
            try:
                plain = box.decrypt(sealed)
            except Exception:
                continue
            session = _from_payload(plain, now)
            if session is not None and index > 0:
                session.reissue = True  # sealed with an old key: move it to the current one
            return session
        return None


def _from_payload(plain: bytes, now: float) -> Session | None:
    try:
        payload: Any = json.loads(plain)
        version, sid, user_id, data, csrf, expires_at = payload
    except (ValueError, TypeError):
        return None
    if (version != FORMAT_VERSION or not isinstance(sid, str) or not isinstance(data, dict)
            or not isinstance(expires_at, int) or not (csrf is None or isinstance(csrf, str))):
        return None
    if expires_at <= now:
        return None
    return Session(id=sid, user_id=user_id, data=data, csrf=csrf, expires_at=expires_at,
                   is_new=False, had_cookie=True)

"""Signed stream names: a page may only subscribe to channels the server named for it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from typing import TYPE_CHECKING

from rum.errors import ConfigError

if TYPE_CHECKING:
    from rum.services import AppLike

logger = logging.getLogger("rum.turbo")
_LABEL = b"rum-turbo-stream-name\x00"


def signing_key(app: AppLike) -> bytes:
    """The HMAC key for stream names, derived from ``[general] secret_key``.

    Without a secret key, development apps get a random per-process key (logged once; pages
    then only work against the process that rendered them), and production refuses to start.
    """
    turbo = app.extensions.setdefault("turbo", {})
    key = turbo.get("signing_key")
    if key is None:
        secret = app.config.get_str("general", "secret_key")
        if secret:
            key = hmac.new(secret.encode("utf-8"), _LABEL, hashlib.sha256).digest()
        elif app.config.is_production:
            raise ConfigError(f"{app.config.describe_file()}: Turbo Stream broadcasts need "
                              "[general] secret_key in production (generate one with "
                              "`rum secret-key`)")
        else:
            logger.warning("no [general] secret_key: signing Turbo Stream names with a random "
                           "key for this process only (set one with `rum secret-key`)")
            key = secrets.token_bytes(32)
        turbo["signing_key"] = key
    return key


def _mac(key: bytes, name: str) -> str:
    digest = hmac.new(key, name.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def sign_stream_name(app: AppLike, name: str) -> str:
    """``name`` plus its signature, safe to put in a page: ``orders--<mac>``."""
    return f"{name}--{_mac(signing_key(app), name)}"


def verify_stream_name(app: AppLike, signed: str) -> str | None:
    """The stream name inside ``signed`` if its signature is valid, else ``None``."""
    name, sep, mac = signed.rpartition("--")
    if not sep or not name:
        return None
    # as bytes: compare_digest refuses str holding non-ASCII characters (a TypeError)
    if hmac.compare_digest(mac.encode("utf-8", "surrogatepass"),
                           _mac(signing_key(app), name).encode("ascii")):
        return name
    return None

"""Secret keys: parsing ``[general] secret_key`` (hex or base64, 32 bytes) and making new ones."""

from __future__ import annotations

import base64
import binascii
import secrets

from rum.errors import ConfigError

KEY_BYTES = 32

HOW_TO_GENERATE = ("generate one with `rum secret-key` (or python -c \"import secrets; "
                   "print(secrets.token_hex(32))\")")


def generate_secret_key() -> str:
    """A new random 32-byte key written as 64 hex digits, ready for ``Rum.toml``."""
    return secrets.token_hex(KEY_BYTES)


def parse_secret_key(value: str, where: str) -> bytes:
    """Decode a 32-byte key written as 64 hex digits or as (URL-safe) base64.

    ``where`` names the setting for the error message (file and key).
    """
    text = value.strip()
    raw: bytes | None = None
    if text and len(text) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in text):
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = None
    if raw is None:
        padded = text.replace("-", "+").replace("_", "/")
        padded += "=" * (-len(padded) % 4)
        try:
            raw = base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"{where} is neither hex nor base64; it must be {KEY_BYTES} "
                              f"random bytes: {HOW_TO_GENERATE}") from None
    if len(raw) != KEY_BYTES:
        raise ConfigError(f"{where} decodes to {len(raw)} bytes; it must be {KEY_BYTES} "
                          f"(64 hex digits or 44 base64 characters): {HOW_TO_GENERATE}")
    return raw

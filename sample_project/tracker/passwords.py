"""Password hashing with the standard library's scrypt (no extra dependency).

Stored form: ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``, so the cost can be raised later
without breaking existing hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import trio

N, R, P = 2**14, 8, 1
DKLEN = 32


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    """The storable scrypt hash of ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=DKLEN)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored`` (compared in constant time)."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n),
                                r=int(r), p=int(p), dklen=len(bytes.fromhex(expected)))
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), expected)


async def check_password(password: str, stored: str) -> bool:
    """:func:`verify_password` in a worker thread (scrypt takes tens of milliseconds)."""
    return await trio.to_thread.run_sync(verify_password, password, stored)

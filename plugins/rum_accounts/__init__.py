"""Rum accounts: Argon2id password hashing, signed time-limited tokens, log-in throttling.

Hashing runs in worker threads (``[accounts] hash_threads`` at once); tokens are HMAC-signed
with a key derived from ``[general] secret_key``; failed log-ins are counted per account and
per client address in this process. See ``docs/accounts.md``.
"""

from rum_accounts.accounts import (
    Accounts,
    accounts,
    authenticate,
    hash_password,
    login_throttle,
    make_token,
    needs_rehash,
    read_token,
    verify_password,
)
from rum_accounts.errors import (
    LoginThrottled,
    PasswordTooLong,
    TokenError,
    TokenExpired,
    TokenInvalid,
    TokenPurposeMismatch,
)
from rum_accounts.passwords import (
    RFC_9106_LOW_MEMORY,
    TEST,
    Authenticated,
    HashParameters,
    Passwords,
)
from rum_accounts.throttle import (
    DatabaseStore,
    LoginThrottle,
    MemoryStore,
    ThrottleStore,
    create_table,
)
from rum_accounts.tokens import Token, TokenSigner

__all__ = [
    "RFC_9106_LOW_MEMORY", "TEST", "Accounts", "Authenticated", "DatabaseStore",
    "HashParameters", "LoginThrottle", "LoginThrottled", "MemoryStore", "PasswordTooLong",
    "Passwords", "ThrottleStore", "Token", "TokenError", "TokenExpired", "TokenInvalid",
    "TokenPurposeMismatch", "TokenSigner", "accounts", "authenticate", "create_table",
    "hash_password", "login_throttle", "make_token", "needs_rehash", "read_token",
    "verify_password",
]

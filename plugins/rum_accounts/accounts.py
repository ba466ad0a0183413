"""One app's accounts toolkit (``app.extensions["accounts"]``) and the functions that use the
current app's: ``hash_password``, ``verify_password``, ``make_token``, ``read_token``, ..."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from rum.context import current_app
from rum.errors import ConfigError, RumError
from rum_accounts.passwords import PROFILES, RFC_9106_LOW_MEMORY, Authenticated, Passwords
from rum_accounts.settings import SCHEMA
from rum_accounts.throttle import (
    DatabaseStore,
    LoginThrottle,
    MemoryStore,
    ThrottleStore,
)
from rum_accounts.tokens import Token, TokenSigner
from rum_sessions import generate_secret_key, parse_secret_key

if TYPE_CHECKING:
    from rum.app import App
    from rum.config import Config

logger = logging.getLogger("rum.accounts")
STRICT_ENVIRONMENTS = ("production", "staging")


class Accounts:
    """Password hashing, signed tokens and log-in throttling for one app."""

    def __init__(self, passwords: Passwords, signer: TokenSigner,
                 throttle: LoginThrottle) -> None:
        self.passwords = passwords
        self.signer = signer
        self.throttle = throttle

    @classmethod
    def from_config(cls, config: Config, app: App | None = None) -> Accounts:
        """Build from ``[accounts]``, ``[general] secret_key`` and ``[sessions]
        old_secret_keys``; ``app`` is needed for ``throttle_store = "database"`` (its
        storage)."""
        where = f"{config.describe_file()}: [accounts]"
        values: dict[str, Any] = {}
        for key, setting in SCHEMA.items():
            values[key] = config.get_typed("accounts", key, setting.kind or str, setting.default)
        profile = values["hash_profile"] or ("test" if config.env == "test"
                                             else "rfc9106_low_memory")
        parameters = PROFILES.get(profile, RFC_9106_LOW_MEMORY)
        overrides = {k: values[k] for k in ("time_cost", "memory_cost", "parallelism")
                     if values[k] is not None}
        parameters = dataclasses.replace(parameters, **overrides)
        if parameters.time_cost < 1 or parameters.parallelism < 1:
            raise ConfigError(f"{where} time_cost and parallelism must be at least 1")
        if parameters.memory_cost < 8 * parameters.parallelism:
            raise ConfigError(f"{where} memory_cost must be at least 8 KiB per lane "
                              f"({8 * parameters.parallelism} for parallelism = "
                              f"{parameters.parallelism}), got {parameters.memory_cost}")
        if values["hash_threads"] < 1 or values["max_password_bytes"] < 1:
            raise ConfigError(f"{where} hash_threads and max_password_bytes must be at least 1")
        try:
            throttle = LoginThrottle(per_account=values["max_failures_per_account"],
                                     per_client=values["max_failures_per_client"],
                                     window=values["throttle_window"],
                                     store=_throttle_store(values["throttle_store"], app,
                                                           where))
        except ValueError as exc:
            raise ConfigError(f"{where} {exc}") from None
        passwords = Passwords(parameters, max_threads=values["hash_threads"],
                              max_password_bytes=values["max_password_bytes"])
        return cls(passwords, TokenSigner(_secret_keys(config)), throttle)


def _throttle_store(kind: str, app: App | None, where: str) -> ThrottleStore:
    if kind != "database":
        return MemoryStore()
    orm = app.extensions.get("orm") if app is not None else None
    if app is None or orm is None:
        raise ConfigError(f"{where} throttle_store = \"database\" needs the orm plugin: add "
                          "\"orm\" to [plugins] enabled (or use throttle_store = \"memory\")")
    return DatabaseStore(lambda: app.storage)  # the table: migrations/, `rum migrate run`


def _secret_keys(config: Config) -> list[bytes]:
    keys: list[bytes] = []
    value = config.get_str("general", "secret_key")
    if value:
        where = config.sources.get(("general", "secret_key"), "config")
        keys.append(parse_secret_key(value, f"{where}: [general] secret_key"))
    elif config.env in STRICT_ENVIRONMENTS:
        raise ConfigError(f"[general] secret_key is not set in {config.describe_file()}; the "
                          f"accounts plugin needs it in {config.env} to sign password-reset "
                          "links. Generate one with `rum secret-key` and set it under "
                          "[general] (or RUM_GENERAL__SECRET_KEY)")
    else:
        logger.warning("[general] secret_key is not set in %s: account tokens (reset links) "
                       "are signed with a random key and stop working when the process "
                       "restarts", config.describe_file())
        keys.append(bytes.fromhex(generate_secret_key()))
    for i, old in enumerate(config.get_list("sessions", "old_secret_keys")):
        where = config.sources.get(("sessions", "old_secret_keys"), "config")
        keys.append(parse_secret_key(str(old), f"{where}: [sessions] old_secret_keys[{i}]"))
    return keys


def accounts(app: App | None = None) -> Accounts:
    """``app``'s (default: the running app's) :class:`Accounts`; a clear error without one."""
    app = app if app is not None else current_app()
    if app is None:
        raise RumError("the accounts functions need a running app (inside app.running(), a "
                       "request, or a job); outside one, use an Accounts object directly")
    found = app.extensions.get("accounts")
    if found is None:
        raise RumError("the accounts plugin is not enabled: add \"accounts\" to [plugins] "
                       f"enabled in {app.config.describe_file()}")
    return found  # type: ignore[no-any-return]


async def hash_password(password: str) -> str:
    """An Argon2id hash of ``password``, computed in a worker thread (the running app's
    parameters). :class:`PasswordTooLong` past ``[accounts] max_password_bytes``."""
    return await accounts().passwords.hash(password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (``False`` for a wrong, malformed or
    missing hash; never raises for those). Runs in a worker thread."""
    return await accounts().passwords.verify(password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    """True when ``password_hash`` was made with other parameters than ``[accounts]``'s."""
    return accounts().passwords.needs_rehash(password_hash)


async def authenticate(user: Any, password: str, *, field: str = "password_hash"
                       ) -> Authenticated:
    """Check ``password`` against ``user.<field>`` (``user`` may be ``None``: ``False``, after
    the same work). On success with outdated parameters, ``user.<field>`` is set to a new
    hash and the result's ``rehashed`` is true: save the user."""
    stored = getattr(user, field, None) if user is not None else None
    result = await accounts().passwords.authenticate(stored, password)
    if result.new_hash is not None:
        setattr(user, field, result.new_hash)
    return result


def make_token(purpose: str, subject_id: str | int, *, expires_in: float,
               password_hash: str | None = None) -> str:
    """A signed token for ``purpose`` and ``subject_id`` valid ``expires_in`` seconds; with
    ``password_hash``, void once the password changes. See :class:`TokenSigner`."""
    return accounts().signer.make(purpose, subject_id, expires_in=expires_in,
                                  password_hash=password_hash)


def read_token(token: str, purpose: str, *, password_hash: str | None = None) -> Token:
    """Verify ``token`` for ``purpose``: its :class:`Token`, or :class:`TokenInvalid`,
    :class:`TokenExpired` or :class:`TokenPurposeMismatch`."""
    return accounts().signer.read(token, purpose, password_hash=password_hash)


def login_throttle() -> LoginThrottle:
    """The running app's :class:`LoginThrottle`."""
    return accounts().throttle


"""Argon2id password hashing that runs in worker threads, never on the event loop.

:class:`Passwords` holds one app's :class:`argon2.PasswordHasher` (parameters from
``[accounts]``) and a :class:`trio.CapacityLimiter` that bounds how many hashes run at once:
each Argon2 call takes tens of milliseconds of CPU and ``memory_cost`` KiB of memory, on input
an anonymous client chooses, so it must neither block other requests nor run unbounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import trio
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from rum_accounts.errors import PasswordTooLong

#: The largest password accepted by default, in UTF-8 bytes (a bound on hashing work).
MAX_PASSWORD_BYTES = 1024


@dataclass(frozen=True)
class HashParameters:
    """Argon2id cost parameters (``memory_cost`` in KiB)."""

    time_cost: int
    memory_cost: int
    parallelism: int
    hash_len: int = 32
    salt_len: int = 16


#: RFC 9106's second recommendation ("low memory"): 3 passes over 64 MiB, 4 lanes.
RFC_9106_LOW_MEMORY = HashParameters(time_cost=3, memory_cost=64 * 1024, parallelism=4)
#: Cheap parameters for test suites (the ``test`` environment's default): never in production.
TEST = HashParameters(time_cost=1, memory_cost=64, parallelism=1)
PROFILES = {"rfc9106_low_memory": RFC_9106_LOW_MEMORY, "test": TEST}


@dataclass(frozen=True)
class Authenticated:
    """What :meth:`Passwords.authenticate` found: ``ok`` (the password matched) and, when the
    stored hash used other parameters, ``new_hash`` to store in its place."""

    ok: bool
    new_hash: str | None = None

    @property
    def rehashed(self) -> bool:
        """True when ``new_hash`` holds a fresh hash that should replace the stored one."""
        return self.new_hash is not None

    def __bool__(self) -> bool:
        return self.ok


class Passwords:
    """Hash and verify passwords with Argon2id in worker threads.

    ``max_threads`` bounds concurrent hashes (each uses ``memory_cost`` KiB);
    ``max_password_bytes`` refuses longer passwords with :class:`PasswordTooLong`.
    """

    def __init__(self, parameters: HashParameters = RFC_9106_LOW_MEMORY, *,
                 max_threads: int = 2, max_password_bytes: int = MAX_PASSWORD_BYTES) -> None:
        if max_threads < 1:
            raise ValueError(f"Passwords(max_threads={max_threads}) must be at least 1")
        self.parameters = parameters
        self.max_password_bytes = max_password_bytes
        self.hasher = PasswordHasher(
            time_cost=parameters.time_cost, memory_cost=parameters.memory_cost,
            parallelism=parameters.parallelism, hash_len=parameters.hash_len,
            salt_len=parameters.salt_len, type=Type.ID)
        self.limiter = trio.CapacityLimiter(max_threads)
        # verified when no account matched, so a missing account takes as long as a wrong
        # password (made lazily, in a worker thread, the first time it is needed)
        self._dummy_hash: str | None = None

    def _encode(self, password: str) -> bytes:
        if not isinstance(password, str):
            raise TypeError(f"a password must be a str, got {type(password).__name__}")
        data = password.encode("utf-8", "surrogatepass")
        if len(data) > self.max_password_bytes:
            raise PasswordTooLong(
                f"the password is {len(data)} bytes long; at most {self.max_password_bytes} "
                "bytes are accepted ([accounts] max_password_bytes)")
        return data

    async def hash(self, password: str) -> str:
        """An Argon2id hash of ``password`` (``$argon2id$v=19$m=...``), computed off the loop.

        Raises :class:`PasswordTooLong` past ``max_password_bytes``.
        """
        data = self._encode(password)
        return await trio.to_thread.run_sync(self.hasher.hash, data, limiter=self.limiter)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``, checked off the loop.

        Never raises for a wrong, malformed or missing (``None``) hash: the answer is
        ``False``. A missing hash still costs one verification, so callers can't be timed to
        learn which accounts exist. Too long a password is ``False`` too, without hashing.
        """
        try:
            data = self._encode(password)
        except PasswordTooLong:
            return False
        if not isinstance(password_hash, str) or not password_hash.startswith("$argon2"):
            await self._verify_dummy(data)
            return False
        return await trio.to_thread.run_sync(self._verify_sync, password_hash, data,
                                             limiter=self.limiter)

    def _verify_sync(self, password_hash: str, data: bytes) -> bool:
        try:
            return bool(self.hasher.verify(password_hash, data))
        except (VerifyMismatchError, VerificationError, InvalidHashError, ValueError):
            return False

    async def _verify_dummy(self, data: bytes) -> None:
        if self._dummy_hash is None:
            self._dummy_hash = await trio.to_thread.run_sync(
                self.hasher.hash, b"rum-accounts: no such account", limiter=self.limiter)
        await trio.to_thread.run_sync(self._verify_sync, self._dummy_hash, data,
                                      limiter=self.limiter)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when ``password_hash`` was made with other parameters than the current ones
        (or cannot be parsed): hash the password again after the next successful log-in."""
        try:
            return bool(self.hasher.check_needs_rehash(password_hash))
        except (InvalidHashError, VerificationError, ValueError):
            return True

    async def authenticate(self, password_hash: str | None, password: str) -> Authenticated:
        """Verify ``password``; when it matches a hash made with old parameters, hash it again.

        Returns an :class:`Authenticated` (falsy when the password is wrong) whose
        ``new_hash``, when set, is to be stored in place of ``password_hash``.
        """
        if not await self.verify(password_hash, password):
            return Authenticated(False)
        assert password_hash is not None
        if self.needs_rehash(password_hash):
            return Authenticated(True, await self.hash(password))
        return Authenticated(True)

"""Argon2id hashing through the accounts plugin: results, refusals, rehashing, and the event
loop staying responsive while hashes run in worker threads."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
import trio

from rum import App, ConfigError, RumError
from rum_accounts import (
    PasswordTooLong,
    accounts,
    authenticate,
    hash_password,
    needs_rehash,
    verify_password,
)


async def test_hash_and_verify(make_app) -> None:
    app = make_app()
    async with app.running():
        stored = await hash_password("correct horse")
        assert stored.startswith("$argon2id$v=19$m=64,t=1,p=1$")
        assert await verify_password(stored, "correct horse") is True
        assert await verify_password(stored, "correct hors") is False
        assert await hash_password("correct horse") != stored  # salted
        assert not needs_rehash(stored)


@pytest.mark.parametrize("stored", [None, "", "plain text", "$argon2id$v=19$garbage",
                                    "$argon2id$v=19$m=64,t=1,p=1$AAAA$BBBB",
                                    "pbkdf2_sha256$1000$salt$hash", "\x00\ud800"])
async def test_verify_is_false_for_bad_hashes_and_never_raises(make_app, stored) -> None:
    async with make_app().running():
        assert await verify_password(stored, "anything") is False
        assert needs_rehash(stored or "x") is True


async def test_password_length_is_capped_before_hashing(make_app) -> None:
    async with make_app("hash_profile = \"test\"\nmax_password_bytes = 16").running():
        ok = await hash_password("é" * 8)  # 16 bytes
        with pytest.raises(PasswordTooLong, match="17 bytes long; at most 16 bytes.*"
                                                  r"\[accounts\] max_password_bytes") as info:
            await hash_password("x" * 17)
        assert info.value.status == 422
        assert await verify_password(ok, "é" * 8 + "x") is False


async def test_hashing_runs_off_the_event_loop(make_app) -> None:
    """With real parameters (64 MiB, 3 passes) each hash takes tens of milliseconds; a task
    ticking every 5 ms keeps ticking while two hashes run. The same work on the loop stalls
    the ticker for a whole hash, which is what the first measurement shows the test would
    catch."""
    app = make_app('hash_profile = "rfc9106_low_memory"')
    passwords = app.extensions["accounts"].passwords

    async def longest_gap_while(work) -> tuple[float, float]:
        gaps: list[float] = []
        done = trio.Event()

        async def ticker() -> None:
            last = time.perf_counter()
            while not done.is_set():
                await trio.sleep(0.005)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ticker)
            await trio.sleep(0.02)
            began = time.perf_counter()
            await work()
            took = time.perf_counter() - began
            done.set()
        return max(gaps), took

    async def on_loop() -> None:
        passwords.hasher.hash(b"blocking")

    blocked_gap, one_hash = await longest_gap_while(on_loop)
    assert blocked_gap >= one_hash * 0.9  # hashing on the loop freezes it

    async def off_loop() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(passwords.hash, "first")
            nursery.start_soon(passwords.hash, "second")

    gap, took = await longest_gap_while(off_loop)
    # the loop kept ticking all through the hashing (timings vary with the machine's load:
    # compare with how long this very run took)
    assert gap < took / 3, (gap, took)


async def test_concurrent_hashes_are_bounded_by_hash_threads(make_app) -> None:
    app = make_app('hash_profile = "test"\nmemory_cost = 8192\nhash_threads = 1')
    passwords = app.extensions["accounts"].passwords
    assert passwords.limiter.total_tokens == 1
    most = 0

    async def watch() -> None:
        nonlocal most
        while True:
            most = max(most, passwords.limiter.borrowed_tokens)
            await trio.sleep(0)

    async with trio.open_nursery() as outer:
        outer.start_soon(watch)
        async with trio.open_nursery() as nursery:
            for i in range(4):
                nursery.start_soon(passwords.hash, f"pw{i}")
        outer.cancel_scope.cancel()
    assert most == 1


async def test_authenticate_rehashes_when_the_parameters_changed(make_app) -> None:
    old_app = make_app('hash_profile = "test"')
    async with old_app.running():
        old_hash = await hash_password("s3cret")
    new_app = make_app('hash_profile = "test"\ntime_cost = 2')
    async with new_app.running():
        assert needs_rehash(old_hash)
        user = SimpleNamespace(password_hash=old_hash)
        wrong = await authenticate(user, "nope")
        assert not wrong and not wrong.rehashed and user.password_hash == old_hash

        result = await authenticate(user, "s3cret")
        assert result and result.rehashed
        assert user.password_hash == result.new_hash != old_hash
        assert ",t=2," in user.password_hash
        assert await verify_password(user.password_hash, "s3cret")
        assert not needs_rehash(user.password_hash)

        again = await authenticate(user, "s3cret")
        assert again and not again.rehashed
        assert not await authenticate(None, "s3cret")


async def test_settings_are_checked(make_app) -> None:
    with pytest.raises(ConfigError, match=r"memory_cost must be at least 8 KiB per lane \(16"):
        make_app('parallelism = 2\nmemory_cost = 15')
    with pytest.raises(ConfigError, match="hash_threads and max_password_bytes"):
        make_app('hash_threads = 0')
    with pytest.raises(ConfigError, match=r"secret_key is not set.*production.*rum secret-key"):
        make_app(general='env = "production"')
    test_env = make_app(general='env = "test"\nsecret_key = "' + "ab" * 32 + '"', accounts="")
    assert accounts(test_env).passwords.parameters.time_cost == 1  # the cheap profile
    dev = make_app(general="", accounts="")
    assert accounts(dev).passwords.parameters.memory_cost == 65536


async def test_the_functions_say_what_is_missing(tmp_path) -> None:
    with pytest.raises(RumError, match="need a running app"):
        await hash_password("x")
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["sessions"]\n')
    async with App([], root=tmp_path).running():
        with pytest.raises(RumError, match='add "accounts" to \\[plugins\\] enabled'):
            await verify_password("x", "y")

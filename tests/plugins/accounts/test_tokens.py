"""Signed, time-limited tokens: round trip, expiry, tampering, purpose, password change, key
rotation."""

from __future__ import annotations

import base64
import json
import time

import pytest

from rum_accounts import (
    TokenExpired,
    TokenInvalid,
    TokenPurposeMismatch,
    TokenSigner,
    accounts,
    hash_password,
    make_token,
    read_token,
)

KEY = bytes(range(32))


async def test_round_trip_in_a_running_app(make_app) -> None:
    async with make_app().running():
        stored = await hash_password("pw")
        token = make_token("password_reset", 42, expires_in=3600, password_hash=stored)
        found = read_token(token, "password_reset", password_hash=stored)
        assert (found.purpose, found.subject) == ("password_reset", 42)
        assert found.expires_at == pytest.approx(time.time() + 3600, abs=2)
        assert "pw" not in token and stored not in token
        assert read_token(make_token("confirm", "u-1", expires_in=5), "confirm").subject == "u-1"


def test_expiry() -> None:
    signer = TokenSigner([KEY])
    token = signer.make("confirm", 1, expires_in=60, now=1000.0)
    assert signer.read(token, "confirm", now=1059.0).subject == 1
    with pytest.raises(TokenExpired, match="expired 1 s ago; ask for a new one"):
        signer.read(token, "confirm", now=1060.0)


def test_tampering_is_refused() -> None:
    signer = TokenSigner([KEY])
    token = signer.make("password_reset", 1, expires_in=60)
    payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["s"] = 2  # someone else's account
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    for bad in (f"{forged}.{signature}", f"{payload}.{signature[:-1]}A" if signature[-1] != "A"
                else f"{payload}.{signature[:-1]}B", token + "x", token.replace(".", ""),
                "", "a.b.c", "é.é", "x" * 5000):
        with pytest.raises(TokenInvalid):
            signer.read(bad, "password_reset")
    with pytest.raises(TokenInvalid, match="signed with another secret key"):
        TokenSigner([bytes(32)]).read(token, "password_reset")


def test_a_token_for_one_purpose_is_refused_for_another() -> None:
    signer = TokenSigner([KEY])
    token = signer.make("confirm_email", 1, expires_in=60)
    with pytest.raises(TokenPurposeMismatch, match="made for 'confirm_email', not "
                                                   "'password_reset'"):
        signer.read(token, "password_reset")


async def test_a_password_change_voids_the_token(make_app) -> None:
    async with make_app().running():
        first = await hash_password("old password")
        token = make_token("password_reset", 7, expires_in=600, password_hash=first)
        second = await hash_password("new password")
        with pytest.raises(TokenInvalid, match="password has changed"):
            read_token(token, "password_reset", password_hash=second)
        # two steps: read, load the account, then check its current hash
        found = read_token(token, "password_reset")
        found.check_password_hash(first)
        with pytest.raises(TokenInvalid):
            found.check_password_hash(second)
        unbound = read_token(make_token("password_reset", 7, expires_in=60), "password_reset")
        with pytest.raises(TokenInvalid):  # a token without a hash can't pass the check
            unbound.check_password_hash(first)


async def test_old_secret_keys_still_read_tokens(make_app) -> None:
    old_app = make_app(general='secret_key = "' + "cd" * 32 + '"')
    token = accounts(old_app).signer.make("confirm", 3, expires_in=60, password_hash="h")
    rotated = make_app(extra='[sessions]\nold_secret_keys = ["' + "cd" * 32 + '"]')
    assert accounts(rotated).signer.read(token, "confirm", password_hash="h").subject == 3
    with pytest.raises(TokenInvalid, match="another secret key"):
        accounts(make_app()).signer.read(token, "confirm")


def test_bad_arguments_name_the_fix() -> None:
    signer = TokenSigner([KEY])
    with pytest.raises(ValueError, match="positive number of seconds"):
        signer.make("confirm", 1, expires_in=0)
    with pytest.raises(ValueError, match="needs a purpose"):
        signer.make("", 1, expires_in=5)
    with pytest.raises(TypeError, match="str or an int"):
        signer.make("confirm", 1.5, expires_in=5)  # type: ignore[arg-type]

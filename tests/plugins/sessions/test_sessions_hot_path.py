"""The per-request shortcuts of the sessions plugin (issue 16) give what the general code
gives: a lone session cookie read without parsing ``request.cookies``, sessions built without
the keyword call, cached cookies' data copied without ``json.loads``."""

from __future__ import annotations

import pytest

from rum import Request
from rum_sessions.cookie import CACHE_ENTRIES, CACHE_MAX_VALUE
from rum_sessions.manager import SessionManager
from rum_sessions.session import Session

KEY = bytes.fromhex("5a" * 32)


def request(cookie: str | None) -> Request:
    headers = {"host": "example.test", **({"cookie": cookie} if cookie is not None else {})}
    return Request.from_target("GET", "/", headers=headers)


def state(session: Session) -> dict[str, object]:
    return {name: getattr(session, name) for name in Session.__slots__}


def test_make_builds_what_the_constructor_builds() -> None:
    assert state(Session._make(None, None, {}, None, 12.0, True, False)) == \
        state(Session(expires_at=12.0))
    data = {"cart": [1, 2]}
    assert state(Session._make("sid", 7, data, "c", 99.0, False, True)) == \
        state(Session(id="sid", user_id=7, data=data, csrf="c", expires_at=99.0, is_new=False,
                      had_cookie=True))


@pytest.fixture
def manager() -> SessionManager:
    return SessionManager(keys=[KEY], clock=lambda: 1000.0)


@pytest.fixture
def value(manager: SessionManager) -> str:
    session = manager.new_session(user_id=3)
    session["cart"] = [1, {"n": 2}]
    return manager.cookie_header(session).split(";", 1)[0].split("=", 1)[1]


@pytest.mark.parametrize("shape", [
    "rum_session={v}", "  rum_session={v}  ", "rum_session={v}; other=1",
    "other=1; rum_session={v}",
    "rum_session={v}; rum_session=second", 'rum_session="{v}"', "rum_session =  {v}",
    "rum_session=", "rum_session", "other=1", "", "rum_sessionx={v}", "rum_session={v}x",
])
def test_lone_cookie_shortcut_reads_what_request_cookies_reads(
        manager: SessionManager, value: str, shape: str) -> None:
    header = shape.format(v=value)
    fast = manager.load(request(header))
    # the same header again, in a new string: read through the header -> value map
    again = manager.load(request((header + " ")[:-1]))
    parsed = request(header)
    raw = parsed.cookies.get("rum_session")
    if raw and (slow := manager.codec.decode(raw, 1000.0)) is not None:
        expected = state(slow)
    else:
        expected = state(manager.new_session(had_cookie=raw is not None))
    assert state(fast) == expected
    assert state(again) == expected


def test_lone_cookie_headers_map_is_bounded_and_follows_the_header(
        manager: SessionManager, value: str) -> None:
    other = manager.new_session(user_id=4)
    other_value = manager.cookie_header(other).split(";", 1)[0].split("=", 1)[1]
    assert manager.load(request(f"rum_session={value}")).user_id == 3
    assert manager.load(request(f"rum_session={other_value}")).user_id == 4
    assert manager.load(request(f"rum_session={value}")).user_id == 3
    assert manager.load(request(f"rum_session={value}x")).is_new  # a changed value is read anew
    for i in range(CACHE_ENTRIES + 10):  # many browsers (or a client making up cookies)
        assert manager.load(request(f"rum_session=junk{i}")).is_new
    assert len(manager._lone_values) <= CACHE_ENTRIES
    huge = "x" * (CACHE_MAX_VALUE + 1)
    assert manager.load(request(f"rum_session={huge}")).had_cookie
    assert f"rum_session={huge}" not in manager._lone_values
    assert manager.load(request(f"rum_session={value}")).user_id == 3


def test_no_cookie_is_a_new_unused_session(manager: SessionManager) -> None:
    session = manager.load(request(None))
    assert state(session) == state(manager.new_session())
    assert session.is_new and not session.had_cookie and session.expires_at == 1000.0 + 4 * 86400


def test_cached_cookie_gives_each_request_its_own_copy_of_the_data(
        manager: SessionManager, value: str) -> None:
    first = manager.load(request(f"rum_session={value}"))  # opened, then cached
    first["cart"][1]["n"] = 99
    first["cart"].append(3)
    again = manager.load(request(f"rum_session={value}"))  # from the cache
    assert again.data == {"cart": [1, {"n": 2}]} and again.user_id == 3 and not again.is_new
    assert again.data is not first.data

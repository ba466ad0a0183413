"""Log-in throttling over a real socket: failures per account and per client address lock
with 429 + Retry-After; success clears the account's count; the window ends the lock. The
database store shares counts between two apps (as between two processes) on PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from rum import ConfigError, Controller, Response
from rum_accounts import LoginThrottle, hash_password, login_throttle, verify_password
from rum_http.testing import serve_app
from rum_orm import Migrator

ACCOUNTS: dict[str, str] = {}


class Login(Controller):
    csrf_exempt = True

    async def post(self, request):
        form = await request.form()
        email, password = form.get("email", ""), form.get("password", "")
        throttle = login_throttle()
        await throttle.check(request, email)  # 429 when locked
        if await verify_password(ACCOUNTS.get(email), password):
            await throttle.succeeded(request, email)
            return Response.text("welcome")
        await throttle.failed(request, email)
        return Response.text("wrong e-mail or password", status=401)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def server(make_app):
    app = make_app('hash_profile = "test"\nmax_failures_per_account = 3\n'
                   "max_failures_per_client = 5\nthrottle_window = 60",
                   routes=[Login.route("/login")])
    clock = Clock()
    app.extensions["accounts"].throttle.store.clock = clock
    async with app.running():
        ACCOUNTS["ann@example.com"] = await hash_password("ann's password")
        ACCOUNTS["bob@example.com"] = await hash_password("bob's password")
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        yield client, clock
    ACCOUNTS.clear()


async def log_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/login", data={"email": email, "password": password},
                             headers={"accept": "text/plain"})


async def test_an_account_locks_after_its_failures(server) -> None:
    client, clock = server
    for _ in range(3):
        assert (await log_in(client, "ann@example.com", "guess")).status_code == 401
    locked = await log_in(client, "ANN@example.com ", "ann's password")  # same account
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == "60"
    assert "too many failed log-in attempts for this account" in locked.text
    clock.now += 45
    assert (await log_in(client, "ann@example.com", "ann's password")).headers[
        "retry-after"] == "15"
    clock.now += 15  # the window is over
    assert (await log_in(client, "ann@example.com", "ann's password")).status_code == 200


async def test_a_success_clears_the_account_count(server) -> None:
    client, _ = server
    for _ in range(2):
        assert (await log_in(client, "ann@example.com", "guess")).status_code == 401
    assert (await log_in(client, "ann@example.com", "ann's password")).status_code == 200
    for _ in range(2):
        assert (await log_in(client, "ann@example.com", "guess")).status_code == 401
    assert (await log_in(client, "ann@example.com", "ann's password")).status_code == 200


async def test_one_address_trying_many_accounts_locks(server) -> None:
    client, _ = server
    for email in ("a@x.org", "b@x.org", "c@x.org", "d@x.org", "e@x.org"):
        assert (await log_in(client, email, "guess")).status_code == 401
    locked = await log_in(client, "bob@example.com", "bob's password")
    assert locked.status_code == 429
    assert "from your network address" in locked.text
    assert int(locked.headers["retry-after"]) == 60


async def test_an_ipv6_client_is_counted_by_its_64(make_app) -> None:
    # Through a trusted proxy, as a real deployment sees IPv6 clients: a client owns a whole
    # /64, and each of its addresses used to start a fresh count of failures.
    app = make_app('hash_profile = "test"\nmax_failures_per_client = 3\nthrottle_window = 60',
                   routes=[Login.route("/login")], extra='[http]\ntrusted_proxies = ["127.0.0.1"]',
                   plugins=("http", "sessions", "accounts"))
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        async def attempt(address: str, email: str) -> int:
            response = await client.post("/login", data={"email": email, "password": "x"},
                                         headers={"accept": "text/plain",
                                                  "x-forwarded-for": address})
            return response.status_code

        codes = [await attempt(f"2001:db8:7:7::{i}", f"user{i}@x.org") for i in range(1, 5)]
        assert codes == [401, 401, 401, 429]
        assert await attempt("2001:db8:7:8::1", "other@x.org") == 401   # another /64
        codes = [await attempt(a, f"{n}@x.org") for n, a in enumerate(
            ("198.51.100.9", "::ffff:198.51.100.9", "::ffff:c633:6409", "198.51.100.9"))]
        assert codes == [401, 401, 401, 429]


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="per_account >= 1"):
        LoginThrottle(per_account=0)


DATABASE_THROTTLE = ('hash_profile = "test"\nmax_failures_per_account = 3\n'
                     'max_failures_per_client = 50\nthrottle_window = 60\n'
                     'throttle_store = "database"')


async def test_the_database_store_is_shared_between_processes(make_app, database_url) -> None:
    """Two apps on one database stand for two worker processes: failures counted by one
    lock the account in the other; the rows hold digests, not addresses; the window ends."""
    extra = f'[database]\nurl = "{database_url}"\n'
    first, second = (make_app(DATABASE_THROTTLE, routes=[Login.route("/login")], extra=extra,
                              plugins=("orm", "sessions", "accounts")) for _ in range(2))
    async with first.running():
        await Migrator.for_app(first).run()  # the store's table comes with the migrations
        ACCOUNTS["ann@example.com"] = await hash_password("ann's password")
    try:
        async with serve_app(first) as one, serve_app(second) as two, \
                httpx.AsyncClient() as client:
            async def log_in_at(url: str, password: str) -> httpx.Response:
                return await client.post(url + "/login", headers={"accept": "text/plain"},
                                         data={"email": "ann@example.com",
                                               "password": password})

            for url in (one, two, one):
                assert (await log_in_at(url, "guess")).status_code == 401
            locked = await log_in_at(two, "ann's password")
            assert locked.status_code == 429
            assert 55 <= int(locked.headers["retry-after"]) <= 60
            rows = await first.storage.fetch(
                "SELECT scope, key, failures FROM rum_accounts_login_failures ORDER BY scope")
            assert [(r["scope"], r["failures"]) for r in rows] == [("account", 3),
                                                                    ("client", 3)]
            assert all(len(r["key"]) == 64 and "@" not in r["key"] for r in rows)
            await first.storage.execute(  # a minute later: the window is over
                "UPDATE rum_accounts_login_failures "
                "SET window_start = window_start - interval '61 seconds'")
            assert (await log_in_at(one, "ann's password")).status_code == 200
            assert await first.storage.fetchval(
                "SELECT count(*) FROM rum_accounts_login_failures "
                "WHERE scope = 'account'") == 0  # a success clears the account's count
    finally:
        ACCOUNTS.clear()


def test_the_database_store_needs_the_orm(make_app) -> None:
    with pytest.raises(ConfigError, match='throttle_store = "database" needs the orm plugin'):
        make_app('throttle_store = "database"')

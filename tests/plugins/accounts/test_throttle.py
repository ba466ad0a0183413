"""Log-in throttling over a real socket: failures per account and per client address lock
with 429 + Retry-After; success clears the account's count; the window ends the lock."""

from __future__ import annotations

import httpx
import pytest

from rum import Controller, Response
from rum_accounts import LoginThrottle, hash_password, login_throttle, verify_password
from rum_http.testing import serve_app

ACCOUNTS: dict[str, str] = {}


class Login(Controller):
    csrf_exempt = True

    async def post(self, request):
        form = await request.form()
        email, password = form.get("email", ""), form.get("password", "")
        throttle = login_throttle()
        throttle.check(request, email)  # 429 when locked
        if await verify_password(ACCOUNTS.get(email), password):
            throttle.succeeded(request, email)
            return Response.text("welcome")
        throttle.failed(request, email)
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
    app.extensions["accounts"].throttle.clock = clock
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


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="per_account >= 1"):
        LoginThrottle(per_account=0)

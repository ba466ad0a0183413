"""The rate limiter over a real socket: 429 with Retry-After, headers, recovery, scopes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from rum import App, ConfigError, Controller, Request, Response
from rum_ratelimit import RateLimiter

WINDOW = 0.4


class Limited(Controller):
    limiter: RateLimiter | None = None

    def middleware(self) -> list[Any]:
        return [self.limiter] if self.limiter else []

    async def get(self, request: Request) -> Response:
        return Response.text("ok")


def limited(path: str, limiter: RateLimiter) -> Any:
    return type("L", (Limited,), {"limiter": limiter}).route(path)


class Plain(Controller):
    async def get(self, request: Request) -> Response:
        return Response.text("plain")


def make_app(tmp_path: Path, routes: list[Any], plugins: tuple[str, ...] = (),
             **config: Any) -> App:
    return App(routes, plugins=["http", *plugins], root=tmp_path, env="development",
               config=config or None)


async def test_429_with_retry_after_then_recovery_after_the_window(tmp_path: Path,
                                                                   browser) -> None:
    app = make_app(tmp_path, [limited("/", RateLimiter(rate=3, window=WINDOW)),
                              Plain.route("/free")])
    async with browser(app) as client:
        remaining = []
        for _ in range(3):
            ok = await client.get("/")
            assert ok.status_code == 200
            assert ok.headers["ratelimit-limit"] == "3"
            remaining.append(ok.headers["ratelimit-remaining"])
            assert int(ok.headers["ratelimit-reset"]) >= 1
        assert remaining == ["2", "1", "0"]

        refused = await client.get("/")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["ratelimit-remaining"] == "0"
        assert "too many requests: at most 3 per 0.4 seconds" in refused.text
        as_json = await client.get("/", headers={"accept": "application/json"})
        assert as_json.status_code == 429
        assert as_json.json()["status"] == 429

        free = await client.get("/free")  # other controllers are not limited
        assert free.status_code == 200
        assert "ratelimit-limit" not in free.headers

        await trio.sleep(WINDOW + 0.05)
        again = await client.get("/")
        assert again.status_code == 200
        assert again.headers["ratelimit-remaining"] == "2"  # a whole window: bucket refilled


async def test_burst_then_steady_rate(tmp_path: Path) -> None:
    now = [1000.0]
    limiter = RateLimiter(rate=2, window=1.0, burst=5, key=lambda r: "k",
                          clock=lambda: now[0])
    app = make_app(tmp_path, [limited("/", limiter)])
    async with app.test_client() as client:
        statuses = [(await client.get("/")).status for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        now[0] += 0.5  # 2 per second: one token after half a second
        assert (await client.get("/")).status == 200
        refused = await client.get("/")
        assert refused.status == 429
        assert refused.headers["retry-after"] == "1"
        now[0] += 0.25
        assert (await client.get("/")).status == 429
        now[0] += 0.25
        assert (await client.get("/")).status == 200


async def test_keys_are_counted_separately(tmp_path: Path, browser) -> None:
    limiter = RateLimiter(rate=1, window=60, key=lambda r: r.headers.get("x-user") or "-")
    async with browser(make_app(tmp_path, [limited("/", limiter)])) as client:
        assert (await client.get("/", headers={"x-user": "a"})).status_code == 200
        assert (await client.get("/", headers={"x-user": "a"})).status_code == 429
        assert (await client.get("/", headers={"x-user": "b"})).status_code == 200


class LogIn(Controller):
    """``/login/<id>`` logs the browser in as ``id``; ``/mint`` hands out an anonymous
    session cookie (any page that stores the session does)."""

    async def get(self, request: Request) -> Response:
        from rum_sessions import login

        if "id" in request.path_params:
            return await login(request, request.path_params["id"], Response.text("in"))
        request.session["seen"] = True
        return Response.text("cookie")


async def test_per_session(tmp_path: Path, browser) -> None:
    app = make_app(tmp_path, [limited("/", RateLimiter(per="session", rate=2, window=60)),
                              LogIn.route("/login/<int:id>"), LogIn.route("/mint")],
                   plugins=("sessions",), general={"secret_key": "44" * 32})
    async with browser(app) as alice, browser(app) as bob:
        await alice.get("/login/1")
        await bob.get("/login/2")
        assert [(await alice.get("/")).status_code for _ in range(3)] == [200, 200, 429]
        assert [(await bob.get("/")).status_code for _ in range(3)] == [200, 200, 429]
        await alice.get("/login/1")   # a new session for the same user: the same count
        assert (await alice.get("/")).status_code == 429
    # Anonymous sessions are free to get: a fresh cookie before each request used to start a
    # fresh bucket every time. Visitors who are not logged in are counted by address.
    codes = []
    for _ in range(4):
        async with browser(app) as stranger:
            await stranger.get("/mint")
            codes.append((await stranger.get("/")).status_code)
    assert codes == [200, 200, 429, 429]

    no_sessions = make_app(tmp_path, [limited("/", RateLimiter(per="session"))])
    async with no_sessions.test_client() as client:
        response = await client.get("/", headers={"accept": "application/json"})
    assert response.status == 500
    assert "needs request.session" in response.json_body()["detail"]


async def test_an_ipv6_client_is_counted_by_its_64_and_mapped_ipv4_as_ipv4(
        tmp_path: Path, browser) -> None:
    # Through a trusted proxy, as a real deployment sees IPv6 clients: a client owns a whole
    # /64 and used to get a fresh bucket from each of its 2**64 addresses.
    app = make_app(tmp_path, [limited("/", RateLimiter(rate=2, window=60))],
                   http={"trusted_proxies": ["127.0.0.1"]})
    async with browser(app) as client:
        codes = [(await client.get("/", headers={"x-forwarded-for": f"2001:db8:1:2::{i}"})
                  ).status_code for i in range(1, 4)]
        assert codes == [200, 200, 429]
        other = await client.get("/", headers={"x-forwarded-for": "2001:db8:1:3::1"})
        assert other.status_code == 200     # the next /64: someone else
        codes = [(await client.get("/", headers={"x-forwarded-for": address})).status_code
                 for address in ("198.51.100.7", "::ffff:198.51.100.7", "::ffff:c633:6407")]
        assert codes == [200, 200, 429]


async def test_app_wide_from_config_with_tightest_headers(tmp_path: Path, browser) -> None:
    app = make_app(tmp_path, [Plain.route("/"), Plain.route("/health"),
                              limited("/tight", RateLimiter(rate=1, window=60))],
                   plugins=("ratelimit",),
                   ratelimit={"rate": 3, "window": 60, "exempt_paths": ["/health"]})
    async with browser(app) as client:
        first = await client.get("/")
        assert first.headers["ratelimit-limit"] == "3"
        assert first.headers["ratelimit-remaining"] == "2"
        tight = await client.get("/tight")
        assert tight.headers["ratelimit-limit"] == "1"  # the controller's limit is tighter
        assert tight.headers["ratelimit-remaining"] == "0"
        assert (await client.get("/tight")).status_code == 429  # controller limit
        for _ in range(3):
            health = await client.get("/health")
            assert health.status_code == 200
            assert "ratelimit-limit" not in health.headers
        refused = await client.get("/")  # 3 taken by /, /tight, /tight
        assert refused.status_code == 429
        assert refused.headers["ratelimit-limit"] == "3"
        assert int(refused.headers["retry-after"]) == 20


async def test_two_apps_do_not_share_buckets(tmp_path: Path) -> None:
    shared = RateLimiter(rate=1, window=60)
    app_a = make_app(tmp_path, [limited("/", shared)])
    app_b = make_app(tmp_path, [limited("/", shared)])
    async with app_a.test_client() as a, app_b.test_client() as b:
        assert (await a.get("/")).status == 200
        assert (await a.get("/")).status == 429
        assert (await b.get("/")).status == 200


async def test_bad_settings_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="per='ip'"):
        RateLimiter(per="ip")
    with pytest.raises(ValueError, match="rate >= 1"):
        RateLimiter(rate=0)
    with pytest.raises(ConfigError, match=r"\[ratelimit\].*window > 0"):
        make_app(tmp_path, [], plugins=("ratelimit",), ratelimit={"rate": 5, "window": 0})
    with pytest.raises(ConfigError, match="per must be one of"):
        make_app(tmp_path, [], plugins=("ratelimit",), ratelimit={"rate": 5, "per": "ip"})


def test_idle_buckets_are_pruned() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=10, window=1.0, clock=lambda: now[0])
    from rum_ratelimit.limiter import Buckets

    buckets = Buckets()
    for i in range(1024):
        limiter.take(buckets, f"client-{i}")
    assert len(buckets.table) == 1024
    now[0] += 2.0  # every bucket has refilled
    limiter.take(buckets, "newcomer")
    assert list(buckets.table) == ["newcomer"]

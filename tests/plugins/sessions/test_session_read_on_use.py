"""``request.session`` is read from the cookie on first use, and ``request.user`` is the
session's user worked out only when something reads it (a :class:`rum.LazyUser`): a request
that touches neither costs no cookie parsing, no decryption and no ``Session`` object, as in
Rails and Django. What the laziness changes, and what it must not change, over a real socket
(the rum_http server) with httpx as the browser.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx

from rum import App, Controller, Request, Response
from rum_http.testing import serve_app
from rum_sessions import SessionAuth, csrf_input

SECRET = "77" * 32
COOKIE = "rum_session"


class Untouched(Controller):
    """Reads neither the session nor the user."""

    async def get(self, request: Request) -> Response:
        return Response.text("static-ish")

    async def post(self, request: Request) -> Response:
        return Response.text("posted")


class Who(Controller):
    """Reads only ``request.user``."""

    async def get(self, request: Request) -> Response:
        return Response.json({"user": request.user})


class Both(Controller):
    async def get(self, request: Request) -> Response:
        return Response.json({"user": request.user, "id": request.session.id,
                              "cart": request.session.get("cart")})


class Private(Controller):
    def auth(self) -> SessionAuth:
        return SessionAuth()

    async def get(self, request: Request) -> Response:
        return Response.text(f"hello {request.user}")


class Login(Controller):
    async def get(self, request: Request) -> Response:
        return Response.html(f'<form method="post">{csrf_input(request)}</form>')

    async def post(self, request: Request) -> Response:
        return await request.login(int((await request.form())["user_id"]))


def make_app(tmp_path: Path, **sessions: Any) -> App:
    routes = [Untouched.route("/plain"), Who.route("/who"), Both.route("/both"),
              Private.route("/private"), Login.route("/login")]
    return App(routes, plugins=["http", "sessions"], root=tmp_path, env="development",
               config={"general": {"secret_key": SECRET}, "sessions": sessions})


def counting_loads(app: App) -> list[int]:
    """Count the manager's cookie reads (``request.session``'s loader)."""
    manager = app.extensions["sessions"]
    calls = [0]
    load = manager.load

    def counted(request: Request) -> Any:
        calls[0] += 1
        return load(request)

    manager.load = counted
    return calls


def session_cookies(response: httpx.Response) -> list[str]:
    return [h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE + "=")]


async def log_in(client: httpx.AsyncClient, user_id: int) -> str:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    answer = await client.post("/login", data={"user_id": str(user_id),
                                               "csrf_token": token.group(1)})
    assert answer.status_code == 200, answer.text
    [header] = session_cookies(answer)
    return header.split(";", 1)[0].split("=", 1)[1]


async def test_a_page_that_reads_neither_never_opens_the_cookie(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        cookie = await log_in(client, 7)
        loads = counting_loads(app)
        plain = await client.get("/plain", headers={"cookie": f"{COOKIE}={cookie}"})
        assert plain.text == "static-ish" and not session_cookies(plain)
        assert loads[0] == 0
        who = await client.get("/who", headers={"cookie": f"{COOKIE}={cookie}"})
        assert who.json() == {"user": 7} and loads[0] == 1
        both = await client.get("/both", headers={"cookie": f"{COOKIE}={cookie}"})
        assert both.json()["user"] == 7 and loads[0] == 2  # one read per request, not two
        assert (await client.get("/private",
                                 headers={"cookie": f"{COOKIE}={cookie}"})).text == "hello 7"
        assert loads[0] == 3
        anonymous = await client.get("/who", headers={"cookie": ""})
        assert anonymous.json() == {"user": None}


async def test_a_session_is_renewed_by_the_requests_that_use_it(tmp_path: Path) -> None:
    app = make_app(tmp_path, max_age=1000, renew_after=100)
    manager = app.extensions["sessions"]
    now = [time.time()]
    manager.clock = lambda: now[0]
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        cookie = await log_in(client, 3)
        now[0] += 150  # due for renewal
        untouched = await client.get("/plain", headers={"cookie": f"{COOKIE}={cookie}"})
        assert not session_cookies(untouched)  # not used: left as it is
        used = await client.get("/who", headers={"cookie": f"{COOKIE}={cookie}"})
        [renewed] = session_cookies(used)
        assert "Max-Age=1000" in renewed and used.json() == {"user": 3}


async def test_an_unreadable_cookie_is_deleted_by_the_first_request_that_reads_it(
        tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        bad = {"cookie": f"{COOKIE}=garbage-from-elsewhere"}
        assert not session_cookies(await client.get("/plain", headers=bad))
        who = await client.get("/who", headers=bad)
        [header] = session_cookies(who)
        assert who.json() == {"user": None} and "Max-Age=0" in header


async def test_csrf_is_checked_on_posts_that_never_read_the_session(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        cookie = await log_in(client, 4)
        refused = await client.post("/plain", data={"x": "1"},
                                    headers={"cookie": f"{COOKIE}={cookie}",
                                             "origin": base})
        assert refused.status_code == 403, refused.text


async def test_anonymous_true_still_gives_a_new_visitor_a_cookie_on_any_page(
        tmp_path: Path) -> None:
    app = make_app(tmp_path, anonymous=True)
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        assert len(session_cookies(await client.get("/plain"))) == 1

"""Sessions are stored lazily (issue 16): a visitor without a cookie gets ``request.session``
but no ``Set-Cookie`` until the session is used (data written, a CSRF token rendered, a
login), so an anonymous page costs no encryption and its response head stays cacheable.
``[sessions] anonymous = true`` brings back the cookie on every new visitor's first page.

Over a real socket (the rum_http server) with httpx as the browser.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from rum import App, Controller, Request, Response
from rum_http.testing import serve_app

SECRET = "66" * 32
COOKIE = "rum_session"


class Plain(Controller):
    async def get(self, request: Request) -> Response:
        session = request.session
        return Response.json({"id": session.id, "anonymous": session.is_anonymous,
                              "cart": session.get("cart")})


class AddToCart(Controller):
    csrf_exempt = True

    async def post(self, request: Request) -> Response:
        request.session["cart"] = [*request.session.get("cart", []), "rum"]
        return Response.json({"cart": request.session["cart"]})


class FormPage(Controller):
    async def get(self, request: Request) -> Response:
        return await self.render("form.html")

    async def post(self, request: Request) -> Response:
        return Response.text("posted")


class TemplatePage(Controller):
    async def get(self, request: Request) -> Response:
        return await self.render("plain.html", who="visitor")


def make_app(tmp_path: Path, **sessions: Any) -> App:
    templates = tmp_path / "templates"
    templates.mkdir(exist_ok=True)
    (templates / "form.html").write_text(
        '<form method="post"><%- csrf_input %><button>go</button></form>\n')
    (templates / "plain.html").write_text("<p>hello <%= who %></p>\n")
    routes = [Plain.route("/"), AddToCart.route("/cart"), FormPage.route("/form"),
              TemplatePage.route("/page")]
    return App(routes, plugins=["http", "sessions", "templates"], root=tmp_path,
               env="development", config={"general": {"secret_key": SECRET},
                                          "sessions": sessions})


def session_cookies(response: httpx.Response) -> list[str]:
    return [h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE + "=")]


async def test_an_unused_session_sets_no_cookie(tmp_path: Path) -> None:
    async with serve_app(make_app(tmp_path)) as base, httpx.AsyncClient(base_url=base) as client:
        for path in ("/", "/page", "/"):
            response = await client.get(path)
            assert response.status_code == 200, response.text
            assert response.headers.get_list("set-cookie") == [], path
        first, second = (await client.get("/")).json(), (await client.get("/")).json()
        assert first["anonymous"] is True and first["cart"] is None
        assert first["id"] != second["id"]  # never stored: each request's session is new
        assert not client.cookies


async def test_writing_to_the_session_stores_it(tmp_path: Path) -> None:
    async with serve_app(make_app(tmp_path)) as base, httpx.AsyncClient(base_url=base) as client:
        added = await client.post("/cart")
        assert added.json() == {"cart": ["rum"]}
        assert len(session_cookies(added)) == 1 and "Max-Age=345600" in added.headers["set-cookie"]
        first = (await client.get("/")).json()
        again = await client.get("/")
        assert again.json() == first and first["cart"] == ["rum"]  # same session, read back
        assert again.headers.get_list("set-cookie") == []  # unchanged: no cookie re-sent
        more = await client.post("/cart")
        assert more.json() == {"cart": ["rum", "rum"]} and session_cookies(more)


async def test_a_form_page_stores_the_session_that_carries_its_csrf_token(tmp_path: Path) -> None:
    async with serve_app(make_app(tmp_path)) as base:
        async with httpx.AsyncClient(base_url=base) as curl:  # no page loaded first
            forged = await curl.post("/form", data={"csrf_token": "x"})
            assert forged.status_code == 403 and "no session cookie" in forged.text
        async with httpx.AsyncClient(base_url=base) as browser:
            page = await browser.get("/form")
            assert len(session_cookies(page)) == 1  # the token's secret lives in the session
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token is not None, page.text
            posted = await browser.post("/form", data={"csrf_token": token.group(1)})
            assert posted.status_code == 200 and posted.text == "posted"
            wrong = await browser.post("/form", data={"csrf_token": "AAAA"})
            assert wrong.status_code == 403 and "invalid" in wrong.text
            again = await browser.get("/form")  # the secret exists: no new cookie
            assert again.headers.get_list("set-cookie") == []


async def test_an_unreadable_cookie_is_deleted_not_replaced(tmp_path: Path) -> None:
    async with serve_app(make_app(tmp_path)) as base, httpx.AsyncClient(base_url=base) as client:
        response = await client.get("/", headers={"cookie": f"{COOKIE}=garbage-from-elsewhere"})
        assert response.status_code == 200 and response.json()["anonymous"] is True
        [header] = response.headers.get_list("set-cookie")
        assert header.startswith(f"{COOKIE}=;") and "Max-Age=0" in header


async def test_anonymous_true_sends_a_cookie_to_every_new_visitor(tmp_path: Path) -> None:
    app = make_app(tmp_path, anonymous=True)
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        first = await client.get("/")
        assert len(session_cookies(first)) == 1
        assert (await client.get("/")).json()["id"] == first.json()["id"]  # stored at once

"""CSRF protection for session-authenticated form posts, and the "session" auth handler."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx

from rum import App, Controller, Request, Response
from rum_sessions import csrf_input, csrf_token

SECRET = "33" * 32


class Form(Controller):
    async def get(self, request: Request) -> Response:
        return Response.html(f'<form method="post">{csrf_input(request)}</form>')

    async def post(self, request: Request) -> Response:
        form = await request.form()
        return Response.text(f"saved {form.get('title', '')}")


class Api(Controller):
    async def handle(self, request: Request) -> Response:
        return Response.json({"ok": request.method})


class Webhook(Controller):
    csrf_exempt = True

    async def post(self, request: Request) -> Response:
        return Response.text("hook received")


class Token(Controller):
    async def get(self, request: Request) -> Response:
        return Response.text(csrf_token(request))


class Members(Controller):
    def auth(self) -> str:
        return "session"

    async def get(self, request: Request) -> Response:
        return Response.text("members only")


def make_app(tmp_path: Path, **sessions: Any) -> App:
    routes = [Form.route("/form"), Api.route("/api"), Webhook.route("/hook"),
              Token.route("/token"), Members.route("/members")]
    return App(routes, plugins=["http", "sessions", "forms"], root=tmp_path, env="development",
               config={"general": {"secret_key": SECRET}, "sessions": sessions})


def form_token(html: str) -> str:
    match = re.search(r'<input type="hidden" name="csrf_token" value="([^"]+)">', html)
    assert match, html
    return match.group(1)


async def test_unsafe_requests_need_the_token(tmp_path: Path, browser) -> None:
    async with browser(make_app(tmp_path)) as client:
        token = form_token((await client.get("/form")).text)

        missing = await client.post("/form", data={"title": "x"})
        assert missing.status_code == 403
        assert "CSRF token is missing" in missing.text
        assert "csrf_token" in missing.text

        as_json = await client.post("/api", json={}, headers={"accept": "application/json"})
        assert as_json.status_code == 403
        assert "CSRF check failed for POST /api" in as_json.json()["detail"]

        ok = await client.post("/form", data={"title": "hello", "csrf_token": token})
        assert ok.status_code == 200
        assert ok.text == "saved hello"
        multipart = await client.post("/form", data={"title": "m", "csrf_token": token},
                                      files={"f": ("a.txt", b"abc")})
        assert multipart.text == "saved m"

        header = await client.post("/api", json={}, headers={"x-csrf-token": token})
        assert header.status_code == 200
        for method in ("PUT", "PATCH", "DELETE"):
            assert (await client.request(method, "/api")).status_code == 403, method
            allowed = await client.request(method, "/api", headers={"x-csrf-token": token})
            assert allowed.json() == {"ok": method}
        for method in ("GET", "HEAD", "OPTIONS"):  # safe methods are never checked
            assert (await client.request(method, "/api")).status_code == 200, method

        # every render gives a different token, all valid for the session
        second = form_token((await client.get("/form")).text)
        assert second != token
        assert (await client.post("/api", headers={"x-csrf-token": second})).status_code == 200


async def test_tokens_of_another_session_or_garbage_are_refused(tmp_path: Path,
                                                                browser) -> None:
    app = make_app(tmp_path)
    async with browser(app) as alice, browser(app) as mallory:
        alice_token = form_token((await alice.get("/form")).text)
        mallory_token = form_token((await mallory.get("/form")).text)
        for bad in (mallory_token, "garbage", alice_token[:-4], alice_token + "AAAA"):
            refused = await alice.post("/form", data={"csrf_token": bad})
            assert refused.status_code == 403, bad
            assert "invalid for this session" in refused.text
        assert (await alice.post("/form", data={"csrf_token": alice_token})).status_code == 200


async def test_exemptions(tmp_path: Path, browser) -> None:
    app = make_app(tmp_path)
    async with browser(app) as client:
        await client.get("/form")  # now the browser has a session cookie
        hook = await client.post("/hook", data={"event": "paid"})
        assert hook.status_code == 200
        assert hook.text == "hook received"
        bearer = await client.post("/api", headers={"authorization": "Bearer abc"})
        assert bearer.status_code == 200

    async with serve_base(app) as base, httpx.AsyncClient(base_url=base) as cookieless:
        # no session cookie: refused (login CSRF) unless exempt; see test_login_csrf.py
        refused = await cookieless.post("/form", data={"title": "t"})
        assert refused.status_code == 403 and "no session cookie" in refused.text
        cookieless.cookies.clear()
        assert (await cookieless.post("/hook", data={"event": "paid"})).status_code == 200
        cookieless.cookies.clear()
        bearer = await cookieless.post("/api", json={}, headers={"authorization": "Bearer x"})
        assert bearer.status_code == 200

    off = make_app(tmp_path, csrf=False)
    async with browser(off) as client:
        await client.get("/form")
        assert (await client.post("/form", data={"title": "t"})).status_code == 200


def serve_base(app: App):
    from rum_http.testing import serve_app

    return serve_app(app)


async def test_expired_session_explains_the_failure(tmp_path: Path, browser) -> None:
    app = make_app(tmp_path)
    async with browser(app) as client:
        token = form_token((await client.get("/form")).text)
        app.extensions["sessions"].clock = lambda: time.time() + 5 * 24 * 3600
        stale = await client.post("/form", data={"csrf_token": token})
    assert stale.status_code == 403
    assert "session expired" in stale.text


async def test_template_globals_are_lazy_and_valid(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.test_client() as client:
        await client.get("/form")
        cookie = f"rum_session={client.cookies['rum_session']}"
        request = Request("GET", "/", headers={"cookie": cookie})
        request.app = app
        request.session = app.extensions["sessions"].load(request)
        merged: dict[str, Any] = {}
        for part in app.plugins.hook.rum_template_globals(app=app, request=request):
            merged.update(part or {})
        assert set(merged) >= {"csrf_token", "csrf_input"}
        token = str(merged["csrf_token"])
        assert merged["csrf_input"].__html__().startswith('<input type="hidden" name="csrf_token"')
        assert (await client.post("/api", headers={"x-csrf-token": token})).status == 200
        outside = app.plugins.hook.rum_template_globals(app=app, request=None)
        assert not any(outside)  # no globals outside a request (sessions nor forms)


async def test_session_handler_by_name(tmp_path: Path, browser) -> None:
    async with browser(make_app(tmp_path)) as client:
        refused = await client.get("/members")
        assert refused.status_code == 403
        assert "log in" in refused.text

    async with browser(make_app(tmp_path, login_url="/sign-in")) as client:
        redirected = await client.get("/members")
        assert redirected.status_code == 302
        assert redirected.headers["location"] == "/sign-in"
        api = await client.get("/members", headers={"accept": "application/json"})
        assert api.status_code == 403  # fetch() callers get JSON, not a login page
        assert api.json()["detail"] == "you need to log in at /sign-in to see this page"

    app = make_app(tmp_path)
    handler = app.auth_handler("session", redirect_to="/elsewhere")
    assert handler.redirect_to == "/elsewhere"


async def test_templates_get_csrf_token_and_input(tmp_path: Path, browser) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "form.html").write_text(
        '<meta name="csrf-token" content="<%= csrf_token %>">\n'
        '<form method="post" action="/form"><%= csrf_input %><input name="title"></form>\n')

    class Page(Controller):
        async def get(self, request: Request) -> Response:
            return await self.render("form.html")

    app = App([Page.route("/page"), Form.route("/form")],
              plugins=["http", "sessions", "templates"], root=tmp_path, env="development",
              config={"general": {"secret_key": SECRET}})
    async with browser(app) as client:
        page = (await client.get("/page")).text
        meta = re.search(r'<meta name="csrf-token" content="([A-Za-z0-9_-]+)">', page)
        assert meta, page
        field = form_token(page)  # rendered as a real hidden input, not escaped text
        assert field != meta.group(1)
        assert (await client.post("/form", data={"title": "a", "csrf_token": field})
                ).text == "saved a"
        assert (await client.post("/form", headers={"x-csrf-token": meta.group(1)})
                ).status_code == 200
        assert (await client.post("/form", data={"title": "a"})).status_code == 403

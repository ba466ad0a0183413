"""Login CSRF, the Origin/Referer check, and which requests get a session cookie (issue 11).

Over a real socket: a cookie-less form post (``curl -X POST -d ... /login``) is refused; the
login page's GET gives the browser the cookie that carries the token; bearer-token requests
and API routes never get a new session cookie.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from rum import App, Controller, Request, Response
from rum_auth import TokenAuth
from rum_http.testing import serve_app
from rum_sessions import SessionAuth, csrf_input

SECRET = "44" * 32
COOKIE = "rum_session"


class Login(Controller):
    async def get(self, request: Request) -> Response:
        return Response.html(f'<form method="post">{csrf_input(request)}'
                             '<input name="email"><input name="password"></form>')

    async def post(self, request: Request) -> Response:
        form = await request.form()
        if form.get("password") != "rum-demo":
            return Response.html("wrong password", 401)
        return await request.login(form["email"], Response.redirect("/me", 303))


class Me(Controller):
    def auth(self) -> SessionAuth:
        return SessionAuth()

    async def get(self, request: Request) -> Response:
        return Response.text(f"you are {request.user}")


class Dashboard(Controller):
    def auth(self) -> SessionAuth:
        return SessionAuth.redirect("/login")

    async def get(self, request: Request) -> Response:
        return Response.text("dashboard")


class Page(Controller):
    async def handle(self, request: Request) -> Response:
        return Response.json({"method": request.method, "user": request.user})


class ApiThing(Controller):
    api = True

    async def handle(self, request: Request) -> Response:
        return Response.json({"method": request.method, "user": request.user})


class ApiLogin(Controller):
    api = True
    csrf_exempt = True

    async def post(self, request: Request) -> Response:
        return await request.login("api-user", Response.json({"ok": True}))


class Tokened(Controller):
    def auth(self) -> TokenAuth:
        return TokenAuth(tokens={"k-1": "bot"}, header="X-API-Key")

    async def get(self, request: Request) -> Response:
        return Response.text(f"hello {request.user}")


def make_app(tmp_path: Path, **sessions: Any) -> App:
    routes = [Login.route("/login"), Me.route("/me"), Page.route("/page"),
              ApiThing.route("/api/thing"), Page.route("/api/mounted", api=True),
              ApiLogin.route("/api/login"), Tokened.route("/tokened"),
              Dashboard.route("/dashboard"), Dashboard.route("/api/dashboard", api=True)]
    return App(routes, plugins=["http", "sessions", "auth"], root=tmp_path, env="development",
               config={"general": {"secret_key": SECRET}, "sessions": sessions})


def token_in(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def session_cookies(response: httpx.Response) -> list[str]:
    return [h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE + "=")]


@pytest.fixture
async def base(tmp_path: Path):
    async with serve_app(make_app(tmp_path)) as url:
        yield url


async def test_cookieless_login_post_is_refused_and_the_browser_flow_works(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as curl:  # curl -X POST -d ... /login
        forged = await curl.post("/login", data={"email": "mallory@example.com",
                                                 "password": "rum-demo"})
        assert forged.status_code == 403
        assert "no session cookie" in forged.text
        assert "location" not in forged.headers  # not logged in, not redirected
        as_api = await curl.post("/login", data={"email": "m", "password": "rum-demo"},
                                 headers={"accept": "application/json"})
        assert as_api.status_code == 403
        assert as_api.headers["content-type"] == "application/problem+json"
        assert as_api.json()["code"] == "csrf_failed"

    async with httpx.AsyncClient(base_url=base) as browser:
        page = await browser.get("/login")
        assert page.status_code == 200
        assert session_cookies(page), "the login page must give the browser its session cookie"
        login = await browser.post("/login", data={"email": "ada@example.com",
                                                   "password": "rum-demo",
                                                   "csrf_token": token_in(page.text)})
        assert login.status_code == 303
        assert (await browser.get("/me")).text == "you are ada@example.com"


async def test_cookieless_exemptions(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        async def post(path: str, **kw: Any) -> httpx.Response:
            client.cookies.clear()
            return await client.post(path, **kw)

        # a JSON body to an API route (Controller.api or route(..., api=True)): allowed
        assert (await post("/api/thing", json={"a": 1})).status_code == 200
        assert (await post("/api/mounted", json={"a": 1})).status_code == 200
        assert (await post("/api/thing", content=b"{}", headers={
            "content-type": "application/vnd.rum+json"})).status_code == 200
        # ... but a form post to it, or JSON to a page, is refused
        assert (await post("/api/thing", data={"a": "1"})).status_code == 403
        assert (await post("/page", json={"a": 1})).status_code == 403
        # Authorization headers are not sent by forged cross-site forms of their own
        assert (await post("/page", data={"a": "1"},
                           headers={"authorization": "Bearer t"})).status_code == 200
        assert (await post("/page", data={"a": "1"},
                           headers={"authorization": "Basic dTpw"})).status_code == 200
        # every unsafe method is covered; safe ones never are
        for method in ("PUT", "PATCH", "DELETE"):
            client.cookies.clear()
            assert (await client.request(method, "/page")).status_code == 403, method
        for method in ("GET", "HEAD", "OPTIONS"):
            client.cookies.clear()
            assert (await client.request(method, "/page")).status_code == 200, method


async def test_origin_must_be_this_site(tmp_path: Path) -> None:
    app = make_app(tmp_path, trusted_origins=["https://admin.example.com"])
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        token = token_in((await client.get("/login")).text)
        host = httpx.URL(base).netloc.decode()
        data = {"email": "ada", "password": "rum-demo", "csrf_token": token}
        evil = await client.post("/login", data=data, headers={"origin": "https://evil.example"})
        assert evil.status_code == 403
        assert "Origin header" in evil.text and "evil.example" in evil.text
        for bad in ("null", "https://[::1", "http://", "evil", f"ftp://{host}"):
            refused = await client.post("/login", data=data, headers={"origin": bad})
            assert refused.status_code == 403, bad  # a clear refusal, never a 500
        trusted = await client.post("/login", data=data,
                                    headers={"origin": "https://admin.example.com"})
        assert trusted.status_code == 303
        token = token_in((await client.get("/login")).text)
        same = await client.post("/login", headers={"origin": f"http://{host}"},
                                 data={**data, "csrf_token": token})
        assert same.status_code == 303


async def test_https_posts_need_a_same_site_origin_or_referer(tmp_path: Path) -> None:
    """The HTTPS rule (Django's): no Origin means the Referer must be https on this host.

    The loopback server speaks plain HTTP, so these requests go through ``app.handle`` with
    ``scheme="https"``, as a TLS-terminating server plugin would fill it in.
    """
    app = make_app(tmp_path)
    async with app.test_client() as client:
        page = await client.get("/login")
        token = token_in(page.text_body())
        cookie = f"{COOKIE}={client.cookies[COOKIE]}"

        async def post(**headers: str) -> Response:
            request = Request("POST", "/page", headers={
                "host": "shop.example", "cookie": cookie, "x-csrf-token": token, **headers},
                scheme="https")
            return await app.handle(request)

        assert (await post()).status == 403  # neither Origin nor Referer
        assert (await post(referer="https://evil.example/form")).status == 403
        assert (await post(referer="http://shop.example/form")).status == 403  # not https
        assert (await post(referer="https://[shop.example/form")).status == 403  # garbled
        assert (await post(origin="http://shop.example")).status == 403  # not https
        assert (await post(referer="https://shop.example/form")).status == 200
        assert (await post(referer="https://shop.example:443/form")).status == 200
        assert (await post(origin="https://shop.example")).status == 200


async def test_bearer_requests_and_api_routes_get_no_session_cookie(tmp_path: Path) -> None:
    # with anonymous = true browsers get an unused session's cookie; these requests do not
    async with serve_app(make_app(tmp_path, anonymous=True)) as base, \
            httpx.AsyncClient(base_url=base) as client:
        normal = await client.get("/page")
        assert session_cookies(normal)  # the control: browsers get an anonymous session
        client.cookies.clear()
        for response in (
            await client.get("/page", headers={"authorization": "Bearer abc"}),
            await client.post("/page", json={}, headers={"authorization": "Bearer abc"}),
            await client.get("/api/thing"),
            await client.post("/api/thing", json={"x": 1}),
            await client.get("/api/mounted"),
            await client.get("/api/thing", headers={"accept": "text/html"}),
            await client.get("/tokened", headers={"x-api-key": "k-1"}),
        ):
            assert response.status_code == 200, (response.request.url, response.text)
            assert response.headers.get_list("set-cookie") == [], response.request.url
        assert client.cookies.get(COOKIE) is None
        missing = await client.get("/nowhere", headers={"authorization": "Bearer abc"})
        assert missing.status_code == 404 and missing.headers.get_list("set-cookie") == []


async def test_api_routes_still_read_a_cookie_and_may_log_in(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as browser:
        page = await browser.get("/login")
        await browser.post("/login", data={"email": "ada", "password": "rum-demo",
                                           "csrf_token": token_in(page.text)})
        seen = await browser.get("/api/thing")
        assert seen.json() == {"method": "GET", "user": "ada"}  # the session is read
        assert seen.headers.get_list("set-cookie") == []

    async with httpx.AsyncClient(base_url=base) as client:
        login = await client.post("/api/login", json={})  # an explicit login sets the cookie
        assert login.status_code == 200 and session_cookies(login)
        assert (await client.get("/me")).text == "you are api-user"


async def test_session_auth_redirects_browsers_but_not_api_clients(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        page = await client.get("/dashboard", headers={"accept": "text/html"})
        assert page.status_code == 302 and page.headers["location"] == "/login"
        for path, headers in (("/api/dashboard", {"accept": "text/html"}),
                              ("/dashboard", {"accept": "application/problem+json"})):
            refused = await client.get(path, headers=headers)
            assert refused.status_code == 403, path
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["detail"] == "you need to log in at /login to see this page"


def test_origin_and_accept_parsing_never_raise() -> None:
    """Any Origin, Referer, Host or Accept text gives an answer, never an exception (a 500)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from rum.negotiation import prefers_json
    from rum_sessions.csrf import origin_problem

    text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x24F), max_size=40)
    urlish = st.one_of(text, st.builds(lambda s, h: f"{s}://{h}", st.sampled_from(
        ["http", "https", "ftp", ""]), text))

    @settings(max_examples=150, deadline=None)
    @given(origin=st.none() | urlish, referer=st.none() | urlish, host=text,
           scheme=st.sampled_from(["http", "https"]), accept=text, ctype=text)
    def check(origin, referer, host, scheme, accept, ctype) -> None:
        headers = {"host": host}
        if origin is not None:
            headers["origin"] = origin
        if referer is not None:
            headers["referer"] = referer
        request = Request("POST", "/", headers=headers, scheme=scheme)
        result = origin_problem(request, frozenset({"https://trusted.example"}))
        assert result is None or isinstance(result, str)
        assert isinstance(prefers_json(accept, ctype), bool)

    check()

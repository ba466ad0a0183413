"""Encrypted cookie sessions over a real socket: login flow, data, renewal, bad cookies, keys."""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from rum import App, ConfigError, Controller, Request, Response
from rum_sessions import SessionAuth, csrf_input

COOKIE = "rum_session"
SECRET = "11" * 32
OTHER_SECRET = "22" * 32


class Home(Controller):
    async def get(self, request: Request) -> Response:
        s = request.session
        return Response.json({"id": s.id, "user": s.user_id, "anonymous": s.is_anonymous,
                              "cart": s.get("cart")})


class LoginPage(Controller):
    async def get(self, request: Request) -> Response:
        return Response.html(f'<form method="post" action="/login">{csrf_input(request)}'
                             '<input name="user_id"><input name="password"></form>')

    async def post(self, request: Request) -> Response:
        form = await request.form()
        if form.get("password") != "rum":
            return Response.html("wrong password", 401)
        return await request.login(int(form["user_id"]), Response.redirect("/private", 303))


class Private(Controller):
    def auth(self) -> SessionAuth:
        return SessionAuth.redirect("/login")

    async def get(self, request: Request) -> Response:
        return Response.text(f"hello user {request.user}")


class Logout(Controller):
    async def post(self, request: Request) -> Response:
        return await request.logout(Response.redirect("/", 303))


class Cart(Controller):
    async def post(self, request: Request) -> Response:
        request.session["cart"] = request.json()["cart"]
        return Response.json({"ok": True})


ROUTES = [Home, LoginPage, Private, Logout, Cart]


def make_app(tmp_path: Path, *, secret: str | None = SECRET, env: str = "development",
             **sessions: Any) -> App:
    general = {"secret_key": secret} if secret else {}
    routes = [Home.route("/"), LoginPage.route("/login"), Private.route("/private"),
              Logout.route("/logout"), Cart.route("/cart")]
    return App(routes, plugins=["http", "sessions"], root=tmp_path, env=env,
               config={"general": general, "sessions": sessions})


def token_in(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def set_cookie(response: httpx.Response) -> str | None:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE + "=")]
    assert len(found) <= 1, found
    return found[0] if found else None


def cookie_value(response: httpx.Response) -> str:
    header = set_cookie(response)
    assert header is not None, response.headers
    return header.split(";", 1)[0].split("=", 1)[1]


async def test_browser_flow_anonymous_login_private_logout(tmp_path: Path, browser) -> None:
    async with browser(make_app(tmp_path)) as client:
        home = await client.get("/")
        assert home.json()["anonymous"] is True
        anonymous_id = home.json()["id"]
        assert set_cookie(home) is None  # an unused session is not stored (issue 16)

        private = await client.get("/private")
        assert private.status_code == 302
        assert private.headers["location"] == "/login"

        page = await client.get("/login")
        token = token_in(page.text)
        wrong = await client.post("/login", data={"user_id": "42", "password": "nope",
                                                  "csrf_token": token})
        assert wrong.status_code == 401
        login = await client.post("/login", data={"user_id": "42", "password": "rum",
                                                  "csrf_token": token})
        assert login.status_code == 303
        assert login.headers["location"] == "/private"
        assert set_cookie(login) is not None

        private = await client.get("/private")
        assert private.status_code == 200
        assert private.text == "hello user 42"
        home = await client.get("/")
        assert home.json()["user"] == 42
        assert home.json()["id"] != anonymous_id  # a new session id on login (no fixation)

        page = await client.get("/login")
        logout = await client.post("/logout", data={"csrf_token": token_in(page.text)})
        assert logout.status_code == 303
        header = set_cookie(logout)
        assert header is not None and "Max-Age=0" in header
        assert COOKIE not in client.cookies

        private = await client.get("/private")
        assert private.status_code == 302
        assert private.headers["location"] == "/login"
        assert (await client.get("/")).json()["anonymous"] is True


async def test_cookie_flags_in_development_and_production(tmp_path: Path, browser) -> None:
    async with browser(make_app(tmp_path, anonymous=True)) as client:  # a cookie on any page
        header = set_cookie(await client.get("/"))
    assert header is not None
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Secure" not in header
    assert "; Max-Age=345600;" in header  # exactly 4 days by default, not 345599

    app = make_app(tmp_path, env="production", cookie_name="sid", max_age=600, anonymous=True)
    async with app.test_client() as client:
        response = await client.get("/")
    header = response.headers["set-cookie"]
    assert header.startswith("sid=")
    assert "; Secure" in header
    assert "; Max-Age=600;" in header


async def test_session_data_round_trips_and_cookie_is_reissued_only_on_change(
        tmp_path: Path, browser) -> None:
    async with browser(make_app(tmp_path, anonymous=True)) as client:
        first = await client.get("/")
        assert set_cookie(first) is not None
        again = await client.get("/")
        assert set_cookie(again) is None  # unchanged session: no new cookie, no crypto
        assert again.json()["id"] == first.json()["id"]

        token = token_in((await client.get("/login")).text)
        saved = await client.post("/cart", json={"cart": [{"sku": "rum-7", "qty": 2}]},
                                  headers={"x-csrf-token": token})
        assert saved.status_code == 200
        assert set_cookie(saved) is not None
        home = await client.get("/")
        assert home.json()["cart"] == [{"sku": "rum-7", "qty": 2}]
        assert set_cookie(home) is None

        # the cart survives logging in; the id changes
        login = await client.post("/login", data={"user_id": "7", "password": "rum",
                                                  "csrf_token": token})
        assert login.status_code == 303
        home = await client.get("/")
        assert home.json()["user"] == 7
        assert home.json()["cart"] == [{"sku": "rum-7", "qty": 2}]


async def test_used_session_is_renewed(tmp_path: Path, browser) -> None:
    app = make_app(tmp_path, max_age=1000, renew_after=100, anonymous=True)
    manager = app.extensions["sessions"]
    now = [time.time()]
    manager.clock = lambda: now[0]
    async with browser(app) as client:
        first = await client.get("/")
        sid = first.json()["id"]
        now[0] += 50
        assert set_cookie(await client.get("/")) is None  # recently issued: left alone
        now[0] += 100
        renewed = await client.get("/")
        assert renewed.json()["id"] == sid
        assert "Max-Age=1000" in (set_cookie(renewed) or "")
        now[0] += 950  # 1100 s after the first cookie, 950 s after the renewal: still valid
        assert (await client.get("/")).json()["id"] == sid
        now[0] += 1001  # unused for longer than max_age: expired
        assert (await client.get("/")).json()["id"] != sid


def tamper(value: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


async def test_bad_cookies_become_fresh_anonymous_sessions(tmp_path: Path, browser) -> None:
    app = make_app(tmp_path)
    foreign = make_app(tmp_path, secret=OTHER_SECRET)
    async with foreign.test_client() as other:
        wrong_key = (await other.get("/login")).headers["set-cookie"]  # a form page
    wrong_key = wrong_key.split(";", 1)[0].split("=", 1)[1]
    async with browser(app) as client:
        page = await client.get("/login")
        login = await client.post("/login", data={"user_id": "5", "password": "rum",
                                                  "csrf_token": token_in(page.text)})
        good = cookie_value(login)
        client.cookies.clear()
        valid = await client.get("/", headers={"cookie": f"{COOKIE}={good}"})
        assert valid.json()["user"] == 5
        client.cookies.clear()

        expired_app_clock = app.extensions["sessions"].clock
        bad_values = {
            "tampered": tamper(good),
            "truncated": good[: len(good) // 2],
            "too short": good[:10],
            "wrong key": wrong_key,
            "not base64": "%%%not*base64%%%",
            "empty": "",
        }
        for label, value in bad_values.items():
            response = await client.get("/", headers={"cookie": f"{COOKIE}={value}"})
            client.cookies.clear()
            assert response.status_code == 200, label
            assert response.json()["user"] is None, label
            assert response.json()["anonymous"] is True, label
            header = set_cookie(response)  # the unreadable cookie is deleted, none issued
            assert header is not None and "Max-Age=0" in header, label

        app.extensions["sessions"].clock = lambda: time.time() + 5 * 24 * 3600
        expired = await client.get("/", headers={"cookie": f"{COOKIE}={good}"})
        app.extensions["sessions"].clock = expired_app_clock
        assert expired.status_code == 200
        assert expired.json()["user"] is None
        private = await client.get("/private", headers={"cookie": f"{COOKIE}={tamper(good)}"})
        assert private.status_code == 302


async def test_key_rotation_accepts_old_keys_and_reissues(tmp_path: Path, browser) -> None:
    async with browser(make_app(tmp_path, secret=SECRET)) as client:
        token = token_in((await client.get("/login")).text)
        login = await client.post("/login", data={"user_id": "9", "password": "rum",
                                                  "csrf_token": token})
    old_cookie = f"{COOKIE}={cookie_value(login)}"

    base64_key = base64.b64encode(bytes.fromhex(OTHER_SECRET)).decode()
    rotated = make_app(tmp_path, secret=base64_key, old_secret_keys=[SECRET])
    async with browser(rotated) as client:
        moved = await client.get("/", headers={"cookie": old_cookie})
        assert moved.json()["user"] == 9
        new_cookie = f"{COOKIE}={cookie_value(moved)}"  # re-sealed with the current key
        assert new_cookie != old_cookie
        client.cookies.clear()
        again = await client.get("/", headers={"cookie": new_cookie})
        assert again.json()["user"] == 9
        assert set_cookie(again) is None  # already on the current key: left alone

    async with browser(make_app(tmp_path, secret=OTHER_SECRET)) as client:
        assert (await client.get("/", headers={"cookie": old_cookie})).json()["user"] is None
        client.cookies.clear()
        assert (await client.get("/", headers={"cookie": new_cookie})).json()["user"] == 9


async def test_secret_key_errors_name_the_file_and_the_fix(tmp_path: Path, caplog) -> None:
    with pytest.raises(ConfigError) as missing:
        make_app(tmp_path, secret=None, env="production")
    message = str(missing.value)
    assert "secret_key" in message and "Rum.toml" in message and "rum secret-key" in message

    with pytest.raises(ConfigError, match=r"decodes to 16 bytes; it must be 32"):
        make_app(tmp_path, secret="ab" * 16)
    with pytest.raises(ConfigError, match=r"neither hex nor base64"):
        make_app(tmp_path, secret="not a key!")
    with pytest.raises(ConfigError, match=r"old_secret_keys\[0\]"):
        make_app(tmp_path, old_secret_keys=["short"])
    with pytest.raises(ConfigError, match=r"renew_after"):
        make_app(tmp_path, max_age=100, renew_after=100)

    with caplog.at_level("WARNING", logger="rum.sessions"):
        app = make_app(tmp_path, secret=None)
    assert "random key" in caplog.text
    async with app.test_client() as client:  # a development app still works
        token = token_in((await client.get("/login")).text_body())
        assert (await client.post("/login", form={"user_id": "3", "password": "rum",
                                                  "csrf_token": token})).status == 303
        assert (await client.get("/private")).text_body() == "hello user 3"


async def test_oversized_session_is_a_clear_error(tmp_path: Path) -> None:
    app = make_app(tmp_path, csrf=False)
    async with app.test_client() as client:
        response = await client.post("/cart", json={"cart": "x" * 5000},
                                     headers={"accept": "application/json"})
    assert response.status == 500
    assert "4096-byte limit" in response.json_body()["detail"]
    assert "cart" in response.json_body()["detail"]


async def test_secret_key_command_prints_a_usable_key(tmp_path: Path, capsys) -> None:
    from rum.cli import main

    assert main(["--root", str(tmp_path), "secret-key"]) == 0
    key = capsys.readouterr().out.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    make_app(tmp_path, secret=key)  # accepted as is


async def test_in_place_changes_are_not_saved_unless_marked(tmp_path: Path) -> None:
    class Mutate(Controller):
        async def post(self, request: Request) -> Response:
            request.session["cart"].append("unsaved")  # nested change, not marked
            if request.query.get("mark"):
                request.session.modified = True
            return Response.json(request.session["cart"])

    app = App([Cart.route("/cart"), Home.route("/"), Mutate.route("/mutate")],
              plugins=["sessions"], root=tmp_path, env="development",
              config={"general": {"secret_key": SECRET}, "sessions": {"csrf": False}})
    async with app.test_client() as client:
        await client.post("/cart", json={"cart": ["a"]})
        assert (await client.post("/mutate")).json_body() == ["a", "unsaved"]
        # the same cookie again: the previous request's in-place change did not leak
        assert (await client.get("/")).json_body()["cart"] == ["a"]
        assert (await client.post("/mutate", query={"mark": "1"})).json_body() == [
            "a", "unsaved"]
        assert (await client.get("/")).json_body()["cart"] == ["a", "unsaved"]


async def test_login_default_response_and_flash_after_logout(tmp_path: Path, browser) -> None:
    class Api(Controller):
        async def post(self, request: Request) -> Response:
            if request.path == "/api/login":
                return await request.login("user-1")  # JSON ids work too; empty 200
            response = await request.logout(Response.redirect("/", 303))
            request.session["flash"] = "bye"  # stored in the new anonymous session
            return response

    class Flash(Controller):
        async def get(self, request: Request) -> Response:
            return Response.json({"user": request.user, "flash": request.session.get("flash")})

    app = App([Api.route("/api/login"), Api.route("/api/logout"), Flash.route("/")],
              plugins=["http", "sessions"], root=tmp_path, env="development",
              config={"general": {"secret_key": SECRET}, "sessions": {"csrf": False}})
    async with browser(app) as client:
        login = await client.post("/api/login")
        assert login.status_code == 200 and login.content == b""
        assert set_cookie(login) is not None
        assert (await client.get("/")).json() == {"user": "user-1", "flash": None}
        logout = await client.post("/api/logout")
        header = set_cookie(logout)
        assert header is not None and "Max-Age=0" not in header  # re-issued, not deleted
        assert (await client.get("/")).json() == {"user": None, "flash": "bye"}


async def test_session_data_from_json_with_a_lone_surrogate_round_trips(tmp_path: Path,
                                                                        browser) -> None:
    """``request.session["cart"] = request.json()["cart"]`` with a JSON ``"\\udc00"`` escape
    in it: sealing the cookie encoded the data as strict UTF-8, a UnicodeEncodeError in the
    response hook (a 500) after the controller had answered 200."""
    async with browser(make_app(tmp_path, anonymous=True)) as client:
        token = token_in((await client.get("/login")).text)
        saved = await client.post("/cart", content=b'{"cart": ["A\\udc00", {"\\ud800": 1}]}',
                                  headers={"x-csrf-token": token,
                                           "content-type": "application/json"})
        assert saved.status_code == 200, saved.text[:300]
        assert set_cookie(saved) is not None
        home = await client.get("/")
        assert home.status_code == 200
        assert home.json()["cart"] == ["A\udc00", {"\ud800": 1}]

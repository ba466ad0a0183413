"""Basic and bearer-token handlers, custom handlers and handlers provided by plugins."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rum import App, Authentication, ConfigError, Controller, Request, Response, hookimpl
from rum_auth import BasicAuth, TokenAuth


class Whoami(Controller):
    """Shows who the handler let in; subclasses pick the handler."""

    handler: Any = None

    def auth(self) -> Any:
        return self.handler

    async def handle(self, request: Request) -> Response:
        return Response.json({"user": request.user})


def guarded(handler: Any, path: str = "/") -> Any:
    controller = type("Guarded", (Whoami,), {"handler": handler})
    return controller.route(path)


def make_app(tmp_path: Path, routes: list[Any], plugins: list[Any] | None = None,
             **config: Any) -> App:
    return App(routes, plugins=["http", "auth", *(plugins or [])], root=tmp_path,
               env="development", config=config or None)


def basic_header(user: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {raw}"}


# -- Basic ----------------------------------------------------------------------------------------


async def test_basic_auth_challenges_then_lets_the_right_user_in(tmp_path: Path,
                                                                 browser) -> None:
    app = make_app(tmp_path, [guarded(BasicAuth(user="admin", password="super-secret",
                                                realm="Admin area"))])
    async with browser(app) as client:
        challenge = await client.get("/")
        assert challenge.status_code == 401
        assert challenge.headers["www-authenticate"] == 'Basic realm="Admin area", charset="UTF-8"'

        for creds in [("admin", "wrong"), ("root", "super-secret"), ("admin", ""),
                      ("admin", "super-secret-but-longer"), ("", "")]:
            refused = await client.get("/", auth=creds)
            assert refused.status_code == 401, creds
            assert "www-authenticate" in refused.headers

        for header in ("Basic not-base64!!", "Basic " + base64.b64encode(b"nocolon").decode(),
                       "Bearer super-secret", "Basic"):
            refused = await client.get("/", headers={"authorization": header})
            assert refused.status_code == 401, header  # malformed: a challenge, never a 500

        ok = await client.get("/", auth=("admin", "super-secret"))
        assert ok.status_code == 200
        assert ok.json() == {"user": "admin"}


async def test_basic_auth_several_users_and_unicode(tmp_path: Path, browser) -> None:
    handler = BasicAuth(users={"alice": "pässwörd:with:colons", "bob": "hunter2"})
    async with browser(make_app(tmp_path, [guarded(handler)])) as client:
        assert (await client.get("/", headers=basic_header("alice", "pässwörd:with:colons"))
                ).json() == {"user": "alice"}
        assert (await client.get("/", auth=("bob", "hunter2"))).json() == {"user": "bob"}
        assert (await client.get("/", auth=("bob", "pässwörd:with:colons"))).status_code == 401


async def test_basic_handler_by_name_reads_auth_config(tmp_path: Path, browser) -> None:
    class Admin(Whoami):
        def auth(self) -> str:
            return "basic"

    app = make_app(tmp_path, [Admin.route("/admin")],
                   auth={"basic_user": "ops", "basic_password": "pw", "realm": "Ops"})
    async with browser(app) as client:
        challenge = await client.get("/admin")
        assert challenge.status_code == 401
        assert 'realm="Ops"' in challenge.headers["www-authenticate"]
        assert (await client.get("/admin", auth=("ops", "pw"))).json() == {"user": "ops"}

    with pytest.raises(ConfigError, match=r"\[auth\] basic_user and basic_password"):
        make_app(tmp_path, [Admin.route("/admin")])
    with pytest.raises(ValueError, match="needs password"):
        BasicAuth(user="x")


# -- tokens ---------------------------------------------------------------------------------------


async def test_bearer_tokens_success_and_failure(tmp_path: Path, browser) -> None:
    app = make_app(tmp_path, [guarded(TokenAuth(tokens=["tok-1", "tok-2"]), "/list"),
                              guarded(TokenAuth(tokens={"tok-a": "alice"}), "/named")])
    async with browser(app) as client:
        missing = await client.get("/list")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == 'Bearer realm="Rum"'

        wrong = await client.get("/list", headers={"authorization": "Bearer tok-3"})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"] == 'Bearer realm="Rum", error="invalid_token"'
        assert "not valid" in wrong.text

        for header in ("Basic tok-1", "Bearer", "tok-1", "Bearer tok-1x"):
            assert (await client.get("/list", headers={"authorization": header})
                    ).status_code == 401, header

        ok = await client.get("/list", headers={"authorization": "Bearer tok-2"})
        assert ok.json() == {"user": "tok-2"}
        lower = await client.get("/named", headers={"authorization": "bearer tok-a"})
        assert lower.json() == {"user": "alice"}


async def test_token_lookup_callables_and_custom_header(tmp_path: Path, browser) -> None:
    seen: list[str] = []

    async def find_user(token: str) -> dict[str, Any] | None:
        seen.append(token)
        return {"id": 7, "name": "ada"} if token == "db-token" else None

    def sync_lookup(token: str) -> str | None:
        return "service" if token == "key-1" else None

    app = make_app(tmp_path, [guarded(TokenAuth(lookup=find_user), "/async"),
                              guarded(TokenAuth(lookup=sync_lookup, header="X-API-Key"),
                                      "/key")])
    async with browser(app) as client:
        ok = await client.get("/async", headers={"authorization": "Bearer db-token"})
        assert ok.json() == {"user": {"id": 7, "name": "ada"}}
        assert (await client.get("/async", headers={"authorization": "Bearer nope"})
                ).status_code == 401
        assert seen == ["db-token", "nope"]

        assert (await client.get("/key", headers={"x-api-key": "key-1"})).json() == {
            "user": "service"}
        refused = await client.get("/key", headers={"authorization": "Bearer key-1"})
        assert refused.status_code == 401
        assert "X-API-Key" in refused.text or "x-api-key" in refused.text

    with pytest.raises(ValueError, match="exactly one"):
        TokenAuth()
    with pytest.raises(ValueError, match="not one string"):
        TokenAuth(tokens="abc")


async def test_token_handler_by_name_reads_auth_config(tmp_path: Path, browser) -> None:
    class Api(Whoami):
        def auth(self) -> str:
            return "token"

    app = make_app(tmp_path, [Api.route("/api")], auth={"tokens": ["from-config"]})
    async with browser(app) as client:
        assert (await client.get("/api")).status_code == 401
        ok = await client.get("/api", headers={"authorization": "Bearer from-config"})
        assert ok.json() == {"user": "from-config"}
    with pytest.raises(ConfigError, match=r"\[auth\] tokens"):
        make_app(tmp_path, [Api.route("/api")])


# -- custom handlers ------------------------------------------------------------------------------


class NoWorkSundays(Authentication):
    """The seed framework's example: closed on Sundays unless you really need to work."""

    def __init__(self, today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.UTC).date()):
        self.today = today

    async def authorize(self, request: Request) -> bool:
        bypass = "x-i-need-to-work-today" in request.headers
        return self.today().weekday() != 6 or bypass

    async def denied(self, request: Request) -> Response:
        return Response.redirect("https://www.nps.gov")


SUNDAY = dt.date(2026, 11, 22)
MONDAY = dt.date(2026, 11, 23)


async def test_custom_handler_no_work_sundays(tmp_path: Path, browser) -> None:
    app = make_app(tmp_path, [guarded(NoWorkSundays(lambda: SUNDAY), "/sunday"),
                              guarded(NoWorkSundays(lambda: MONDAY), "/monday")])
    async with browser(app) as client:
        closed = await client.get("/sunday")
        assert closed.status_code == 302
        assert closed.headers["location"] == "https://www.nps.gov"
        bypass = await client.get("/sunday", headers={"X-I-Need-To-Work-Today": "yes"})
        assert bypass.status_code == 200
        assert (await client.get("/monday")).status_code == 200


async def test_default_denied_is_403(tmp_path: Path, browser) -> None:
    class Nobody(Authentication):
        async def authorize(self, request: Request) -> bool:
            return False

    async with browser(make_app(tmp_path, [guarded(Nobody())])) as client:
        assert (await client.get("/")).status_code == 403


class SundaysPlugin:
    """A third-party plugin providing a handler through the kernel's auth hook."""

    @hookimpl
    def rum_auth_handlers(self, app: App) -> dict[str, Any]:
        return {"no-work-sundays": lambda: NoWorkSundays(lambda: SUNDAY)}


async def test_plugin_provided_handler_by_name(tmp_path: Path, browser) -> None:
    class Office(Whoami):
        def auth(self) -> str:
            return "no-work-sundays"

    app = make_app(tmp_path, [Office.route("/office")], plugins=[SundaysPlugin()])
    assert {"basic", "token", "no-work-sundays"} <= set(app.auth_handlers)
    async with browser(app) as client:
        assert (await client.get("/office")).status_code == 302
        assert (await client.get("/office", headers={"x-i-need-to-work-today": "1"})
                ).status_code == 200

    class Typo(Whoami):
        def auth(self) -> str:
            return "basik"

    with pytest.raises(ConfigError, match="unknown authentication handler 'basik'"):
        make_app(tmp_path, [Typo.route("/")])

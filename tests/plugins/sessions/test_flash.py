"""Flash messages over a real socket: stored in the session, shown once by the layout helper
(``role="status"`` / ``role="alert"``), ``flash.now`` for the current page only, kept across
``logout()``, and not lost to requests that show no page."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from rum import App, Controller, Request, Response, RumError
from rum_http.testing import serve_app
from rum_sessions import flash, flash_messages, logout

SECRET = "6b" * 32
PAGE = "<main><%= flash_messages %></main>"
LIST = "<% for m in flashes() %>[<%= m.kind %>:<%= m.message %>:<%= m.role %>]<% end %>"


class Flasher(Controller):
    csrf_exempt = True

    async def post(self, request: Request) -> Response:
        form = await request.form()
        flash(request, form["message"], kind=form.get("kind", "notice"))
        return Response.redirect("/page", 303)


class Page(Controller):
    async def get(self, request: Request) -> Response:
        if request.query.get("now"):
            flash.now(request, request.query["now"], kind="alert")
        return await self.render(request.query.get("t", "page.html"))


class Api(Controller):
    async def get(self, request: Request) -> Response:
        return Response.json({"ok": True})


class Logout(Controller):
    csrf_exempt = True

    async def post(self, request: Request) -> Response:
        flash(request, "You are logged out")
        return await logout(request, Response.redirect("/page", 303))


def make_app(tmp_path: Path) -> App:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text(PAGE)
    (tmp_path / "templates" / "list.html").write_text(LIST)
    routes = [Flasher.route("/flash"), Page.route("/page"), Api.route("/api"),
              Logout.route("/logout")]
    return App(routes, plugins=["http", "templates", "sessions"], root=tmp_path,
               config={"general": {"secret_key": SECRET}})


@pytest.fixture
async def client(tmp_path: Path):
    async with serve_app(make_app(tmp_path)) as url, httpx.AsyncClient(base_url=url) as c:
        await c.get("/page")  # the session cookie first (posts without one are refused)
        yield c


async def test_a_flash_shows_once_on_the_next_page(client) -> None:
    posted = await client.post("/flash", data={"message": "Order <1> created"})
    assert posted.status_code == 303
    assert (await client.get("/api")).status_code == 200  # no page: the message waits
    page = await client.get("/page")
    assert page.text == ('<main><div class="flash-messages"><p class="flash flash-notice" '
                         'role="status">Order &lt;1&gt; created</p></div></main>')
    assert (await client.get("/page")).text == "<main></main>"


async def test_alerts_are_role_alert_and_several_messages_keep_their_order(client) -> None:
    await client.post("/flash", data={"message": "Saved"})
    await client.post("/flash", data={"message": "Card declined", "kind": "alert"})
    page = await client.get("/page", params={"t": "list.html"})
    assert page.text == "[notice:Saved:status][alert:Card declined:alert]"
    assert (await client.get("/page", params={"t": "list.html"})).text == ""


async def test_flash_now_is_for_this_page_only(client) -> None:
    await client.post("/flash", data={"message": "Stored"})
    page = await client.get("/page", params={"now": "Right now"})
    assert page.text == ('<main><div class="flash-messages">'
                         '<p class="flash flash-notice" role="status">Stored</p>'
                         '<p class="flash flash-alert" role="alert">Right now</p></div></main>')
    assert (await client.get("/page")).text == "<main></main>"


async def test_a_flash_survives_logout(client) -> None:
    response = await client.post("/logout")
    assert response.status_code == 303
    assert "You are logged out" in (await client.get("/page")).text


async def test_flash_without_the_sessions_plugin_names_the_fix(tmp_path: Path) -> None:
    app = App([], plugins=["http"], root=tmp_path)
    request = Request("GET", "/")
    request.app = app
    with pytest.raises(RumError, match='add "sessions" to \\[plugins\\] enabled'):
        flash(request, "hello")
    assert flash_messages(request) == []
    with pytest.raises(TypeError, match="as strings"):
        flash(request, 42)  # type: ignore[arg-type]

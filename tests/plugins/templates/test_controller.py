"""Controllers render templates: in-process through the test client and over a real socket."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from rum import Controller, Request, Response, RumError, hookimpl
from rum_http.testing import serve_app
from rum_templates import TemplateRenderError


class User:
    """An ORM-like model: plain attributes plus to_dict()."""

    def __init__(self, id: int, email: str) -> None:
        self.id = id
        self.email = email

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "email": self.email}


class Users(Controller):
    async def get(self, request: Request) -> Response:
        users = [User(1, "a@x.org"), User(2, "<b>@x.org")]
        return await self.render("users/index.html", users=users, title="Users")


class Asset(Controller):
    async def get(self, request: Request) -> Response:
        name = request.path_params["name"]
        return await self.render(name, color="red", items=[1, 2])


class Broken(Controller):
    async def get(self, request: Request) -> Response:
        return await self.render("broken.html")


class SiteGlobals:
    """A plugin passed in code that contributes template globals."""

    @hookimpl
    def rum_template_globals(self, app, request):
        return {"site_name": "Rum<Site>", "path": request.path if request else None}


class LaterGlobals:
    @hookimpl
    def rum_template_globals(self, request):
        return {"site_name": "Later wins"} if request and request.query.get("later") else {}


def write(root: Path, name: str, text: str) -> None:
    path = root / "templates" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def app(rum_app_factory, tmp_path):
    write(tmp_path, "layout.html",
          "<html><title><%= yield :title %> - <%= site_name %></title>"
          "<body><%= yield %></body></html>")
    write(tmp_path, "users/index.html",
          "<% extends \"layout.html\" %>\n"
          "<% content_for :title %><%= title %><% end %>\n"
          "<% block content %>\n"
          "<ul>\n"
          "<% for user in users %>\n"
          "  <li><a href=\"<%= url_for(\"user\", id: user.id) %>\"><%= user.email %></a></li>\n"
          "<% end %>\n"
          "</ul><p><%= path %></p>\n"
          "<% end %>\n")
    write(tmp_path, "style.css", "body { color: <%= color %>; }")
    write(tmp_path, "data.json", "<%- items.to_json %>")
    write(tmp_path, "notes.txt", "<%= color %> & <blue>")
    write(tmp_path, "app.js", "let n = <%= items.length %>;")
    write(tmp_path, "broken.html", "<p>\n<%= nope %>\n</p>")
    routes = [Users.route("/users"), Users.route("/users/<int:id>", name="user"),
              Asset.route("/assets/<name>"), Broken.route("/broken")]
    return rum_app_factory(routes, plugins=["templates", SiteGlobals(), LaterGlobals()])


EXPECTED_USERS = (
    "<html><title>Users - Rum&lt;Site&gt;</title><body><ul>\n"
    "  <li><a href=\"/users/1\">a@x.org</a></li>\n"
    "  <li><a href=\"/users/2\">&lt;b&gt;@x.org</a></li>\n"
    "</ul><p>/users</p>\n</body></html>")


async def test_controller_renders_with_layout_globals_and_models(app) -> None:
    async with app.test_client() as client:
        response = await client.get("/users")
    assert response.status == 200
    assert response.content_type == "text/html; charset=utf-8"
    assert response.text_body() == EXPECTED_USERS


async def test_render_works_without_entering_the_client(app) -> None:
    response = await app.test_client().get("/users")
    assert response.status == 200, response.text_body()
    assert response.text_body() == EXPECTED_USERS


async def test_later_plugin_globals_win(app) -> None:
    async with app.test_client() as client:
        response = await client.get("/users", query={"later": "1"})
    assert "<title>Users - Later wins</title>" in response.text_body()


@pytest.mark.parametrize(("name", "content_type", "body"), [
    ("style.css", "text/css; charset=utf-8", "body { color: red; }"),
    ("data.json", "application/json", "[1, 2]"),
    ("notes.txt", "text/plain; charset=utf-8", "red & <blue>"),
    ("app.js", "text/javascript; charset=utf-8", "let n = 2;"),
])
async def test_content_type_follows_the_extension(app, name, content_type, body) -> None:
    async with app.test_client() as client:
        response = await client.get(f"/assets/{name}")
    assert response.status == 200
    assert response.content_type == content_type
    assert response.text_body() == body


async def test_template_errors_become_500_with_location_in_debug(app) -> None:
    async with app.test_client() as client:
        response = await client.get("/broken", headers={"accept": "text/plain"})
    assert response.status == 500
    assert "broken.html:2:1" in response.text_body()


async def test_engine_raises_located_errors_directly(app) -> None:
    with pytest.raises(TemplateRenderError, match=r"broken\.html:2:1: 'nope' is undefined"):
        app.extensions["templates"].render("broken.html")


async def test_controller_render_over_a_real_socket(app) -> None:
    async with serve_app(app) as base_url, httpx.AsyncClient() as client:
        response = await client.get(f"{base_url}/users")
        css = await client.get(f"{base_url}/assets/style.css")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == EXPECTED_USERS
    assert css.headers["content-type"] == "text/css; charset=utf-8"


async def test_globals_of_a_plugin_registered_after_start_are_used(app) -> None:
    class Footer:
        @hookimpl
        def rum_template_globals(self, request):
            return {"site_name": "Registered later"}

    engine = app.extensions["templates"]
    app.plugins.pm.register(Footer(), name="footer")
    assert "Registered later" in engine.render("layout.html")
    app.plugins.pm.unregister(name="footer")
    assert "Registered later" not in engine.render("layout.html")


async def test_async_globals_hook_is_refused_with_its_module(rum_app_factory) -> None:
    class AsyncGlobals:
        @hookimpl
        async def rum_template_globals(self, app, request):
            return {}

    with pytest.raises(RumError, match=r"rum_template_globals in .* is async"):
        rum_app_factory(plugins=["templates", AsyncGlobals()])


class Average(Controller):
    async def get(self, request: Request) -> Response:
        count = int(request.query.get("count", "0"))
        return await self.render("average.html", total=7, count=count)


@pytest.mark.parametrize("env", ["development", "production"])
async def test_integer_division_by_zero_is_a_located_error(
        rum_app_factory, tmp_path, env) -> None:
    write(tmp_path, "average.html", "<p>\n  Average: <%= total / count %>\n</p>\n")
    app = rum_app_factory([Average.route("/avg")], plugins=["templates"], env=env)
    with pytest.raises(TemplateRenderError,
                       match=r"^average\.html:2:12: ZeroDivisionError: divided by 0"):
        app.extensions["templates"].render("average.html", {"total": 7, "count": 0})
    async with serve_app(app) as base_url, httpx.AsyncClient() as client:
        ok = await client.get(f"{base_url}/avg?count=2")
        broken = await client.get(f"{base_url}/avg?count=0", headers={"accept": "text/plain"})
    assert ok.status_code == 200 and ok.text == "<p>\n  Average: 3\n</p>\n"
    assert broken.status_code == 500
    if env == "development":  # debug on: the kernel's debug page leads with the message
        assert "average.html:2:12: ZeroDivisionError: divided by 0" in broken.text
    else:  # production: a plain 500 page, nothing of the template or a traceback
        assert "Traceback" not in broken.text and "File " not in broken.text
        assert "average.html" not in broken.text and "divided" not in broken.text

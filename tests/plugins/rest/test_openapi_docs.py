"""OpenAPI security schemes, grammatical summaries, hand-written controllers, and the API docs
page served from vendored assets, over a real socket."""

from __future__ import annotations

import dataclasses
import gzip
import re
import uuid
from pathlib import Path
from typing import TypedDict

import httpx
import pytest
from openapi_spec_validator import validate

from rum import App, Controller, Request, Response
from rum_auth import BasicAuth
from rum_http.testing import serve_app
from rum_rest import FieldSpec, ModelController, Resource, openapi

STATIC = Path(__file__).resolve().parents[3] / "plugins" / "rum_rest" / "static"

ORDER = Resource("Order", "orders", {
    "id": FieldSpec("id", int, primary_key=True, has_default=True),
    "item": FieldSpec("item", str),
}, plural="orders")
USER = Resource("User", "users", {
    "id": FieldSpec("id", int, primary_key=True, has_default=True),
    "email": FieldSpec("email", str),
})
LINE = Resource("OrderLine", "order_lines", {
    "key": FieldSpec("key", uuid.UUID, primary_key=True, has_default=True),
}, primary_key="key")


@dataclasses.dataclass
class Totals:
    """Sums over the orders of one day."""

    day: str
    orders: int
    revenue: float | None = None


class TotalsQuery(TypedDict):
    day: str


class ReportController(Controller):
    """A hand-written API controller, described by its docstrings and path."""

    api = True

    async def get(self, request: Request) -> Response:
        """Show one report.

        The report's rows, newest first.
        """
        return Response.json({"id": request.path_params["id"]})

    async def delete(self, request: Request) -> Response:
        return Response.empty(204)


class TotalsController(Controller):
    """Not marked ``api``: documented because its methods carry ``@openapi``."""

    def auth(self) -> BasicAuth:
        return BasicAuth(user="ops", password="secret")

    @openapi(summary="Compute the totals of a day", request=TotalsQuery,
             response=list[Totals], responses={404: "No orders that day"}, tags=["Reports"])
    async def post(self, request: Request) -> Response:
        return Response.json([])

    @openapi(hidden=True)
    async def get(self, request: Request) -> Response:
        return Response.json([])


class HomePage(Controller):
    """An HTML page: not part of the API document."""

    async def get(self, request: Request) -> Response:
        return Response.html("<p>home</p>")


def make_app(tmp_path: Path, **config: dict[str, object]) -> App:
    routes = [*ModelController(ORDER, auth="token").crud("/api/orders"),
              *ModelController(USER, auth="session").crud("/api/users"),
              *ModelController(LINE).crud("/api/lines"),
              ReportController.route("/api/reports/<int:id>"),
              TotalsController.route("/api/totals"),
              HomePage.route("/")]
    settings = {"general": {"secret_key": "ab" * 32}, "auth": {"tokens": ["t0ken"]},
                "sessions": {"cookie_name": "shop_session"}, "http": {"access_log": False},
                **config}
    return App(routes, plugins=["http", "auth", "sessions", "rest"], root=tmp_path,
               env="development", config=settings)


async def test_security_schemes_summaries_and_handwritten_controllers(tmp_path: Path) -> None:
    async with serve_app(make_app(tmp_path)) as base, httpx.AsyncClient(base_url=base) as c:
        doc = (await c.get("/api/openapi.json")).json()
    validate(doc)
    assert doc["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer",
                       "description": "`Authorization: Bearer <token>`"},
        "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "shop_session",
                          "description": doc["components"]["securitySchemes"]
                          ["sessionCookie"]["description"]},
        "basicAuth": {"type": "http", "scheme": "basic"},
    }
    paths = doc["paths"]
    for verb in ("get", "post"):
        assert paths["/api/orders"][verb]["security"] == [{"bearerAuth": []}]
        assert {"401", "403"} <= set(paths["/api/orders"][verb]["responses"])
    for verb in ("get", "put", "patch", "delete"):
        assert paths["/api/users/{id}"][verb]["security"] == [{"sessionCookie": []}]
    assert "security" not in paths["/api/lines"]["get"]  # no auth, no security
    assert "401" not in paths["/api/lines"]["get"]["responses"]

    summaries = {(p, v): op["summary"] for p, item in paths.items()
                 for v, op in item.items() if v != "parameters"}
    assert summaries[("/api/orders", "post")] == "Create an order"
    assert summaries[("/api/orders", "get")] == "List orders"
    assert summaries[("/api/users/{id}", "get")] == "Get a user"
    assert summaries[("/api/users/{id}", "delete")] == "Delete a user"
    assert summaries[("/api/lines", "post")] == "Create an order line"
    assert summaries[("/api/lines", "get")] == "List order lines"
    assert summaries[("/api/lines/{id}", "patch")] == "Update some fields of an order line"
    assert not any(re.search(r"\ba [aeio]|[A-Z][a-z]+ a [A-Z]", s) for s in summaries.values())

    report = paths["/api/reports/{id}"]
    assert report["parameters"] == [{"name": "id", "in": "path", "required": True,
                                     "schema": {"type": "integer"}}]
    assert report["get"]["summary"] == "Show one report."
    assert report["get"]["description"] == "The report's rows, newest first."
    assert report["delete"]["summary"] == "Delete reports"  # no docstring: verb and path
    assert set(report) == {"parameters", "get", "delete"}

    totals = paths["/api/totals"]
    assert set(totals) == {"post"}  # the hidden GET is left out
    post = totals["post"]
    assert post["summary"] == "Compute the totals of a day" and post["tags"] == ["Reports"]
    assert post["security"] == [{"basicAuth": []}]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TotalsQuery"}
    assert post["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "array", "items": {"$ref": "#/components/schemas/Totals"}}
    assert post["responses"]["404"]["description"] == "No orders that day"
    schemas = doc["components"]["schemas"]
    assert schemas["Totals"]["required"] == ["day", "orders"]
    assert schemas["Totals"]["properties"]["revenue"] == {
        "anyOf": [{"type": "number"}, {"type": "null"}]}
    assert schemas["Totals"]["description"] == "Sums over the orders of one day."
    assert "/" not in paths and "/api/docs" not in paths and "/api/openapi.json" not in paths


async def test_docs_page_serves_vendored_swagger_ui(tmp_path: Path) -> None:
    async with serve_app(make_app(tmp_path)) as base, httpx.AsyncClient(base_url=base) as c:
        page = await c.get("/api/docs")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        html = page.text
        assert 'data-spec-url="/api/openapi.json"' in html
        assert "<title>Rum API · API docs</title>" in html
        assert "//" not in html.replace("<!doctype", "")  # no absolute URL: nothing off-site
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sorted(s.split("?")[0] for s in sources) == [
            "/api/docs/rum-api-docs.js", "/api/docs/swagger-ui-bundle.js",
            "/api/docs/swagger-ui.css"]
        for src in sources:
            r = await c.get(src, headers={"accept-encoding": "identity"})
            name = src.split("?")[0].rsplit("/", 1)[1]
            assert r.status_code == 200 and r.content == (STATIC / name).read_bytes()
            kind = "text/css" if name.endswith(".css") else "javascript"
            assert kind in r.headers["content-type"]
        bundle = await c.get("/api/docs/swagger-ui-bundle.js",
                             headers={"accept-encoding": "gzip"})
        assert bundle.status_code == 200  # httpx inflates the precompressed sibling
        assert bundle.headers.get("content-encoding") == "gzip"
        assert bundle.content == (STATIC / "swagger-ui-bundle.js").read_bytes()
        assert gzip.decompress((STATIC / "swagger-ui-bundle.js.gz").read_bytes()) == \
            bundle.content
        etag = bundle.headers["etag"]
        again = await c.get("/api/docs/swagger-ui-bundle.js",
                            headers={"if-none-match": etag, "accept-encoding": "gzip"})
        assert again.status_code == 304
        for name in ("VERSION-swagger-ui.txt", "../docs.py", "nope.js"):
            assert (await c.get(f"/api/docs/{name}")).status_code == 404
    version = (STATIC / "VERSION-swagger-ui.txt").read_text()
    assert "license (package.json): Apache-2.0" in version
    assert re.search(r"tarball sha256: [0-9a-f]{64}", version)
    assert (STATIC / "LICENSE-swagger-ui.txt").read_text().startswith("\n") or \
        "Apache License" in (STATIC / "LICENSE-swagger-ui.txt").read_text()


async def test_docs_path_settings(tmp_path: Path) -> None:
    app = make_app(tmp_path, rest={"docs_path": "/docs/api", "title": "Shop <&>"})
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as c:
        page = await c.get("/docs/api")
        assert "<title>Shop &lt;&amp;&gt; · API docs</title>" in page.text
        assert (await c.get("/docs/api/rum-api-docs.js")).status_code == 200
        assert (await c.get("/api/docs")).status_code == 404
    app = make_app(tmp_path / "off", rest={"docs_path": ""})
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as c:
        assert (await c.get("/api/docs")).status_code == 404
        assert (await c.get("/api/openapi.json")).status_code == 200
    with pytest.raises(Exception, match=r"\[rest\] docs_path must be a path starting with"):
        make_app(tmp_path / "bad", rest={"docs_path": "docs"})


def render_in_browser(base: str) -> dict[str, object]:
    """Open the docs page in headless Chromium with every off-site request refused; return
    what Swagger UI rendered."""
    from browser_helpers import launch_chromium
    from playwright.sync_api import sync_playwright

    offsite: list[str] = []
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page()

            def only_local(route: object) -> None:
                url = route.request.url  # type: ignore[attr-defined]
                if url.startswith(base) or url.startswith("data:"):
                    route.continue_()  # type: ignore[attr-defined]
                else:
                    offsite.append(url)
                    route.abort()  # type: ignore[attr-defined]

            page.route("**/*", only_local)
            page.goto(f"{base}/api/docs")
            page.wait_for_selector(".opblock-summary", timeout=30_000)
            summaries = page.locator(".opblock-summary-description").all_inner_texts()
            authorize = page.locator("button.authorize").count()
            title = page.locator(".info .title").first.inner_text(timeout=10_000)
        finally:
            browser.close()
    return {"summaries": summaries, "authorize": authorize, "offsite": offsite,
            "title": title}


@pytest.mark.slow
async def test_swagger_ui_renders_the_document_without_a_cdn(tmp_path: Path) -> None:
    import trio
    from browser_helpers import needs_chromium

    if needs_chromium.args[0]:
        pytest.skip(needs_chromium.kwargs["reason"])
    async with serve_app(make_app(tmp_path)) as base:
        seen = await trio.to_thread.run_sync(render_in_browser, base)
    assert seen["offsite"] == []
    assert "Create an order" in seen["summaries"] and "List order lines" in seen["summaries"]
    assert "Compute the totals of a day" in seen["summaries"]
    assert seen["authorize"] == 1  # the security schemes give the "Authorize" button
    assert str(seen["title"]).startswith("Rum API")

"""Hook implementations of the REST plugin: ``[rest]`` settings, the OpenAPI route and the
API docs page."""

from __future__ import annotations

from typing import Any

from rum import App, Controller, Request, Response, Setting, hookimpl
from rum.config import Config
from rum.errors import ConfigError
from rum_rest.docs import DocsAssets, DocsPage
from rum_rest.openapi import build_document

name = "rest"


class OpenAPIController(Controller):
    """``GET /api/openapi.json``: the OpenAPI 3.1 document of the app's model controllers."""

    async def get(self, request: Request) -> Response:
        """The document, built on first request and cached in ``app.extensions``."""
        app = request.app
        assert isinstance(app, App)  # the document is built from the app's router
        state = app.extensions["rest"]
        if state.get("document") is None:  # routes are fixed once the app is built
            state["document"] = build_document(app, title=state["title"],
                                               version=state["version"])
        return Response.json(state["document"])


@hookimpl
def rum_config_schema() -> dict[str, dict[str, Any]]:
    """``[rest]``: page sizes and the OpenAPI document."""
    return {"rest": {
        "default_limit": Setting(25, int, "page size when ?limit= is not given"),
        "max_limit": Setting(100, int, "largest ?limit= accepted"),
        "openapi_path": Setting("/api/openapi.json", str,
                                "where the OpenAPI document is served (empty: nowhere)"),
        "docs_path": Setting("/api/docs", str,
                             "where the API docs page (vendored Swagger UI) is served "
                             "(empty: nowhere; needs openapi_path)"),
        "title": Setting("Rum API", str, "info.title of the OpenAPI document"),
        "version": Setting("1.0.0", str, "info.version of the OpenAPI document"),
    }}


@hookimpl
def rum_configure(config: Config, app: App) -> None:
    """Check the page sizes; keep the document settings in ``app.extensions["rest"]``."""
    default = config.get_int("rest", "default_limit") or 0
    top = config.get_int("rest", "max_limit") or 0
    if not 1 <= default <= top:
        raise ConfigError(f"{config.describe_file()}: [rest] needs 1 <= default_limit <= "
                          f"max_limit, got default_limit = {default}, max_limit = {top}")
    for key in ("openapi_path", "docs_path"):
        value = config.get_str("rest", key) or ""
        if value and not value.startswith("/"):
            raise ConfigError(f"{config.describe_file()}: [rest] {key} must be a path "
                              f"starting with '/' (or empty), got {value!r}")
    app.extensions["rest"] = {"title": config.get_str("rest", "title"),
                              "version": config.get_str("rest", "version"), "document": None}


@hookimpl
def rum_routes(app: App) -> list[Any]:
    """The OpenAPI document route, and the docs page with its assets."""
    path = app.config.get_str("rest", "openapi_path")
    if not path:
        return []
    routes = [OpenAPIController.route(path, name="openapi")]
    docs = (app.config.get_str("rest", "docs_path") or "").rstrip("/")
    if docs:
        title = app.config.get_str("rest", "title") or "Rum API"
        routes += [DocsPage(title, path, docs).route(docs, name="api_docs"),
                   DocsAssets().route(f"{docs}/<path:path>", name="api_docs_assets")]
    return routes

"""The API docs page (``[rest] docs_path``, ``/api/docs`` by default): Swagger UI, vendored in
``static/`` by ``scripts/vendor_swagger_ui.py`` (no CDN), reading the OpenAPI document."""

from __future__ import annotations

import html
from pathlib import Path

from rum import Controller, NotFound, Request, Response
from rum_static import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"

#: The files the page loads (everything else in ``static/`` is not served).
ASSETS = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "rum-api-docs.js"})


def swagger_ui_version() -> str:
    """The vendored Swagger UI version (from ``static/VERSION-swagger-ui.txt``)."""
    try:
        for line in (STATIC_DIR / "VERSION-swagger-ui.txt").read_text().splitlines():
            if line.startswith("version:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def docs_page(title: str, spec_url: str, assets: str) -> str:
    """The HTML of the docs page: the vendored stylesheet and scripts under ``assets``."""
    v = html.escape(swagger_ui_version(), quote=True)
    a = html.escape(assets.rstrip("/"), quote=True)
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)} · API docs</title>\n"
        f'<link rel="stylesheet" href="{a}/swagger-ui.css?v={v}">\n</head>\n<body>\n'
        f'<div id="swagger-ui" data-spec-url="{html.escape(spec_url, quote=True)}"></div>\n'
        f'<script src="{a}/swagger-ui-bundle.js?v={v}"></script>\n'
        f'<script src="{a}/rum-api-docs.js?v={v}"></script>\n</body>\n</html>\n')


class DocsPage(Controller):
    """``GET [rest] docs_path``: the Swagger UI page for ``[rest] openapi_path``."""

    def __init__(self, title: str, spec_url: str, assets: str) -> None:
        self.body = docs_page(title, spec_url, assets)

    async def get(self, request: Request) -> Response:
        """The page (HTML; the viewer loads the document from the same origin)."""
        response = Response.html(self.body)
        response.headers["cache-control"] = "no-cache"
        return response


class DocsAssets(StaticFiles):
    """``GET [rest] docs_path/<file>``: the vendored Swagger UI files (ETag, 304, gzip)."""

    def __init__(self) -> None:
        super().__init__(STATIC_DIR, max_age=86_400)

    async def handle(self, request: Request) -> Response:
        """One of :data:`ASSETS`; 404 for anything else, naming the fix if one is missing."""
        name = request.path_params.get("path", "")
        if name not in ASSETS:
            raise NotFound(f"no API docs asset {name[:60]!r}")
        response = await self.serve(request, name)
        if response is None:
            raise NotFound(f"{name} is missing from {STATIC_DIR}: run "
                           "`python scripts/vendor_swagger_ui.py`")
        return response

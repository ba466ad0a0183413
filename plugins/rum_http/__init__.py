"""Rum's HTTP/1.1 server plugin on trio (httptools parser); see ``docs/http.md``."""

from rum_http.server import HTTPServer
from rum_http.settings import ServerSettings
from rum_http.testing import serve_app

__all__ = ["HTTPServer", "ServerSettings", "serve_app"]

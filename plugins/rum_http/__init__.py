"""Rum's HTTP/1.1 server plugin on trio (httptools parser); see ``docs/http.md``."""

from rum_http.server import HTTPServer
from rum_http.settings import ServerSettings

__all__ = ["HTTPServer", "ServerSettings"]

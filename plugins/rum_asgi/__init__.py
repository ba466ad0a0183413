"""Serve a Rum app from an ASGI 3 server that runs on trio (hypercorn's trio worker).

It lives outside the kernel: an app served by Rum's own ``http`` plugin never imports it.
"""

from rum_asgi.adapter import asgi_app

__all__ = ["asgi_app"]

"""One node with the turbo plugin, served in its own process for the presence tests.

``python presence_node.py DATABASE_URL ROOT SECRET`` prints the server's base URL on one
line, then serves until killed (the test kills it with SIGKILL: no cleanup runs).
"""

from __future__ import annotations

import sys

import trio

from rum import App
from rum_http.testing import serve_app
from rum_turbo import set_presence_meta


async def main(url: str, root: str, secret: str) -> None:
    app = App([], plugins=["http", "orm", "websockets", "turbo"], root=root, config={
        "general": {"secret_key": secret},
        "database": {"url": url, "pool_max": 2},
        "turbo": {"presence_heartbeat": 0.3, "presence_ttl": 1.0}})
    set_presence_meta(app, lambda ws: {"name": ws.request.query.get("who", "guest")})
    async with serve_app(app) as base:
        print(base, flush=True)
        await trio.sleep_forever()


if __name__ == "__main__":
    trio.run(main, sys.argv[1], sys.argv[2], sys.argv[3])

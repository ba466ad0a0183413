"""A chat-room app served in its own process for the cross-process broadcast test.

``python broadcast_server.py DATABASE_URL ROOT`` prints the server's base URL on one line,
then serves until killed.
"""

from __future__ import annotations

import sys

import trio

from rum import App
from rum_http.testing import serve_app
from rum_websockets import WebSocketController, broadcast


class Room(WebSocketController):
    ping_interval = 0

    async def connect(self, ws):
        await ws.subscribe("room")
        await ws.send_text("subscribed")

    async def receive(self, ws, message):
        await broadcast("room", message)  # the current app: the one serving this socket


async def main(url: str, root: str) -> None:
    app = App([Room.route("/room")], plugins=["http", "orm", "websockets"], root=root,
              config={"database": {"url": url, "pool_max": 2}})
    async with serve_app(app) as base:
        print(base, flush=True)
        await trio.sleep_forever()


if __name__ == "__main__":
    trio.run(main, sys.argv[1], sys.argv[2])

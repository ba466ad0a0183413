"""Broadcasts between two app instances whose pools go through PgBouncer (transaction
pooling): NOTIFY (and the large-payload table) through the pooler, LISTEN on ``direct_url``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rum import App
from rum_http import serve_app
from rum_websockets import WebSocketController, broadcast

pytestmark = pytest.mark.postgres


class Room(WebSocketController):
    ping_interval = 0

    async def connect(self, ws: Any) -> None:
        await ws.subscribe("room")
        await ws.send_text("subscribed")

    async def receive(self, ws: Any, message: Any) -> None:
        await broadcast("room", message)


def node(root: Path, pgbouncer: Any, pooled_url: str, direct_url: str) -> App:
    cache = 100 if pgbouncer.tracks_prepared_statements else 0
    return App([Room.route("/room")], plugins=["http", "orm", "websockets"], root=root,
               config={"database": {"url": pooled_url, "direct_url": direct_url,
                                    "statement_cache_size": cache, "pool_max": 3}})


async def test_broadcast_crosses_apps_through_the_pooler(pgbouncer: Any, pgbouncer_url: str,
                                                         database_url: str, tmp_path: Path,
                                                         ws_connect: Any) -> None:
    a = node(tmp_path, pgbouncer, pgbouncer_url, database_url)
    b = node(tmp_path, pgbouncer, pgbouncer_url, database_url)
    async with serve_app(a) as url_a, serve_app(b) as url_b, \
            ws_connect(url_a, "/room") as alice, ws_connect(url_b, "/room") as bob:
        assert await alice.receive() == "subscribed"
        assert await bob.receive() == "subscribed"
        for i in range(5):
            await alice.send(f"hello {i}")
            assert await bob.receive(timeout=5) == f"hello {i}"
            assert await alice.receive(timeout=5) == f"hello {i}"
        big = "z" * 20_000  # over NOTIFY's limit: stored through the pooler, id notified
        await bob.send(big)
        assert await alice.receive(timeout=10) == big
        assert await bob.receive(timeout=10) == big
        listeners = await a.storage.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND query ILIKE 'LISTEN%'")
        assert listeners == 2  # one direct LISTEN session per app

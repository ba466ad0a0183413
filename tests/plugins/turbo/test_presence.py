"""Presence across nodes: two apps (two servers on different ports) on one PostgreSQL
database, WebSocket clients; a leave on close; a node killed with SIGKILL expires."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import trio

from rum import App
from rum_http.testing import serve_app
from rum_turbo import presence_for, set_presence_meta, sign_stream_name
from rum_websockets import subscribe

pytestmark = pytest.mark.postgres
SECRET = "0f" * 32
NODE = Path(__file__).with_name("presence_node.py")


def make_app(rum_app_factory: Any, database_url: str) -> App:
    app = rum_app_factory([], plugins=["http", "orm", "websockets", "turbo"], config={
        "general": {"secret_key": SECRET},
        "database": {"url": database_url, "pool_max": 3},
        "turbo": {"presence_heartbeat": 0.3, "presence_ttl": 1.0}})
    set_presence_meta(app, lambda ws: {"name": ws.request.query.get("who", "guest")})
    return app


def room(app_or_none: Any, who: str) -> str:
    signed = quote(sign_stream_name(app_or_none, "room"), safe="")
    return f"/_rum/turbo-streams?channel={signed}&presence=1&who={who}"


async def names(app: App) -> list[str]:
    return sorted(e.meta["name"] for e in await presence_for(app).list("room"))


async def wait_for(app: App, expected: list[str], seconds: float = 5) -> None:
    with trio.fail_after(seconds):
        while await names(app) != expected:
            await trio.sleep(0.05)


async def next_list(ws: Any) -> list[str]:
    """The names in the next presence update the page receives."""
    while True:
        message = await ws.receive(timeout=5)
        if 'target="presence_room"' in message:
            return sorted(part.split(">", 1)[1].split("<", 1)[0]
                          for part in message.split("<li ")[1:])


async def test_join_and_leave_across_two_nodes(rum_app_factory, database_url, db, ws_connect):
    a = make_app(rum_app_factory, database_url)
    b = make_app(rum_app_factory, database_url)
    async with serve_app(a) as url_a, serve_app(b) as url_b, \
            subscribe("turbo-presence:room", app=a) as events:
        async with ws_connect(url_a, room(a, "alice")) as alice:
            assert await next_list(alice) == ["alice"]
            async with ws_connect(url_b, room(b, "bob")):
                assert await next_list(alice) == ["alice", "bob"]
                entries = await presence_for(b).list("room")
                assert {e.node for e in entries} == {presence_for(a).node, presence_for(b).node}
                assert await names(a) == ["alice", "bob"]
            # bob's page closed: his node announces the leave
            assert await next_list(alice) == ["alice"]
            assert await names(b) == ["alice"]
        with trio.fail_after(5):
            got = [json.loads(await events.receive()) for _ in range(4)]
    assert [(e["event"], e["meta"]["name"]) for e in got] == [
        ("join", "alice"), ("join", "bob"), ("leave", "bob"), ("leave", "alice")]
    assert await db.fetchval("SELECT count(*) FROM rum_presence") == 0
    assert await db.fetchval("SELECT relpersistence FROM pg_class WHERE relname = "
                             "'rum_presence'") == b"u"  # UNLOGGED


@asynccontextmanager
async def node_process(database_url: str, root: Path) -> AsyncIterator[tuple[str, Any]]:
    proc = await trio.lowlevel.open_process(
        [sys.executable, str(NODE), database_url, str(root), SECRET],
        stdout=subprocess.PIPE, cwd=str(Path(__file__).parents[3]))
    try:
        line = b""
        with trio.fail_after(30):
            while not line.endswith(b"\n"):
                chunk = await proc.stdout.receive_some(1024)
                if not chunk:
                    raise RuntimeError(f"{NODE.name} exited before serving")
                line += chunk
        yield line.decode().strip(), proc
    finally:
        if proc.returncode is None:
            proc.kill()
        with trio.CancelScope(shield=True):
            await proc.wait()
        await proc.stdout.aclose()


async def test_a_killed_nodes_entries_expire_after_the_ttl(rum_app_factory, database_url, db,
                                                            ws_connect, tmp_path):
    a = make_app(rum_app_factory, database_url)
    async with serve_app(a) as url_a, node_process(database_url, tmp_path) as (url_k, proc), \
            ws_connect(url_a, room(a, "alice")) as alice:
        assert await next_list(alice) == ["alice"]
        async with ws_connect(url_k, room(a, "kim")):
            assert await next_list(alice) == ["alice", "kim"]
            proc.send_signal(signal.SIGKILL)  # no leave, no cleanup
            await proc.wait()
            killed_at = trio.current_time()
            # the entry stays in the table until it expires...
            assert await db.fetchval("SELECT count(*) FROM rum_presence") == 2
            # ...and alice's node drops it and tells her page within ttl + a heartbeat
            assert await next_list(alice) == ["alice"]
            assert trio.current_time() - killed_at < 1.0 + 0.3 + 1.0  # ttl, heartbeat, slack
            assert await names(a) == ["alice"]

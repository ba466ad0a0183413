"""Broadcasts between server processes through PostgreSQL LISTEN/NOTIFY."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from rum import jsonutil
from rum_websockets import PubSub

pytestmark = pytest.mark.postgres
SERVER = Path(__file__).with_name("broadcast_server.py")


@asynccontextmanager
async def server_process(database_url: str, root: Path) -> AsyncIterator[str]:
    """Run broadcast_server.py in a child process; yield its base URL."""
    proc = await trio.lowlevel.open_process(
        [sys.executable, str(SERVER), database_url, str(root)],
        stdout=subprocess.PIPE, cwd=str(Path(__file__).parents[3]))
    try:
        line = b""
        with trio.fail_after(30):
            while not line.endswith(b"\n"):
                chunk = await proc.stdout.receive_some(1024)
                if not chunk:
                    raise RuntimeError(f"{SERVER.name} exited before serving")
                line += chunk
        yield line.decode().strip()
    finally:
        proc.terminate()
        with trio.CancelScope(shield=True):
            await proc.wait()
        await proc.stdout.aclose()


async def test_broadcast_reaches_clients_of_another_process(database_url, db, tmp_path,
                                                             ws_connect):
    async with server_process(database_url, tmp_path) as url_a, \
            server_process(database_url, tmp_path) as url_b:
        assert url_a != url_b
        async with ws_connect(url_a, "/room") as alice, ws_connect(url_b, "/room") as bob:
            assert await alice.receive() == "subscribed"
            assert await bob.receive() == "subscribed"
            await alice.send("hello from A")
            assert await bob.receive() == "hello from A"
            assert await alice.receive() == "hello from A"
            await bob.send(b"\x00binary from B")
            assert await alice.receive() == b"\x00binary from B"
            assert await bob.receive() == b"\x00binary from B"
            big = "z" * 20_000  # over the NOTIFY payload limit: goes through the table
            await bob.send(big)
            assert await alice.receive(timeout=10) == big
            assert await bob.receive(timeout=10) == big
    assert await db.fetchval("SELECT count(*) FROM rum_broadcasts") == 1


async def test_hub_without_storage_stays_local(rum_app_factory):
    app = rum_app_factory(plugins=["websockets"])
    hub = PubSub(app)
    async with app.running(), hub.subscribe("news") as messages:
        await hub.broadcast("news", "local only")
        await hub.broadcast("other", "not for us")
        await hub.broadcast("news", {"n": 1})
        with trio.fail_after(2):
            assert await messages.receive() == "local only"
            assert await messages.receive() == jsonutil.dumps({"n": 1})


async def test_in_process_subscribe_and_quiet_shutdown(database_url, rum_app_factory, caplog):
    from rum_websockets import broadcast, subscribe

    app = rum_app_factory(plugins=["orm", "websockets"],
                          config={"database": {"url": database_url, "pool_max": 2}})
    async with app.running(), subscribe("jobs", app=app) as messages:
        await broadcast("jobs", {"done": 3}, app=app)
        await broadcast("jobs", b"\x01\x02", app=app)
        with trio.fail_after(5):
            assert await messages.receive() == jsonutil.dumps({"done": 3})
            assert await messages.receive() == b"\x01\x02"
    errors = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert errors == []


async def test_broadcast_in_a_transaction_waits_for_commit(database_url, rum_app_factory):
    from rum_websockets import broadcast, subscribe

    app = rum_app_factory(plugins=["orm", "websockets"],
                          config={"database": {"url": database_url, "pool_max": 2}})
    async with app.running(), subscribe("orders", app=app) as messages:
        db = app.storage

        class Rollback(Exception):
            pass

        try:
            async with db.transaction():
                await broadcast("orders", "rolled back", app=app)
                raise Rollback
        except Rollback:
            pass
        async with db.transaction():
            await broadcast("orders", "committed", app=app)
            with trio.move_on_after(0.3):
                early = await messages.receive()
                raise AssertionError(f"delivered before commit: {early!r}")
        with trio.fail_after(5):
            assert await messages.receive() == "committed"
        with trio.move_on_after(0.3):
            extra = await messages.receive()
            raise AssertionError(f"unexpected message {extra!r}")

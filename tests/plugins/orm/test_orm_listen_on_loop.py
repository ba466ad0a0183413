"""``db.listen(channel, on_loop=...)``: notifications seen first on the bridge's asyncio thread,
kept from the iterator when the callback says so, delivered when it raises."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
import trio

from rum_orm import Database


async def test_on_loop_sees_each_notification_first_on_the_bridge_thread(
        db: Database, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[tuple[str, str, bool]] = []

    def on_loop(payload: str) -> bool:
        running = asyncio.get_running_loop() is db.bridge.loop
        seen.append((payload, threading.current_thread().name, running))
        if payload == "boom":
            raise ValueError("boom")
        return payload.startswith("keep:")

    got: list[str] = []
    caplog.set_level(logging.ERROR, logger="rum.orm")
    async with db.listen("news", on_loop=on_loop) as payloads:
        for payload in ("one", "keep:two", "boom", "three"):
            await db.notify("news", payload)
        with trio.fail_after(5):
            async for payload in payloads:
                got.append(payload)
                if payload == "three":
                    break
    assert [p for p, _, _ in seen] == ["one", "keep:two", "boom", "three"]
    # on the bridge's thread, inside its running asyncio loop
    assert all(name == db.bridge.name and running for _, name, running in seen)
    assert got == ["one", "boom", "three"]  # "keep:two" was kept by the callback
    assert any("on_loop failed" in r.getMessage() for r in caplog.records)


async def test_on_loop_can_start_asyncpg_work_at_once(db: Database) -> None:
    """What the jobs worker does: a statement sent from the callback, on the loop."""
    await db.execute("CREATE TABLE seen (payload text)")
    answered: list[str] = []
    done = trio.Event()
    token = trio.lowlevel.current_trio_token()

    raws: list[object] = []
    held = trio.Event()

    async def hold() -> None:  # a connection of its own task: db.notify below uses another
        async with db.connection() as conn:
            raws.append(conn.raw)
            held.set()
            await done.wait()

    def on_loop(payload: str) -> bool:
        task = asyncio.get_running_loop().create_task(
            raws[0].fetchval("INSERT INTO seen VALUES ($1) RETURNING payload", payload))  # type: ignore[attr-defined]
        task.add_done_callback(lambda t: (answered.append(t.result()),
                                          token.run_sync_soon(done.set)))
        return True

    async with trio.open_nursery() as nursery:
        nursery.start_soon(hold)
        await held.wait()
        async with db.listen("work", on_loop=on_loop):
            await db.notify("work", "x")
            with trio.fail_after(5):
                await done.wait()
    assert answered == ["x"]
    assert await db.fetchval("SELECT payload FROM seen") == "x"

"""The trio → asyncio bridge under concurrency: batched wake-ups hand every result to the task
that asked for it, cancellation still waits for the coroutine to unwind, restarts work."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import trio

from rum_orm import Database
from rum_orm.bridge import AsyncioThread, BridgeClosed


async def _echo_after(value: int, delay: float) -> int:
    await asyncio.sleep(delay)
    return value


async def _fail(value: int, _delay: float = 0) -> int:
    raise ValueError(f"failed {value}")


def _sleeps_long(unwound: list[int]) -> Callable[[int, float], Awaitable[int]]:
    """A coroutine function that sleeps 10 s and notes in ``unwound`` that it was cancelled
    (or finished)."""
    async def slow(i: int, _delay: float) -> int:
        try:
            await asyncio.sleep(10)
        finally:
            unwound.append(i)
        return i
    return slow


async def test_many_concurrent_calls_each_get_their_own_result() -> None:
    bridge = AsyncioThread()
    await bridge.start()
    results: dict[int, int] = {}
    try:
        async def one(i: int) -> None:
            # Finishing together, so many results share one wake-up.
            results[i] = await bridge.run(_echo_after, i * 3, 0.01 if i % 2 else 0)

        async with trio.open_nursery() as nursery:
            for i in range(200):
                nursery.start_soon(one, i)
    finally:
        await bridge.stop()
    assert results == {i: i * 3 for i in range(200)}


async def test_errors_and_values_in_one_batch_reach_the_right_tasks() -> None:
    bridge = AsyncioThread()
    await bridge.start()
    outcomes: dict[int, object] = {}
    try:
        async def one(i: int) -> None:
            try:
                outcomes[i] = await bridge.run(_fail if i % 3 == 0 else _echo_after, i, 0)
            except ValueError as exc:
                outcomes[i] = str(exc)

        async with trio.open_nursery() as nursery:
            for i in range(60):
                nursery.start_soon(one, i)
    finally:
        await bridge.stop()
    assert outcomes == {i: f"failed {i}" if i % 3 == 0 else i for i in range(60)}


async def test_cancelling_some_calls_of_a_batch_leaves_the_others_alone() -> None:
    bridge = AsyncioThread()
    await bridge.start()
    unwound: list[int] = []
    slow = _sleeps_long(unwound)

    done: dict[int, int] = {}
    cancelled: list[int] = []
    try:
        async def one(i: int) -> None:
            with trio.move_on_after(0.05) if i % 2 else trio.CancelScope() as scope:
                done[i] = await bridge.run(slow if i % 2 else _echo_after, i, 0.1)
            if scope.cancelled_caught:
                # The trio task resumed only after the coroutine unwound on the loop.
                assert i in unwound
                cancelled.append(i)

        async with trio.open_nursery() as nursery:
            for i in range(40):
                nursery.start_soon(one, i)
    finally:
        await bridge.stop()
    assert done == {i: i for i in range(0, 40, 2)}
    assert sorted(cancelled) == list(range(1, 40, 2))


async def test_bridge_restarts_within_one_trio_run() -> None:
    bridge = AsyncioThread()
    for _ in range(3):
        await bridge.start()
        assert await bridge.run(_echo_after, 7, 0) == 7
        await bridge.stop()
    with pytest.raises(BridgeClosed):
        await bridge.run(_echo_after, 1, 0)


async def test_one_bridge_serves_two_trio_runs_in_turn() -> None:
    bridge = AsyncioThread()

    async def use() -> int:
        await bridge.start()
        try:
            return await bridge.run(_echo_after, 5, 0)
        finally:
            await bridge.stop()

    assert await trio.to_thread.run_sync(trio.run, use) == 5
    assert await use() == 5


async def test_concurrent_queries_on_a_small_pool_get_their_own_rows(database_url: str) -> None:
    async with Database.open(database_url, pool_min=1, pool_max=2) as db:
        got: dict[int, int] = {}

        async def one(i: int) -> None:
            got[i] = await db.fetchval("SELECT $1::int * 2", i)

        async with trio.open_nursery() as nursery:
            for i in range(100):
                nursery.start_soon(one, i)
        assert got == {i: i * 2 for i in range(100)}
        assert db.pool_stats()["in_use"] == 0


async def test_calls_in_flight_when_the_bridge_stops_all_resume() -> None:
    bridge = AsyncioThread()
    await bridge.start()
    errors: list[str] = []

    async def one(i: int) -> None:
        try:
            await bridge.run(_echo_after, i, 30)
        except BridgeClosed as exc:
            errors.append(str(exc))

    with trio.fail_after(10):  # a lost wake-up would leave a task waiting forever
        async with trio.open_nursery() as nursery:
            for i in range(50):
                nursery.start_soon(one, i)
            await trio.sleep(0.1)
            await bridge.stop()
    assert len(errors) == 50
    assert all("closed while a query was running" in e for e in errors)


async def test_orm_statements_are_prepared_once_and_reused(database_url: str) -> None:
    from rum_orm import Model

    class Gadget(Model):
        id: int | None = None
        name: str
        weight: int = 0

    async with Database.open(database_url, pool_min=1, pool_max=1) as db:
        await db.execute("CREATE TABLE gadgets (id bigserial PRIMARY KEY, name text NOT NULL, "
                         "weight int NOT NULL DEFAULT 0)")
        await db.executemany("INSERT INTO gadgets (name, weight) VALUES ($1, $2)",
                             [(f"g{i}", i) for i in range(50)])
        for i in range(30):
            rows = await Gadget.filter_gt("weight", i).order("id").limit(5).fetch_all(db)
            assert [g.weight for g in rows] == list(range(i + 1, i + 6))
            assert (await Gadget.find(rows[0].id).fetch(db)).name == f"g{i + 1}"
        sql = Gadget.filter_gt("weight", 0).order("id").limit(5).to_sql()
        # One pooled connection: the ORM's one-shot queries and this one share it.
        prepared = await db.fetch("SELECT statement FROM pg_prepared_statements")
        texts = [r["statement"] for r in prepared]
        assert texts.count(sql) == 1
        assert sum("FROM \"gadgets\"" in t for t in texts) == 2


@pytest.mark.parametrize("leader_outcome", ["finishes first", "is cancelled"])
async def test_the_task_waiting_on_the_wake_up_socket_hands_on_the_lead(
        leader_outcome: str) -> None:
    """The first waiting task leads (waits on the wake-up socket); when its own call ends
    first, or it is cancelled, the tasks that wait behind it still get their results."""
    bridge = AsyncioThread()
    await bridge.start()
    unwound: list[int] = []
    slow = _sleeps_long(unwound)

    results: dict[int, int] = {}
    try:
        async def leader() -> None:
            if leader_outcome == "finishes first":
                results[0] = await bridge.run(_echo_after, 0, 0.02)
                return
            with trio.move_on_after(0.05) as scope:
                await bridge.run(slow, 0, 0)
            assert scope.cancelled_caught and unwound == [0]

        async def follower(i: int) -> None:
            results[i] = await bridge.run(_echo_after, i, 0.2)

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(leader)
                await trio.sleep(0.005)
                for i in range(1, 10):
                    nursery.start_soon(follower, i)
    finally:
        await bridge.stop()
    expected = range(10) if leader_outcome == "finishes first" else range(1, 10)
    assert results == {i: i for i in expected}

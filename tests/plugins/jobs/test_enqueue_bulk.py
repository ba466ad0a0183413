"""Bulk enqueue (``enqueue_many``): one statement of parallel text arrays, every row stored as
given, ids in input order, bad data refused before anything reaches PostgreSQL."""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections import OrderedDict
from typing import Any

import pytest

from rum_jobs import Job, JobRecord, NewJob, Unique, enqueue_many, get_job, list_jobs, payload, sql
from rum_jobs.store import insert_columns, insert_jobs

pytestmark = pytest.mark.postgres


class Bulk(Job):
    async def execute(self, args: Any) -> None:
        return None


class Other(Job):
    queue = "other"
    priority = 4
    max_attempts = 2
    timeout = 7.5
    channel = "other-channel"

    async def execute(self, args: Any) -> None:
        return None


class Level(enum.IntEnum):
    HIGH = 9


async def stored(db: Any, job_id: int) -> JobRecord:
    row = await get_job(db, job_id)
    assert row is not None, job_id
    return row


async def test_mixed_options_come_back_in_input_order(jdb: Any) -> None:
    at = dt.datetime(2031, 5, 6, 7, 8, 9, 250_000,
                     tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30)))
    rows = [
        Bulk.build({"n": 0}),
        Other.build({"n": 1}, tags=["x", "y"]),
        Bulk.build({"n": 2}, run_at=at, priority=-2, max_attempts=1),
        Bulk.build({"n": 3}, run_in=3600.25, queue="later", channel="c", timeout=0.5),
        Other.build({"n": 4}, channel=None, timeout=None, tags=()),  # None: the class's
        Bulk.build(None, priority=Level.HIGH),
        Bulk.build({"n": 6}, run_in=dt.timedelta(milliseconds=1500)),
    ]
    before = await jdb.fetchval("SELECT now()")
    ids = await enqueue_many(rows, db=jdb)
    assert len(ids) == len(rows) and ids == sorted(ids)
    got = [await stored(jdb, i) for i in ids]
    assert [g.args for g in got] == [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}, {},
                                     {"n": 6}]
    assert [g.job for g in got] == ["Bulk", "Other", "Bulk", "Bulk", "Other", "Bulk", "Bulk"]
    assert [g.queue for g in got] == ["default", "other", "default", "later", "other",
                                      "default", "default"]
    assert [g.priority for g in got] == [0, 4, -2, 0, 4, 9, 0]
    assert [g.max_attempts for g in got] == [5, 2, 1, 5, 2, 5, 5]
    assert [g.tags for g in got] == [[], ["x", "y"], [], [], [], [], []]
    assert [g.channel for g in got] == [None, "other-channel", None, "c", "other-channel",
                                         None, None]
    assert [g.timeout for g in got] == [None, 7.5, None, 0.5, 7.5, None, None]
    assert all(g.status == "scheduled" and g.attempt == 0 and g.unique_key is None
               for g in got)
    assert got[2].run_at == at                                    # exact, offset kept
    assert abs((got[3].run_at - before).total_seconds() - 3600.25) < 0.5
    assert abs((got[6].run_at - before).total_seconds() - 1.5) < 0.5
    for immediate in (got[0], got[1], got[4], got[5]):            # due now, not delayed
        assert abs((immediate.run_at - before).total_seconds()) < 0.5


async def test_tags_round_trip_whatever_their_characters(jdb: Any) -> None:
    odd: list[Any] = ['plain', 'with space', 'comma,inside', '{braces}', 'quote"d', 'back\\slash',
           'both\\"', '', 'NULL', 'null', "it's", 'ünïcødé ✓', '  padded  ', 'tab\tnew\nline',
           '[1]', 7]
    ids = await Bulk.enqueue_many([{"i": 0}, {"i": 1}], db=jdb, tags=odd)
    for job_id in ids:
        row = await stored(jdb, job_id)
        assert row.tags == [str(t) for t in odd]
    # one tag per job, each alone, next to jobs without tags
    rows = [Bulk.build({"i": i}, tags=[t] if i % 2 else []) for i, t in enumerate(odd)]
    got = [await stored(jdb, i) for i in await enqueue_many(rows, db=jdb)]
    assert [g.tags for g in got] == [[str(t)] if i % 2 else [] for i, t in enumerate(odd)]
    assert len(await list_jobs(jdb, tag='quote"d', limit=100)) == 2


async def test_args_round_trip_nested_unicode_and_bytes(jdb: Any) -> None:
    values: list[Any] = [
        {},
        {"nested": {"deep": [1, 2.5, {"x": None, "y": [True, False]}], "empty": {}}},
        {"text": 'a "quoted" \\ back\\slash \u2028 ✓ é 日本 \U0001f600', "json": '{"a": [1]}'},
        {"raw": b"\x00\xff\x10", "more": [bytearray(b"ab"), memoryview(b"cd")]},
        {"tuple": (1, (2, 3)), "ordered": OrderedDict([("b", 1), ("a", 2)]),
         "level": Level.HIGH},
        {"big": 2**70, "neg": -1.5e-300, "zero": 0.0},
        [1, "two", None],
        "just a string",
        None,
    ]
    ids = await Bulk.enqueue_many(values, db=jdb)
    got = [(await stored(jdb, i)).args for i in ids]
    assert got[:3] == values[:3]
    assert got[3] == {"raw": b"\x00\xff\x10", "more": [b"ab", b"cd"]}
    assert got[4] == {"tuple": [1, [2, 3]], "ordered": {"b": 1, "a": 2}, "level": 9}
    assert got[5] == values[5]
    assert got[6:] == [[1, "two", None], "just a string", {}]


async def test_a_delayed_and_immediate_mix_is_claimed_in_the_right_order(jdb: Any) -> None:
    from rum_jobs import Worker

    seen: list[int] = []

    class Mixed(Job):
        async def execute(self, args: Any) -> None:
            seen.append(args["i"])

    rows = [Mixed.build({"i": i}, run_in=3600 if i % 3 == 0 else None) for i in range(12)]
    ids = await enqueue_many(rows, db=jdb)
    assert await Worker([Mixed], db=jdb, concurrency=1).drain() == 8
    assert seen == [i for i in range(12) if i % 3]
    waiting = [await stored(jdb, job_id) for job_id in ids[::3]]
    assert all(w.status == "scheduled" for w in waiting)


async def test_a_large_batch_keeps_its_order(jdb: Any) -> None:
    n = 5000
    ids = await Bulk.enqueue_many([{"i": i, "s": "é" * (i % 7)} for i in range(n)], db=jdb,
                                  queue="large", tags=["big"])
    assert len(ids) == n and ids == sorted(ids) and len(set(ids)) == n
    rows = await jdb.fetch("SELECT id, args::text AS args, tags FROM rum_jobs "
                           "WHERE queue = 'large' ORDER BY id")
    assert [r["id"] for r in rows] == ids
    assert [payload.from_json(r["args"]) for r in rows] == [{"i": i, "s": "é" * (i % 7)}
                                                             for i in range(n)]
    assert all(list(r["tags"]) == ["big"] for r in rows)


@pytest.mark.parametrize("bad, error", [
    ({"x": float("nan")}, ValueError),
    ({"x": [1, math.inf]}, ValueError),
    ({"x": {1, 2}}, TypeError),
    ({1: "int key"}, TypeError),
    ({"x": dt.date(2030, 1, 1)}, TypeError),
    ({payload.BYTES_TAG: "abc"}, ValueError),
])
async def test_bad_data_anywhere_in_a_batch_is_refused_before_sending(
        jdb: Any, bad: Any, error: type[Exception]) -> None:
    args = [{"i": i} for i in range(300)]
    args[250] = bad
    with pytest.raises(error, match="Bulk args"):
        await Bulk.enqueue_many(args, db=jdb)
    assert await jdb.fetchval("SELECT count(*) FROM rum_jobs") == 0


async def test_bad_options_in_a_batch_are_refused_before_sending(jdb: Any) -> None:
    good = Bulk.build({"i": 1})
    for bad, error, match in [
        (NewJob(job="Bulk", timeout=math.nan), ValueError, "timeout"),
        (NewJob(job="Bulk", timeout=-1), ValueError, "timeout"),
        (NewJob(job="Bulk", run_in=math.inf), ValueError, "run_in"),
        (NewJob(job="Bulk", run_at=dt.datetime(2031, 1, 1)), ValueError, "timezone"),
        (NewJob(job="Bulk", priority=True), TypeError, "priority"),
        (NewJob(job="Bulk", max_attempts=2.0), TypeError, "max_attempts"),  # type: ignore[arg-type]
    ]:
        with pytest.raises(error, match=match):
            await insert_jobs(jdb, [good, bad, good])
    assert await jdb.fetchval("SELECT count(*) FROM rum_jobs") == 0


async def test_null_options_and_hand_built_rows(jdb: Any) -> None:
    # NewJob made by hand: ints where floats are expected, no args, every option left out
    rows = [NewJob(job="Bulk", timeout=5, run_in=2), NewJob(job="Bulk"),
            NewJob(job="Bulk", args=[], tags=["t"])]
    got = [await stored(jdb, i) for i in await insert_jobs(jdb, rows)]
    assert [g.timeout for g in got] == [5.0, None, None]
    assert [g.args for g in got] == [{}, {}, []]
    assert [g.tags for g in got] == [[], [], ["t"]]
    assert got[0].run_at > got[1].run_at


async def test_unique_jobs_in_a_batch_keep_their_own_path(jdb: Any) -> None:
    first = await Bulk.enqueue({"k": 1}, db=jdb, unique_by=True)
    rows = [Bulk.build({"k": 0}), Bulk.build({"k": 1}, unique_by=True),
            Bulk.build({"k": 2}, unique_by=True), Bulk.build({"k": 3})]
    ids = await enqueue_many(rows, db=jdb)
    assert ids[1] == first and len(set(ids)) == 4 and ids[0] < ids[2] < ids[3]
    keyed = await stored(jdb, ids[2])
    assert keyed.unique_key is not None and keyed.args == {"k": 2}
    replaced = Bulk.build({"k": 2}, unique=Unique(by=("job",), on_conflict="replace"),
                          priority=3, tags=["r"])
    again = await enqueue_many([replaced], db=jdb)
    assert (await stored(jdb, again[0])).args == {"k": 2}


async def test_only_built_in_types_cross_the_wire(jdb: Any, jobs_database_url: str) -> None:
    """Every parameter of the bulk INSERT is text or text[]: asyncpg knows both, so a new
    connection does not first query the catalog for int[]/float8[]/timestamptz[] codecs."""
    import asyncio

    import asyncpg
    import trio

    async def parameter_types() -> list[str]:
        conn = await asyncpg.connect(jobs_database_url)
        try:
            return [t.name for t in (await conn.prepare(sql.INSERT)).get_parameters()]
        finally:
            await conn.close()

    types = await trio.to_thread.run_sync(asyncio.run, parameter_types())
    assert set(types) <= {"text", "text[]"}, types
    columns = insert_columns([Bulk.build({"i": 1}, tags=["a"], run_in=1, timeout=2)])
    assert len(columns) == len(types)


def test_to_json_is_the_same_with_or_without_the_plain_fast_path() -> None:
    cases: list[Any] = [
        {}, [], None, 1, 1.5, "s", True, {"a": [1, {"b": (2, 3)}]}, (1, [2]),
        {"é": "✓", "n": None, "f": -0.0}, {"x": b"\x01"}, OrderedDict(a=1), Level.HIGH,
        {"nested": [{"deep": {"bytes": bytearray(b"z")}}]},
    ]
    for value in cases:
        assert payload.to_json(value) == payload.encode(payload.prepare(value)), value
    assert payload.plain({"a": [1, "x", None, 2.5, {"b": True}]})
    assert not payload.plain({"a": b"x"}) and not payload.plain({"a": float("nan")})
    assert not payload.plain({1: "x"}) and not payload.plain({payload.BYTES_TAG: "x"})

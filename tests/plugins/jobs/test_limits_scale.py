"""Limited claims stay fast on deep backlogs: a limited queue is read in claim order through
the claim index, not sorted whole (the first version took seconds at 100k waiting jobs)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from rum_jobs import Job, Limit, set_queue_limits
from rum_jobs.limits import LimitedClaimer

pytestmark = pytest.mark.postgres


class Deep(Job):
    async def execute(self, args: Any) -> None:
        pass


class DeepPerKey(Job):
    concurrency = Limit(1, by="k")

    async def execute(self, args: Any) -> None:
        pass


async def test_a_limited_claim_on_a_deep_backlog_is_fast_and_exact(jdb: Any) -> None:
    await jdb.execute("DELETE FROM rum_jobs_queues")
    await jdb.execute("INSERT INTO rum_jobs (job, queue, args, priority) "
                      "SELECT 'Deep', 'deep-q', jsonb_build_object('i', i), i % 3 "
                      "FROM generate_series(1, 50000) AS i")
    await jdb.execute("INSERT INTO rum_jobs (job, queue, args) "
                      "SELECT 'DeepPerKey', 'other-q', jsonb_build_object('k', i % 4) "
                      "FROM generate_series(1, 20) AS i")
    await jdb.execute("ANALYZE rum_jobs")
    await set_queue_limits("deep-q", concurrency=3, db=jdb)
    claimer = LimitedClaimer({"Deep": Deep, "DeepPerKey": DeepPerKey})
    timings = []
    claimed = []
    for _ in range(3):
        start = time.perf_counter()
        outcome = await claimer.claim(jdb, names=["Deep", "DeepPerKey"],
                                      queues=["deep-q", "other-q"], n=10, worker_id="w",
                                      lease=30.0)
        timings.append(time.perf_counter() - start)
        claimed += outcome.rows
    # exact: 3 of the queue (the highest priority first), one per key of the class
    deep = [r for r in claimed if r["job"] == "Deep"]
    per_key = [r for r in claimed if r["job"] == "DeepPerKey"]
    assert len(deep) == 3 and all(r["priority"] == 2 for r in deep)
    assert len(per_key) == 4
    assert len({r["args"] for r in per_key}) == 4
    # generous bound for a loaded machine: the whole-backlog sort took seconds
    assert min(timings) < 0.5, timings


class FewAtOnce(Job):
    concurrency = 3

    async def execute(self, args: Any) -> None:
        pass


async def test_a_queue_limit_set_after_the_limits_were_read_holds_at_once(jdb: Any) -> None:
    """A worker read the queue limits (none), then a limit is set whose note has not reached
    it: its next limited claim sees the limit anyway (read again inside the claim)."""
    await jdb.execute("DELETE FROM rum_jobs_queues")
    claimer = LimitedClaimer({"FewAtOnce": FewAtOnce})
    await claimer.refresh(jdb)  # no queue limits; not due a refresh for another second
    assert claimer.queues == {}
    # as set_queue_limits does, without the rum:queues note the worker would get
    await jdb.execute("INSERT INTO rum_jobs_queues (queue, concurrency) VALUES ('new-q', 1)")
    await jdb.execute("INSERT INTO rum_jobs (job, queue, args) "
                      "SELECT 'FewAtOnce', 'new-q', '{}' FROM generate_series(1, 5)")
    outcome = await claimer.claim(jdb, names=["FewAtOnce"], queues=None, n=10,
                                  worker_id="w", lease=30.0)
    assert len(outcome.rows) == 1  # the queue's 1, not the class's 3
    assert "new-q" in claimer.queues
    again = await claimer.claim(jdb, names=["FewAtOnce"], queues=None, n=10, worker_id="w",
                                lease=30.0)
    assert again.rows == [] and again.blocked
    # a limit raised meanwhile is seen too
    await jdb.execute("UPDATE rum_jobs_queues SET concurrency = 2 WHERE queue = 'new-q'")
    more = await claimer.claim(jdb, names=["FewAtOnce"], queues=None, n=10, worker_id="w",
                               lease=30.0)
    assert len(more.rows) == 1

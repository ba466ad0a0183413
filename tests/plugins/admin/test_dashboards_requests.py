"""The requests dashboard: counters from two apps ("nodes") on one database, summed."""

from __future__ import annotations

import html
import re

import httpx
import pytest
import trio
from dashboards_helpers import PLUGINS, log_in, make_app

from rum_admin.dashboards import (
    LATENCY_BOUNDS,
    RequestRecorder,
    dashboards_of,
    flush_now,
    percentile,
    request_stats,
)
from rum_http.testing import serve_app

pytestmark = pytest.mark.postgres


def test_percentiles_interpolate_inside_the_histogram_buckets() -> None:
    recorder = RequestRecorder()
    for _ in range(90):
        recorder.note("GET /", 200, 0.004)   # the (2.5 ms, 5 ms] bucket
    for _ in range(10):
        recorder.note("GET /", 503, 0.3)     # the (250 ms, 500 ms] bucket
    counts = recorder.routes["GET /"]
    assert (counts.count, counts.errors) == (100, 10)
    assert sum(counts.histogram) == 100
    p50 = percentile(counts.histogram, 0.5)
    p95 = percentile(counts.histogram, 0.95)
    assert p50 is not None and 0.0025 < p50 <= 0.005
    assert p95 is not None and 0.25 < p95 <= 0.5
    assert percentile([0] * (len(LATENCY_BOUNDS) + 1), 0.5) is None
    routes, failures = recorder.drain()
    assert recorder.routes == {} and failures == []
    recorder.note("GET /", 200, 0.004)
    recorder.put_back(routes, failures)  # a failed flush loses nothing
    assert recorder.routes["GET /"].count == 101


async def test_two_nodes_are_summed_and_a_failure_shows_its_request_id(tmp_path,
                                                                       database_url) -> None:
    one = make_app(tmp_path / "one", database_url)
    two = make_app(tmp_path / "two", database_url)
    async with serve_app(one) as url_one, serve_app(two) as url_two, \
            httpx.AsyncClient(base_url=url_one) as admin, httpx.AsyncClient() as client:
        for _ in range(3):
            assert (await client.get(url_one + "/hello")).status_code == 200
        for _ in range(4):
            assert (await client.get(url_two + "/hello")).status_code == 200
        boom = await client.get(url_two + "/boom", headers={"x-request-id": "req-boom-42"})
        assert boom.status_code == 500
        # the flushers (every 0.2 s here) write both processes' counters
        with trio.fail_after(10):
            while True:
                stats = await request_stats(one.storage)
                hello = stats.route("GET /hello")
                if hello is not None and hello.requests == 7 and stats.failures:
                    break
                await trio.sleep(0.1)
        boom_stats = stats.route("GET /boom")
        assert boom_stats is not None and (boom_stats.requests, boom_stats.errors) == (1, 1)
        assert hello.errors == 0 and hello.p50 is not None and hello.p95 is not None
        failure = stats.failures[0]
        assert (failure.request_id, failure.path, failure.status, failure.exception) == (
            "req-boom-42", "/boom", 500, "ZeroDivisionError")
        assert failure.node == dashboards_of(two).node != dashboards_of(one).node
        # one row per route per bucket, not per request
        rows = await one.storage.fetchval(
            "SELECT count(*) FROM rum_admin_request_stats WHERE route = 'GET /hello'")
        assert 1 <= rows <= 4

        # the page of node one shows node two's requests
        assert (await admin.get("/admin/dashboards/requests")).status_code in (302, 403)
        await log_in(admin)
        page = await admin.get("/admin/dashboards/requests")
        assert page.status_code == 200, page.text[:500]
        assert "req-boom-42" in page.text and "ZeroDivisionError" in page.text
        row = re.search(r'<tr data-route="GET /hello">.*?class="requests">(\d+)<', page.text)
        assert row is not None and int(row.group(1)) >= 7
        assert "<turbo-stream-source" in page.text


async def test_a_non_admin_is_refused(tmp_path, database_url) -> None:
    app = make_app(tmp_path, database_url)
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        await log_in(client, "someone")
        assert (await client.get("/admin/dashboards/requests")).status_code == 403
        assert (await client.get("/admin/dashboards/jobs")).status_code == 403


async def test_pruning_and_the_failures_cap(tmp_path, database_url) -> None:
    app = make_app(tmp_path, database_url)
    async with app.running():
        db = app.storage
        await db.execute("TRUNCATE rum_admin_request_stats, rum_admin_request_failures")
        await db.execute(
            "INSERT INTO rum_admin_request_stats VALUES (now() - interval '1 hour', 'GET /old',"
            " 5, 0, 0.1, $1)", [0] * (len(LATENCY_BOUNDS) + 1))
        recorder = dashboards_of(app).recorder
        for i in range(250):
            recorder.note_failure(f"r{i}", "GET", "/x", "GET /x", 500, "E", 0.01)
        recorder.note("GET /x", 500, 0.01)
        await flush_now(app)
        assert await db.fetchval(
            "SELECT count(*) FROM rum_admin_request_stats WHERE route = 'GET /old'") == 0
        # 100 kept in memory between flushes (the newest), all of them under the table's cap
        assert await db.fetchval("SELECT count(*) FROM rum_admin_request_failures") == 100
        stats = await request_stats(db, failures=3)
        assert [f.request_id for f in stats.failures] == ["r249", "r248", "r247"]
        recorder.note_failure("x" * 10_000, "GET", "/" + "p" * 10_000, "(no route)", 502,
                              None, 0.01)  # a client's X-Request-Id is bounded
        await flush_now(app)
        [huge] = (await request_stats(db, failures=1)).failures
        assert (len(huge.request_id), len(huge.path)) == (200, 500)


async def test_without_turbo_the_pages_are_snapshots(tmp_path, database_url) -> None:
    plugins = [p for p in PLUGINS if p not in ("turbo", "websockets")]
    app = make_app(tmp_path, database_url, plugins=plugins)
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        await log_in(client)
        for name in ("requests", "jobs"):
            page = await client.get(f"/admin/dashboards/{name}")
            assert page.status_code == 200
            assert "<turbo-stream-source" not in page.text
            assert 'name="csrf-token"' in page.text
        # the jobs tables were never created here: said, not a 500
        assert "tables are missing: apply the migrations with `rum migrate run`" in \
            html.unescape(page.text)


def test_figures_are_written_for_people() -> None:
    from rum_admin.dashboards.render import per_second, seconds

    assert [per_second(x) for x in (0, 1 / 300, 0.5, 35.2)] == ["0", "0.2/min", "0.50/s",
                                                                  "35/s"]
    assert [seconds(x) for x in (None, 0.0004, 0.0125, 1.2, 400)] == [
        "—", "400 µs", "12.5 ms", "1.20 s", "7 min"]


async def test_a_stopping_process_writes_what_it_recorded(tmp_path, database_url) -> None:
    from rum_admin.dashboards import DashboardSettings

    slow = DashboardSettings(flush_interval=3600)  # only the shutdown flush can write it
    app = make_app(tmp_path, database_url, settings=slow)
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        for _ in range(2):
            assert (await client.get("/hello")).status_code == 200
        assert (await request_stats(app.storage)).route("GET /hello") is None
    other = make_app(tmp_path / "reader", database_url)
    async with other.running():
        hello = (await request_stats(other.storage)).route("GET /hello")
    assert hello is not None and hello.requests == 2

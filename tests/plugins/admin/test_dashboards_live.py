"""Live updates: a WebSocket subscribed to the jobs dashboard's Turbo Stream receives the
failed-jobs fragment when a job fails; nothing is rendered while nobody watches."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import trio
from dashboards_helpers import log_in, make_app

from rum_admin.dashboards import JOBS_STREAM, REQUESTS_STREAM, refresh, watchers
from rum_http.testing import serve_app
from rum_jobs import Job, Worker, ensure_schema

pytestmark = pytest.mark.postgres


class Broken(Job):
    max_attempts = 1

    async def execute(self, args: Any) -> None:
        raise ValueError(f"live failure {args['n']}")


def stream_path(page: str) -> str:
    """The path and query of the page's ``<turbo-stream-source src=...>``."""
    found = re.search(r'<turbo-stream-source src="([^"]+)"', page)
    assert found is not None, "the page subscribes to no stream"
    parts = urlsplit(html.unescape(found.group(1)))
    return f"{parts.path}?{parts.query}"


async def test_a_watching_page_receives_the_failed_job(tmp_path, database_url,
                                                       ws_connect) -> None:
    app = make_app(tmp_path, database_url)
    async with serve_app(app) as base, \
            httpx.AsyncClient(base_url=base, headers={"origin": base}) as client:
        db = app.storage
        await ensure_schema(db)
        await db.execute("TRUNCATE rum_jobs RESTART IDENTITY")
        # nobody watches: a refresh round renders and sends nothing
        assert watchers(app, JOBS_STREAM) == 0
        assert await refresh(app, {}) == 0

        await log_in(client)
        page = await client.get("/admin/dashboards/jobs")
        assert page.status_code == 200
        async with ws_connect(base, stream_path(page.text), headers={"origin": base}) as ws:
            with trio.fail_after(5):
                while watchers(app, JOBS_STREAM) == 0:
                    await trio.sleep(0.02)
            assert watchers(app, JOBS_STREAM) == 1 and watchers(app, REQUESTS_STREAM) == 0
            await Broken.enqueue({"n": 31}, db=db)
            assert await Worker([Broken], db=db, listen=False).drain() == 1
            with trio.fail_after(10):
                while True:
                    message = await ws.receive(timeout=10)
                    assert isinstance(message, str)
                    if "live failure 31" in message:
                        break
            assert '<turbo-stream action="replace" target="admin-jobs-failed">' in message
            # unchanged fragments are not sent again
            with trio.move_on_after(1.0):
                while True:
                    again = await ws.receive(timeout=2)
                    assert 'target="admin-jobs-failed"' not in str(again)


async def test_a_watching_requests_page_receives_new_routes(tmp_path, database_url,
                                                            ws_connect) -> None:
    app = make_app(tmp_path, database_url)
    async with serve_app(app) as base, \
            httpx.AsyncClient(base_url=base, headers={"origin": base}) as client:
        await log_in(client)
        page = await client.get("/admin/dashboards/requests")
        assert page.status_code == 200 and 'data-route="GET /hello"' not in page.text
        async with ws_connect(base, stream_path(page.text), headers={"origin": base}) as ws:
            with trio.fail_after(5):
                while watchers(app, REQUESTS_STREAM) == 0:
                    await trio.sleep(0.02)
            assert (await client.get("/hello")).status_code == 200
            with trio.fail_after(10):
                while True:
                    message = str(await ws.receive(timeout=10))
                    if 'data-route="GET /hello"' in message:
                        break
            assert '<turbo-stream action="replace" target="admin-requests-routes">' in message

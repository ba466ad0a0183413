"""The jobs dashboard over a real socket: counts by state, a failed job with its error and
traceback, cron entries, and the buttons (CSRF required) retry, cancel, pause and resume."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest
import trio
from dashboards_helpers import csrf_token_of, log_in, make_app

from rum_http.testing import serve_app
from rum_jobs import Job, Worker, ensure_schema, get_job, paused_queues, queue_controls

pytestmark = pytest.mark.postgres

TURBO = "text/vnd.turbo-stream.html, text/html, application/xhtml+xml"


class Quick(Job):
    async def execute(self, args: Any) -> None:
        pass


class Broken(Job):
    max_attempts = 1

    async def execute(self, args: Any) -> None:
        raise ValueError(f"bad input {args['n']}")


class Hang(Job):
    async def execute(self, args: Any) -> None:
        await trio.sleep(60)


def queue_cell(page: str, queue: str, column: str) -> str:
    row = re.search(rf'<tr data-queue="{queue}">(.*?)</tr>', page, re.S)
    assert row is not None, f"no row for queue {queue}"
    cell = re.search(rf'class="{column}">([^<]*)<', row.group(1))
    assert cell is not None, f"no {column} cell for queue {queue}"
    return cell.group(1)


async def test_jobs_dashboard_counts_failures_cron_and_buttons(tmp_path, database_url) -> None:
    app = make_app(tmp_path, database_url)
    app.jobs.add_schedule(Quick.schedule({}, "*/15 * * * *", name="quarter-hourly"))
    async with serve_app(app) as base, \
            httpx.AsyncClient(base_url=base, headers={"origin": base}) as client:
        db = app.storage
        await ensure_schema(db)
        await db.execute("TRUNCATE rum_jobs RESTART IDENTITY; DELETE FROM rum_jobs_queues")
        await Quick.enqueue_many([{}] * 3, queue="mail", db=db)
        broken = await Broken.enqueue({"n": 7}, queue="mail", db=db)
        assert await Worker([Quick, Broken], db=db, queues=["mail"], listen=False).drain() == 4
        await Quick.enqueue_many([{}] * 2, queue="mail", db=db)            # available
        later = await Quick.enqueue({}, queue="reports", run_in=3600, db=db)  # scheduled
        hang = await Hang.enqueue({}, queue="slow", db=db)
        worker = Worker([Hang], db=db, queues=["slow"], poll_interval=0.1, name="dash-worker")
        async with trio.open_nursery() as nursery:
            await nursery.start(worker.run)
            with trio.fail_after(10):
                while hang not in worker.running:
                    await trio.sleep(0.02)

            await log_in(client)
            page = await client.get("/admin/dashboards/jobs")
            assert page.status_code == 200, page.text[:300]
            text = page.text
            assert (queue_cell(text, "mail", "available"), queue_cell(text, "mail", "complete"),
                    queue_cell(text, "mail", "failed")) == ("2", "3", "1")
            assert queue_cell(text, "reports", "scheduled") == "1"
            assert queue_cell(text, "slow", "running") == "1"
            failed = re.search(rf'<tr data-job="{broken}" class="failed-job">(.*?)</tr>', text,
                               re.S)
            assert failed is not None
            assert "ValueError: bad input 7" in failed.group(1)
            assert "Traceback" in html.unescape(failed.group(1))  # the worker's traceback
            assert re.search(r'<tr data-entry="quarter-hourly">.*?class="next-fire">'
                             r'\d{4}-\d\d-\d\d \d\d:(00|15|30|45):00 UTC<', text, re.S)
            assert f'<tr data-job="{hang}">' in text  # running, with its age
            assert f'<tr data-job="{later}" class="waiting-job">' in text

            # a post without the CSRF token is refused
            refused = await client.post(f"/admin/dashboards/jobs/{broken}/retry")
            assert refused.status_code == 403
            assert (await get_job(db, broken)).status == "failed"  # type: ignore[union-attr]

            # the form's hidden field (no JavaScript): 303 back to the dashboard
            field = re.search(rf'action="/admin/dashboards/jobs/{broken}/retry".*?'
                              r'name="csrf_token" value="([^"]+)"', text, re.S)
            assert field is not None
            retried = await client.post(f"/admin/dashboards/jobs/{broken}/retry",
                                        data={"csrf_token": field.group(1)})
            assert retried.status_code == 303
            assert retried.headers["location"] == "/admin/dashboards/jobs"
            assert (await get_job(db, broken)).status == "retryable"  # type: ignore[union-attr]

            # Turbo's way: the meta tag's token in X-CSRF-Token, a Turbo Stream answer
            token = csrf_token_of(text)
            headers = {"accept": TURBO, "x-csrf-token": token}
            cancelled = await client.post(f"/admin/dashboards/jobs/{hang}/cancel",
                                          headers=headers)
            assert cancelled.status_code == 200
            assert cancelled.headers["content-type"].startswith("text/vnd.turbo-stream.html")
            assert f"Job {hang} is cancelled." in cancelled.text
            assert '<turbo-stream action="replace" target="admin-jobs-running">' in \
                cancelled.text
            assert (await get_job(db, hang)).status == "cancelled"  # type: ignore[union-attr]
            again = await client.post(f"/admin/dashboards/jobs/{hang}/cancel",
                                      headers={"x-csrf-token": token})
            assert again.status_code == 409 and "cannot be cancelled" in again.text

            # a waiting job is cancelled from the waiting list
            waiting = await client.post(f"/admin/dashboards/jobs/{later}/cancel",
                                        headers=headers)
            assert waiting.status_code == 200 and f"Job {later} is cancelled." in waiting.text
            assert f'data-job="{later}" class="waiting-job"' not in waiting.text
            assert (await get_job(db, later)).status == "cancelled"  # type: ignore[union-attr]

            paused = await client.post("/admin/dashboards/jobs/queues/mail/pause",
                                       headers=headers)
            assert paused.status_code == 200 and "Queue mail is paused." in paused.text
            assert (await queue_controls(db=db))["mail"].paused
            assert '<td class="state">paused</td>' in paused.text
            resumed = await client.post("/admin/dashboards/jobs/queues/mail/resume",
                                        data={"csrf_token": token})
            assert resumed.status_code == 303
            assert "mail" not in await paused_queues(db=db)

            unknown = await client.post(f"/admin/dashboards/jobs/{broken}/explode",
                                        headers=headers)
            assert unknown.status_code == 404
            worker.stop()
            nursery.cancel_scope.cancel()


async def test_discard_buttons_on_failed_and_waiting_jobs(tmp_path, database_url) -> None:
    app = make_app(tmp_path, database_url)
    async with serve_app(app) as base, \
            httpx.AsyncClient(base_url=base, headers={"origin": base}) as client:
        db = app.storage
        await ensure_schema(db)
        await db.execute("TRUNCATE rum_jobs RESTART IDENTITY; DELETE FROM rum_jobs_queues")
        broken = await Broken.enqueue({"n": 3}, queue="mail", db=db)
        assert await Worker([Broken], db=db, queues=["mail"], listen=False).drain() == 1
        later = await Quick.enqueue({}, queue="reports", run_in=3600, db=db)
        await log_in(client)
        text = (await client.get("/admin/dashboards/jobs")).text
        for job_id in (broken, later):
            assert f'action="/admin/dashboards/jobs/{job_id}/discard"' in text

        # without the CSRF token: refused, nothing changes
        refused = await client.post(f"/admin/dashboards/jobs/{broken}/discard")
        assert refused.status_code == 403
        assert (await get_job(db, broken)).status == "failed"  # type: ignore[union-attr]

        # Turbo: the failed job leaves the failed list, its reason is recorded
        token = csrf_token_of(text)
        headers = {"accept": TURBO, "x-csrf-token": token}
        discarded = await client.post(f"/admin/dashboards/jobs/{broken}/discard",
                                      headers=headers)
        assert discarded.status_code == 200
        assert discarded.headers["content-type"].startswith("text/vnd.turbo-stream.html")
        assert f"Job {broken} is discarded." in discarded.text
        assert f'data-job="{broken}" class="failed-job"' not in discarded.text
        record = await get_job(db, broken)
        assert record is not None and record.status == "discarded"
        assert record.errors[-1]["kind"] == "discarded"
        assert record.errors[-1]["error"] == "discarded from the admin dashboard"
        again = await client.post(f"/admin/dashboards/jobs/{broken}/discard",
                                  headers={"x-csrf-token": token})
        assert again.status_code == 409 and "cannot be discarded" in again.text

        # the form's hidden field (no JavaScript): 303 back to the dashboard
        waiting = await client.post(f"/admin/dashboards/jobs/{later}/discard",
                                    data={"csrf_token": token})
        assert waiting.status_code == 303
        assert waiting.headers["location"] == "/admin/dashboards/jobs"
        assert (await get_job(db, later)).status == "discarded"  # type: ignore[union-attr]

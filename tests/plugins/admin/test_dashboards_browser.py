"""Headless Chromium: the jobs dashboard updates without a reload when a job fails, and its
buttons (rendered by the live refresher, so CSRF comes from the page's meta tag through
Turbo's X-CSRF-Token header) retry the job and pause the queue in place; with a worker
running, jobs of a paused queue wait on the page, and run once it is resumed.

Screenshots go to ``test-artifacts/e2e/``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import trio
from browser_helpers import launch_chromium, needs_chromium, wait_for_subscribers
from dashboards_helpers import make_app

from rum_http.testing import serve_app
from rum_jobs import Job, Worker, ensure_schema, get_job, paused_queues

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "e2e"


class Quick(Job):
    async def execute(self, args: Any) -> None:
        pass


class Flaky(Job):
    max_attempts = 1

    async def execute(self, args: Any) -> None:
        raise RuntimeError("browser-visible failure")


def scenario(url: str, app: Any, token: trio.lowlevel.TrioToken) -> dict[str, Any]:
    """Runs in a worker thread: drive the page, report what it showed."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    seen: dict[str, Any] = {}
    db = app.storage
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_context().new_page()
            page.goto(f"{url}/test-login?user=admin")
            page.goto(f"{url}/admin/dashboards/jobs")
            page.wait_for_function("window.Turbo !== undefined")
            page.evaluate("window.dashboardMarker = 'still here'")
            seen["before"] = page.inner_text("#admin-jobs-failed")
            wait_for_subscribers(app, "turbo-streams:admin:dashboards:jobs", 1, token, 10)

            async def fail_a_job() -> int:
                job_id = await Flaky.enqueue({}, db=db)
                assert await Worker([Flaky], db=db, listen=False).drain() == 1
                return job_id

            job_id = trio.from_thread.run(fail_a_job, trio_token=token)
            row = f'#admin-jobs-failed tr[data-job="{job_id}"]'
            page.wait_for_selector(row, timeout=15_000)
            seen["failed_row"] = page.inner_text(row)
            seen["marker_after_update"] = page.evaluate("window.dashboardMarker")
            page.screenshot(path=str(ARTIFACTS / "admin-jobs-failed.png"), full_page=True)

            page.click(f'{row} form[action$="/retry"] button')
            page.wait_for_function("document.querySelector('#admin-jobs-notice')"
                                   ".innerText.includes('will run again')", timeout=15_000)
            seen["retried"] = trio.from_thread.run(
                functools.partial(get_job, db, job_id), trio_token=token).status
            page.click('#admin-jobs-queues tr[data-queue="default"] form[action$="/pause"] '
                       "button")
            page.wait_for_selector('#admin-jobs-queues tr[data-queue="default"] '
                                   'form[action$="/resume"]', timeout=15_000)
            seen["paused"] = trio.from_thread.run(
                functools.partial(paused_queues, db=db), trio_token=token)

            # a worker takes "mail": pause it, enqueue, see the jobs wait; resume, see them run
            mail = '#admin-jobs-queues tr[data-queue="mail"]'
            page.wait_for_selector(f'{mail} form[action$="/pause"]', timeout=15_000)
            page.click(f'{mail} form[action$="/pause"] button')
            page.wait_for_selector(f'{mail} form[action$="/resume"]', timeout=15_000)
            trio.from_thread.run(functools.partial(Quick.enqueue_many, [{}] * 3, queue="mail",
                                                   db=db), trio_token=token)
            page.wait_for_function(
                f"document.querySelector('{mail} .available').innerText === '3'",
                timeout=15_000)
            trio.from_thread.run(trio.sleep, 1.0, trio_token=token)  # the worker polls 10×/s
            seen["waiting_while_paused"] = page.inner_text(f"{mail} .available")
            page.screenshot(path=str(ARTIFACTS / "admin-jobs-queue-paused.png"), full_page=True)
            page.click(f'{mail} form[action$="/resume"] button')
            page.wait_for_function(
                f"document.querySelector('{mail} .complete').innerText === '4'",
                timeout=15_000)
            seen["available_after_resume"] = page.inner_text(f"{mail} .available")
            seen["marker_at_end"] = page.evaluate("window.dashboardMarker")
            seen["screenshot"] = str(ARTIFACTS / "admin-jobs-paused.png")
            page.screenshot(path=seen["screenshot"], full_page=True)
        finally:
            browser.close()
    return seen


@needs_chromium
async def test_the_jobs_dashboard_updates_without_reload(tmp_path, database_url) -> None:
    app = make_app(tmp_path, database_url)
    async with serve_app(app) as url:
        await ensure_schema(app.storage)
        await app.storage.execute("TRUNCATE rum_jobs RESTART IDENTITY; "
                                  "DELETE FROM rum_jobs_queues")
        await Quick.enqueue({}, queue="mail", db=app.storage)
        worker = Worker([Quick], db=app.storage, queues=["mail"], poll_interval=0.1)
        token = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as nursery:
            await nursery.start(worker.run)
            with trio.fail_after(90):
                seen = await trio.to_thread.run_sync(scenario, url, app, token)
            worker.stop()
            nursery.cancel_scope.cancel()
    assert "No failed jobs." in seen["before"]
    assert "RuntimeError: browser-visible failure" in seen["failed_row"]
    assert seen["marker_after_update"] == "still here", "the page reloaded"
    assert seen["retried"] == "retryable"
    assert seen["paused"] == ["default"]
    assert seen["waiting_while_paused"] == "3", "a paused queue's jobs ran"
    assert seen["available_after_resume"] == "0"
    assert seen["marker_at_end"] == "still here", "a button reloaded the page"
    assert Path(seen["screenshot"]).stat().st_size > 1000

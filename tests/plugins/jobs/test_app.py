"""The plugin inside an App: app.jobs, enqueue without db=, the in-app worker, the testing
helpers and the ``rum worker`` / ``rum jobs`` commands."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import trio

from rum.cli import main
from rum_jobs import Job, Worker, get_job
from rum_jobs.testing import assert_enqueued, drain, enqueued, refute_enqueued

pytestmark = pytest.mark.postgres


class Welcome(Job):
    queue = "mail"
    sent: list[str] = []

    async def execute(self, args: Any) -> Any:
        type(self).sent.append(args["to"])
        return {"sent_to": args["to"]}


def make_app(rum_app_factory: Any, url: str, **jobs: Any) -> Any:
    app = rum_app_factory(plugins=["orm", "jobs"],
                          config={"database": {"url": url}, "jobs": jobs})
    app.jobs.register(Welcome)
    return app


async def test_testing_helpers(jdb: Any) -> None:
    Welcome.sent = []
    soon = dt.datetime.now(dt.UTC)
    await Welcome.enqueue({"to": "a@b.c"}, db=jdb, run_in=3600, tags=["signup"])
    await assert_enqueued(Welcome, args={"to": "a@b.c"}, tags=["signup"], queue="mail",
                          scheduled_after=soon + dt.timedelta(minutes=59),
                          scheduled_before=soon + dt.timedelta(minutes=61), db=jdb)
    await refute_enqueued(Welcome, args={"to": "other@b.c"}, db=jdb)
    with pytest.raises(AssertionError, match=r"(?s)expected exactly 2 Welcome.*a@b\.c"):
        await assert_enqueued(Welcome, count=2, db=jdb)
    assert await drain([Welcome], db=jdb) == 0            # not due yet
    await Welcome.enqueue({"to": "now@b.c"}, db=jdb)
    assert await drain([Welcome], db=jdb) == 1
    assert Welcome.sent == ["now@b.c"]
    assert len(await enqueued(Welcome, db=jdb)) == 1


async def test_app_jobs_backend_and_enqueue_without_db(jdb: Any, jobs_database_url: str,
                                                      rum_app_factory: Any) -> None:
    Welcome.sent = []
    app = make_app(rum_app_factory, jobs_database_url)
    async with app.running():
        assert app.jobs.registered == {"Welcome": Welcome}
        job_id = await Welcome.enqueue({"to": "ctx@b.c"})      # the app's storage
        await assert_enqueued(Welcome, args={"to": "ctx@b.c"})
        assert await drain() == 1
        record = await app.jobs.get(job_id)
        assert record.status == "complete" and record.result == {"sent_to": "ctx@b.c"}
        assert await app.jobs.counts() == {"complete": 1}
        assert [r.id for r in await app.jobs.list(status="complete")] == [job_id]


async def test_worker_runs_inside_the_app_when_enabled(jdb: Any, jobs_database_url: str,
                                                       rum_app_factory: Any) -> None:
    Welcome.sent = []
    app = make_app(rum_app_factory, jobs_database_url, run_worker_in_app=True, queues=["mail"],
                   poll_interval=0.1, concurrency=2)
    async with app.running():
        job_id = await app.jobs.enqueue(Welcome, {"to": "in@app"})
        with trio.fail_after(5):
            while (await get_job(jdb, job_id)).status != "complete":
                await trio.sleep(0.02)
        worker = app.jobs.worker
        assert worker is not None and worker.concurrency == 2 and worker.queues == ["mail"]
    assert worker._stopped.is_set()  # stopped with the app
    assert Welcome.sent == ["in@app"]


def _rum(root: Path, *args: str) -> tuple[int, str]:
    """Run the ``rum`` CLI in-process (in a worker thread with its own trio run)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--root", str(root), *args])
    return code, out.getvalue()


@pytest.mark.slow
async def test_rum_worker_and_rum_jobs_commands(jdb: Any, jobs_database_url: str,
                                                tmp_path: Path) -> None:
    (tmp_path / "Rum.toml").write_text(textwrap.dedent(f"""
        [plugins]
        enabled = ["orm", "jobs"]
        [database]
        url = "{jobs_database_url}"
        [jobs]
        modules = ["project_jobs"]
        queues = ["*"]
        poll_interval = 0.1
    """))
    (tmp_path / "project_jobs.py").write_text(textwrap.dedent("""
        import trio
        from rum_jobs import Job

        class Hello(Job):
            max_attempts = 1

            async def execute(self, args):
                if args.get("fail"):
                    raise RuntimeError("asked to fail")
                if args.get("sleep"):
                    await trio.sleep(args["sleep"])
                return "hello " + args["who"]
    """))
    ok = await jdb.fetchval("INSERT INTO rum_jobs (job, args) VALUES ('Hello', "
                            "'{\"who\": \"cli\"}') RETURNING id")
    bad = await jdb.fetchval("INSERT INTO rum_jobs (job, args) VALUES ('Hello', "
                             "'{\"fail\": true}') RETURNING id")
    later = await jdb.fetchval("INSERT INTO rum_jobs (job, run_at) VALUES ('Hello', "
                               "now() + interval '1 hour') RETURNING id")
    long = await jdb.fetchval("INSERT INTO rum_jobs (job, args) VALUES ('Hello', "
                              "'{\"sleep\": 60}') RETURNING id")
    proc = subprocess.Popen([sys.executable, "-m", "rum.cli", "--root", str(tmp_path),
                             "worker"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "RUM_ENV": "test"})
    try:
        with trio.fail_after(20):
            while ((await get_job(jdb, bad)).status != "failed"
                   or (await get_job(jdb, long)).status != "running"):
                await trio.sleep(0.05)
        proc.send_signal(signal.SIGTERM)   # graceful: waits for the 60 s job...
        await trio.sleep(0.5)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)   # ...until told again
        out, _ = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 1, out
    assert "rum worker" in out and "Hello" in out and "forced stop" in out
    released = await get_job(jdb, long)
    assert released.status == "retryable" and released.attempt == 0
    assert (await get_job(jdb, ok)).result == "hello cli"

    code, listed = await trio.to_thread.run_sync(lambda: _rum(tmp_path, "jobs", "list",
                                                              "--status", "failed"))
    assert code == 0, listed
    lines = listed.splitlines()
    assert len(lines) == 1 and lines[0].split()[:3] == [str(bad), "failed", "Hello"]
    assert "asked to fail" in lines[0]
    code, retried = await trio.to_thread.run_sync(lambda: _rum(tmp_path, "jobs", "retry",
                                                               str(bad)))
    assert code == 0 and "will run again" in retried
    assert (await get_job(jdb, bad)).status == "retryable"
    code, cancelled = await trio.to_thread.run_sync(lambda: _rum(tmp_path, "jobs", "cancel",
                                                                 str(later)))
    assert code == 0, cancelled
    assert (await get_job(jdb, later)).status == "cancelled"
    code, pruned = await trio.to_thread.run_sync(lambda: _rum(tmp_path, "jobs", "prune",
                                                              "--status", "complete",
                                                              "--keep", "0"))
    assert code == 0 and '"deleted": 1' in pruned
    assert await get_job(jdb, ok) is None


async def test_rum_migrate_applies_the_jobs_migration(database_url: str,
                                                      rum_app_factory: Any) -> None:
    from rum_jobs import migrations_dir
    from rum_orm.migrations import Migrator

    app = rum_app_factory(plugins=["orm", "jobs"], config={"database": {"url": database_url}})
    async with app.running():
        migrator = Migrator.for_app(app)
        assert migrations_dir() in migrator.paths
        applied = await migrator.run()
        assert "rum_jobs" in [m.name for m in applied]
        job_id = await Welcome.enqueue({"to": "migrated@b.c"})
        assert await drain([Welcome]) == 1
        assert (await app.jobs.get(job_id)).status == "complete"
        assert await app.jobs.ensure_schema() is False  # already there
        await migrator.revert("0")
        assert await app.storage.fetchval("SELECT to_regclass('rum_jobs')") is None


def test_rum_schedule_still_carries_cron_entries_for_a_release_with_a_warning(
        rum_app_factory: Any) -> None:
    import pytest

    from rum import hookimpl

    legacy = Welcome.schedule({"to": "old@b.c"}, "0 1 * * *")

    class Old:
        @hookimpl
        def rum_schedule(self, app: Any) -> list[Any]:
            return [legacy]

    app = rum_app_factory(plugins=["jobs", Old()])
    with pytest.warns(DeprecationWarning, match="rum_cron_entries"):
        assert app.jobs.schedules == [legacy]


def test_schedules_come_from_rum_cron_entries_hooks_and_add_schedule(
        rum_app_factory: Any) -> None:
    from rum import hookimpl

    nightly = Welcome.schedule({"to": "ops@b.c"}, "0 0 3 * * *", timezone="Europe/Paris")

    class Nightly:
        @hookimpl
        def rum_cron_entries(self, app: Any) -> list[Any]:
            return [nightly]

    app = rum_app_factory(plugins=["jobs", Nightly()])
    hourly = Welcome.schedule({"to": "hourly@b.c"}, "0 * * * *")
    app.jobs.add_schedule(hourly)
    assert app.jobs.schedules == [hourly, nightly]
    assert app.jobs.registered == {"Welcome": Welcome}
    worker = app.jobs.build_worker(db=object())
    assert worker.schedules == [hourly, nightly]


async def test_worker_waits_for_the_jobs_table(database_url: str, caplog: Any) -> None:
    from rum_jobs import ensure_schema
    from rum_orm import Database

    async with Database.open(database_url, pool_max=3) as db:
        worker = Worker([Welcome], db=db, queues=["mail"], poll_interval=0.05)
        async with trio.open_nursery() as nursery:
            await nursery.start(worker.run)
            await trio.sleep(0.3)
            warnings = [r.getMessage() for r in caplog.records if "rum_jobs" in r.getMessage()]
            assert len(warnings) == 1 and "rum migrate run" in warnings[0]
            await ensure_schema(db)
            job_id = await Welcome.enqueue({"to": "late@b.c"}, db=db)
            with trio.fail_after(5):
                while (await get_job(db, job_id)).status != "complete":
                    await trio.sleep(0.02)
            worker.stop()


def test_pruner_and_worker_settings_come_from_config(rum_app_factory: Any) -> None:
    from rum import ConfigError

    app = rum_app_factory(plugins=["jobs"], config={"jobs": {
        "queues": ["*"], "concurrency": 3, "lease": 5, "poll_interval": 0.5,
        "prune_max_age": {"complete": 86400}, "prune_max_count": {"failed": 10},
        "prune_interval": 60}})
    app.jobs.register(Welcome)
    worker = app.jobs.build_worker(db=object())
    assert (worker.queues, worker.concurrency, worker.lease, worker.poll_interval) == (
        None, 3, 5.0, 0.5)
    assert worker.pruner.max_age == {"complete": 86400}
    assert worker.pruner.max_count == {"failed": 10} and worker.pruner.interval == 60
    bad = rum_app_factory(plugins=["jobs"], config={"jobs": {"prune_max_age": {"running": 1}}})
    bad.jobs.register(Welcome)
    with pytest.raises(ConfigError, match="only finished statuses"):
        bad.jobs.build_worker(db=object())
    empty = rum_app_factory(plugins=["jobs"])
    with pytest.raises(ConfigError, match=r"no job classes.*\[jobs\] modules"):
        empty.jobs.build_worker(db=object())

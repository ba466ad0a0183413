"""``rum jobs pause|resume|limit|queues|stats|cancel`` and ``[jobs.limits]``, against the real
PostgreSQL (the CLI runs in-process in a worker thread, as in test_app)."""

from __future__ import annotations

import contextlib
import io
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import trio

from rum.cli import main
from rum_jobs import Rate, get_job, queue_controls

pytestmark = pytest.mark.postgres


def _rum(root: Path, *args: str) -> tuple[int, str]:
    """stdout, plus stderr when the command failed (argparse errors; logs are not output)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["--root", str(root), *args])
        except SystemExit as exc:  # argparse errors
            code = int(exc.code or 0)
    return code, out.getvalue() + (err.getvalue() if code else "")


async def rum(root: Path, *args: str) -> tuple[int, str]:
    return await trio.to_thread.run_sync(lambda: _rum(root, *args))


@pytest.fixture
def project(jobs_database_url: str, tmp_path: Path) -> Path:
    (tmp_path / "Rum.toml").write_text(textwrap.dedent(f"""
        [plugins]
        enabled = ["orm", "jobs"]
        [database]
        url = "{jobs_database_url}"
        [jobs]
        modules = ["cli_jobs"]
        [jobs.limits]
        mail = {{concurrency = 3, rate = 20, per = 60}}
    """))
    (tmp_path / "cli_jobs.py").write_text(textwrap.dedent("""
        from rum_jobs import Job

        class Noop(Job):
            async def execute(self, args):
                return None
    """))
    return tmp_path


async def test_pause_resume_limit_queues_and_stats_commands(jdb: Any, project: Path) -> None:
    await jdb.execute("DELETE FROM rum_jobs_queues")
    code, out = await rum(project, "jobs", "pause", "mail")
    assert code == 0 and "paused" in out
    code, out = await rum(project, "jobs", "queues")
    assert code == 0 and "mail" in out and "paused" in out
    assert (await queue_controls(db=jdb))["mail"].paused
    code, out = await rum(project, "jobs", "limit", "mail", "--concurrency", "2", "--rate", "5",
                          "--per", "10")
    assert code == 0, out
    mail = (await queue_controls(db=jdb))["mail"]
    assert (mail.concurrency, mail.rate, mail.paused) == (2, Rate(5, 10.0), True)
    code, out = await rum(project, "jobs", "resume", "mail")
    assert code == 0 and not (await queue_controls(db=jdb))["mail"].paused
    code, out = await rum(project, "jobs", "limit", "mail", "--clear")
    assert code == 0 and "mail" not in await queue_controls(db=jdb)
    code, out = await rum(project, "jobs", "limit", "mail")
    assert code == 2 and "--concurrency" in out
    code, out = await rum(project, "jobs", "limit", "mail", "--concurrency", "0")
    assert code == 2 and "positive integer" in out

    await jdb.execute("INSERT INTO rum_jobs (job, queue) VALUES ('Noop', 'mail')")
    code, out = await rum(project, "jobs", "stats")
    assert code == 0 and "mail" in out and "avail" in out
    code, out = await rum(project, "jobs", "stats", "--json", "--window", "60")
    snapshot = json.loads(out)
    assert snapshot["window"] == 60
    assert [(q["queue"], q["available"]) for q in snapshot["queues"]] == [("mail", 1)]


async def test_cancel_command_takes_a_reason(jdb: Any, project: Path) -> None:
    job_id = await jdb.fetchval("INSERT INTO rum_jobs (job) VALUES ('Noop') RETURNING id")
    code, out = await rum(project, "jobs", "cancel", str(job_id), "--reason", "not needed")
    assert code == 0 and "cancelled" in out
    assert (await get_job(jdb, job_id)).last_error == "not needed"
    code, out = await rum(project, "jobs", "cancel", str(job_id))
    assert code == 1 and "already finished" in out


async def test_discard_command_takes_a_reason(jdb: Any, project: Path) -> None:
    job_id = await jdb.fetchval("INSERT INTO rum_jobs (job) VALUES ('Noop') RETURNING id")
    code, out = await rum(project, "jobs", "discard", str(job_id), "--reason", "obsolete")
    assert code == 0 and "discarded" in out
    job = await get_job(jdb, job_id)
    assert job.status == "discarded" and job.last_error == "obsolete"
    code, out = await rum(project, "jobs", "discard", str(job_id))
    assert code == 1 and "cannot be discarded" in out


async def test_config_limits_are_stored_when_a_worker_starts(jdb: Any, project: Path) -> None:
    from rum import App
    from rum_jobs.cli import apply_config_limits

    await jdb.execute("DELETE FROM rum_jobs_queues")
    app = App(root=project)
    async with app.running():
        await apply_config_limits(app)
    mail = (await queue_controls(db=jdb))["mail"]
    assert (mail.concurrency, mail.rate) == (3, Rate(20, 60.0))


async def test_bad_config_limits_name_the_entry(jdb: Any, project: Path) -> None:
    from rum import App
    from rum.errors import ConfigError
    from rum_jobs.cli import apply_config_limits

    toml = (project / "Rum.toml").read_text().replace("concurrency = 3", "concurrency = 0")
    (project / "Rum.toml").write_text(toml)
    app = App(root=project)
    async with app.running():
        with pytest.raises(ConfigError, match=r"\[jobs.limits\] mail: concurrency must be"):
            await apply_config_limits(app)

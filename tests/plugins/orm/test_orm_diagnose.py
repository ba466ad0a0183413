"""Database errors that fit on a screen: a server that is down, a database that does not
exist, a table or column a pending migration would add; as one ``rum: error:`` line at the
command line (the traceback only with ``rum --debug``) and as the development 500 page."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trio

from rum import Controller, Response
from rum_http.testing import serve_app
from rum_orm import Database, DatabaseUnavailable, Model, OrmError, UnknownColumn
from rum_orm.diagnose import explain_connect_error, server_of
from rum_orm.testing import unique_database_name

BROWSER = {"accept": "text/html,*/*;q=0.8"}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rum(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RUM_ENV", "RUM_ROOT", "DATABASE_URL", "RUM_DATABASE__URL")}
    return subprocess.run([sys.executable, "-m", "rum.cli", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=90)


def project(tmp_path: Path, url: str) -> Path:
    (tmp_path / "Rum.toml").write_text(f'[plugins]\nenabled = ["http", "orm"]\n\n'
                                       f'[database]\nurl = "{url}"\nconnect_timeout = 5\n')
    return tmp_path


def test_server_down_at_rum_run_is_one_line(tmp_path: Path) -> None:
    port = closed_port()
    root = project(tmp_path, f"postgresql://rum:pw@127.0.0.1:{port}/rum_blog")
    done = rum(root, "run", "--port", str(closed_port()))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"rum: error: cannot connect to PostgreSQL at "
                                  f"postgresql://rum:***@127.0.0.1:{port}/rum_blog: connection "
                                  f"refused; is the database server running on "
                                  f"127.0.0.1:{port}?")
    assert "pw@" not in done.stderr
    debug = rum(root, "--debug", "run", "--port", str(closed_port()))
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    assert "ConnectionRefusedError" in debug.stderr  # the cause, in the full traceback
    assert debug.stderr.rstrip().splitlines()[-1].startswith("rum: error: cannot connect")


def test_missing_database_names_rum_db_create(tmp_path: Path, postgres_url: str) -> None:
    name = unique_database_name("rum_missing")
    root = project(tmp_path, f"{postgres_url.rsplit('/', 1)[0]}/{name}")
    done = rum(root, "run", "--port", str(closed_port()))
    assert done.returncode == 1
    assert done.stderr == (f"rum: error: database {name} does not exist on "
                           f"{server_of(postgres_url)}: run `rum db create`\n")


def test_explanations_name_server_cause_and_fix() -> None:
    url = "postgresql://u:secret@db.internal:6543/shop"
    timeout = explain_connect_error(TimeoutError(), url)
    assert isinstance(timeout, DatabaseUnavailable) and isinstance(timeout, ConnectionError)
    assert "timed out" in str(timeout) and "db.internal:6543" in str(timeout)
    assert "secret" not in str(timeout)
    unknown_host = explain_connect_error(socket.gaierror(-2, "Name or service not known"), url)
    assert "Name or service not known" in str(unknown_host)


async def test_missing_table_and_column_name_rum_migrate_run(db: Database) -> None:
    class Ghost(Model):
        id: int | None = None
        name: str

    with pytest.raises(OrmError, match=r"ghosts.*run `rum migrate run`"):
        await Ghost.all().fetch_all()
    await db.execute("CREATE TABLE ghosts (id bigserial PRIMARY KEY)")
    with pytest.raises(UnknownColumn, match=r"name.*if a migration adds it, run `rum migrate "
                                            r"run` \(`rum migrate status`"):
        await Ghost.all().filter("name", "casper").fetch_all()


class Proxy:
    """A TCP proxy to PostgreSQL that can be cut, as a server going down."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.scope = trio.CancelScope()
        self.port = 0

    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        with self.scope:
            listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
            self.port = listeners[0].socket.getsockname()[1]
            task_status.started()
            await trio.serve_listeners(self.serve, listeners)

    async def serve(self, client: trio.SocketStream) -> None:
        async with client, await trio.open_tcp_stream(*self.target) as server:
            async def pipe(a: trio.SocketStream, b: trio.SocketStream) -> None:
                async for chunk in a:
                    await b.send_all(chunk)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(pipe, client, server)
                nursery.start_soon(pipe, server, client)


class Count(Controller):
    async def get(self, request):
        return Response.text(str(await request.app.storage.fetchval("SELECT 1")))


async def test_server_going_down_mid_run_says_database(rum_app_factory, database_url) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(database_url)
    async with trio.open_nursery() as nursery:
        proxy = Proxy((parts.hostname or "127.0.0.1", parts.port or 5432))
        await nursery.start(proxy.run)
        url = database_url.replace(parts.netloc.rpartition("@")[2], f"127.0.0.1:{proxy.port}")
        app = rum_app_factory([Count.route("/count")], plugins=["http", "orm", "debug"],
                              env="development",
                              config={"database": {"url": url, "pool_min": 1, "pool_max": 1,
                                                   "connect_timeout": 3}})
        async with serve_app(app) as base, httpx.AsyncClient(timeout=30) as client:
            assert (await client.get(f"{base}/count")).text == "1"
            proxy.scope.cancel()  # the server goes away, with the pool's connection
            await trio.sleep(0.2)
            pages = [await client.get(f"{base}/count", headers=BROWSER) for _ in range(2)]
            api = await client.get(f"{base}/count", headers={"accept": "application/json"})
        nursery.cancel_scope.cancel()
    for page in pages:
        assert page.status_code == 500 and "DatabaseUnavailable" in page.text
        assert "PostgreSQL" in page.text
    assert "cannot connect to PostgreSQL" in pages[-1].text
    assert "connection refused" in pages[-1].text
    assert "caused by ConnectionRefusedError" in pages[-1].text  # the driver's error, below
    assert api.status_code == 500
    assert api.json()["detail"].startswith("DatabaseUnavailable: cannot connect to PostgreSQL")

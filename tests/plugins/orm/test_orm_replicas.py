"""Read replicas: ``[database] replica_urls``, ``Scope.on("replica")`` and ``replica_reads``.

The fixture starts a throwaway PostgreSQL 15 primary (``initdb``, replication allowed from
127.0.0.1) and a streaming replica of it made with ``pg_basebackup -R``; replay on the replica
is paused while a row is inserted on the primary, so a query that reads the replica provably
does not see it and one that reads the primary does.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from rum import App
from rum_orm import Database, Model

BIN = Path("/usr/lib/postgresql/15/bin")

pytestmark = pytest.mark.postgres


class Reading(Model):
    id: int | None = None
    value: int = 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def as_postgres(*argv: str) -> None:
    """Run a server binary (they refuse root: as the postgres user when we are root)."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *argv], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    """(primary URL, replica URL) of a primary and its streaming replica."""
    if not (BIN / "initdb").exists() or not (BIN / "pg_basebackup").exists():
        pytest.skip(f"PostgreSQL server binaries are not in {BIN}")
    work = Path(tempfile.mkdtemp(prefix="rum-replica-"))
    work.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(work, "postgres")
    primary, replica = work / "primary", work / "replica"
    ports = free_port(), free_port()
    started: list[Path] = []

    def start(data: Path, port: int) -> None:
        as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-l", str(work / f"{data.name}.log"),
                    "-w", "-o", f"-p {port} -k {work} -c listen_addresses=127.0.0.1 "
                                f"-c fsync=off -c full_page_writes=off", "start")
        started.append(data)

    try:
        as_postgres(str(BIN / "initdb"), "-D", str(primary), "-A", "trust", "-U", "postgres",
                    "--no-sync")
        with (primary / "pg_hba.conf").open("a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        start(primary, ports[0])
        as_postgres(str(BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(ports[0]),
                    "-U", "postgres", "-D", str(replica), "-R", "-X", "stream")
        start(replica, ports[1])
        yield (f"postgresql://postgres@127.0.0.1:{ports[0]}/postgres",
               f"postgresql://postgres@127.0.0.1:{ports[1]}/postgres")
    finally:
        for data in reversed(started):
            as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(work, ignore_errors=True)


async def caught_up(primary: Database, replica: Database) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    target = await primary.fetchval("SELECT pg_current_wal_lsn()")
    with trio.fail_after(10):
        while not await replica.fetchval("SELECT pg_last_wal_replay_lsn() >= $1", target):
            await trio.sleep(0.02)


@pytest.fixture
async def lagging(servers: tuple[str, str]) -> tuple[str, str]:
    """A fresh ``readings`` table with one row on both, then a second row on the primary only
    (replay paused on the replica); resumed afterwards."""
    primary_url, replica_url = servers
    async with Database.open(primary_url) as primary, Database.open(replica_url) as replica:
        await primary.execute("DROP TABLE IF EXISTS readings")
        await primary.execute("CREATE TABLE readings (id bigserial PRIMARY KEY, "
                              "value integer NOT NULL)")
        await primary.execute("INSERT INTO readings (value) VALUES (1)")
        await caught_up(primary, replica)
        await replica.execute("SELECT pg_wal_replay_pause()")
        await primary.execute("INSERT INTO readings (value) VALUES (2)")
    yield servers
    async with Database.open(replica_url) as replica:
        await replica.execute("SELECT pg_wal_replay_resume()")


async def test_on_replica_reads_the_replica_and_everything_else_the_primary(
        lagging: tuple[str, str]) -> None:
    primary_url, replica_url = lagging
    async with Database.open(primary_url, replica_urls=[replica_url]) as db:
        assert [r.value for r in await Reading.all().on("replica").order("id").fetch_all()] \
            == [1]
        assert await Reading.all().on("replica").count() == 1
        assert not await Reading.filter(value=2).on("replica").exists()
        assert await Reading.filter(value=2).on("replica").fetch_optional() is None
        # the default is the primary
        assert await Reading.count() == 2
        assert (await Reading.filter(value=2).fetch()).value == 2
        # a locking read, a transaction, a given connection: the primary
        assert len(await Reading.all().on("replica").lock().fetch_all()) == 2
        async with db.transaction():
            assert await Reading.all().on("replica").count() == 2
        async with db.connection() as conn:
            assert await Reading.all().on("replica").count(conn) == 2
        # gathered with primary reads (those batch; the replica's runs on its own pool)
        assert await db.gather(Reading.all().on("replica").count(), Reading.all().count(),
                               Reading.filter(value=2).on("replica").exists()) == [1, 2, False]
        # writes go to the primary
        assert await Reading.filter(value=2).on("replica").update_all(value=3) == 1
        assert await Reading.filter(value=3).count() == 1
        assert db.replicas[0].is_open
    assert not db.replicas[0].is_open  # closed with the primary's pool


async def test_replica_reads_send_read_only_scopes_to_the_replica(
        lagging: tuple[str, str]) -> None:
    primary_url, replica_url = lagging
    async with Database.open(primary_url, replica_urls=[replica_url], replica_reads=True) as db:
        assert await Reading.count() == 1
        assert await Reading.all().on("primary").count() == 2
        async with db.transaction():
            assert await Reading.count() == 2  # read your own transaction's view


async def test_the_app_takes_replicas_from_its_configuration(
        lagging: tuple[str, str], tmp_path: Path) -> None:
    primary_url, replica_url = lagging
    app = App([], plugins=["orm"], root=tmp_path, config={"database": {
        "url": primary_url, "replica_urls": [replica_url], "replica_reads": True}})
    async with app.running():
        assert await Reading.count() == 1
        assert await Reading.all().on("primary").count() == 2


async def test_without_replicas_on_replica_reads_the_primary(
        lagging: tuple[str, str]) -> None:
    async with Database.open(lagging[0], replica_reads=True) as db:
        assert await Reading.all().on("replica").count() == 2
        assert await Reading.count() == 2
        assert db.reader() is db and not db.replica_reads
    with pytest.raises(ValueError, match=r"on\('standby'\): use \"primary\" or \"replica\""):
        Reading.all().on("standby")

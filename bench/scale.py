"""Requests/s and jobs/s with 1, 2 and 3 nodes, all through one PgBouncer.

    python bench/scale.py [--seconds 5] [--jobs 4000] [--connections 32] [--url ...]
                          [--no-write]

For N = 1, 2, 3: N ``rum run`` processes (127.0.0.2, .3, .4) and N ``rum worker`` processes
(concurrency 20), every pool through a PgBouncer in transaction pooling mode that the bench
starts (``rum_orm.pgbouncer.PgBouncer``; LISTEN and migrations on the direct URL, as in
docs/deployment.md). Requests/s: ``--connections`` keep-alive connections spread over the
nodes, each sending ``GET /q`` (one ``SELECT`` through the pool) back to back for
``--seconds``; the load generator is one trio process on the same machine. Jobs/s: ``--jobs``
jobs (one ``INSERT`` each) enqueued at once, timed until every one is complete. On a 2-core
machine the processes share the cores with PostgreSQL, PgBouncer and the load generator, so
more nodes cannot add throughput here: the point is that the shape works.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import trio
from results import append_section, environment

from rum_orm import Database
from rum_orm.pgbouncer import PgBouncer
from rum_orm.testing import create_database, drop_database, unique_database_name

HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")

APP = '''
from rum import App, Controller, Response


class Query(Controller):
    async def get(self, request):
        n = await request.app.storage.fetchval("SELECT count(*) FROM ran WHERE n = $1", 1)
        return Response.text(str(n))


app = App([Query.route("/q")])
'''

JOB = '''
from rum_jobs import Job


class Record(Job):
    async def execute(self, n):
        await self.db.execute("INSERT INTO ran (n) VALUES ($1)", n)
'''

RUM_TOML = '''
[plugins]
enabled = ["http", "orm", "jobs"]

[http]
access_log = false

[database]
pool_max = 8

[jobs]
modules = ["benchjobs"]
concurrency = 20
'''


def write_project(root: Path) -> None:
    (root / "Rum.toml").write_text(RUM_TOML)
    (root / "app.py").write_text(textwrap.dedent(APP))
    (root / "benchjobs.py").write_text(textwrap.dedent(JOB))
    (root / "migrations").mkdir()
    (root / "migrations" / "20260101000000_ran.up.sql").write_text(
        "CREATE TABLE ran (n int NOT NULL);\n")
    (root / "migrations" / "20260101000000_ran.down.sql").write_text("DROP TABLE ran;\n")


async def hammer(host: str, port: int, until: float, counts: list[int]) -> None:
    """Back-to-back ``GET /q`` on one keep-alive connection until ``until``."""
    request = f"GET /q HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    stream = await trio.open_tcp_stream(host, port)
    async with stream:
        buffer = b""
        while trio.current_time() < until:
            await stream.send_all(request)
            while True:
                head_end = buffer.find(b"\r\n\r\n")
                if head_end >= 0:
                    head = buffer[:head_end].lower()
                    length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
                    if len(buffer) >= head_end + 4 + length:
                        assert head.startswith(b"http/1.1 200"), head
                        buffer = buffer[head_end + 4 + length:]
                        break
                chunk = await stream.receive_some(65536)
                if not chunk:
                    raise ConnectionError("the server closed the connection")
                buffer += chunk
            counts[0] += 1


async def requests_per_second(nodes: list[tuple[str, int]], seconds: float,
                              connections: int) -> float:
    counts = [0]
    until = trio.current_time() + seconds
    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for i in range(connections):
            host, port = nodes[i % len(nodes)]
            nursery.start_soon(hammer, host, port, until, counts)
    return counts[0] / (time.perf_counter() - started)


async def jobs_per_second(url: str, jobs: int) -> float:
    from rum_jobs import enqueue_many

    sys.path.insert(0, os.getcwd())
    from benchjobs import Record  # the project's job class

    async with Database.open(url, pool_max=2) as db:
        await db.execute("TRUNCATE ran")
        started = time.perf_counter()
        await enqueue_many([(Record, n) for n in range(jobs)], db=db)
        while await db.fetchval("SELECT count(*) FROM ran") < jobs:
            await trio.sleep(0.05)
        elapsed = time.perf_counter() - started
        await db.execute("DELETE FROM rum_jobs")
    return jobs / elapsed


async def wait_ready(nodes: list[tuple[str, int]]) -> None:
    request = b"GET /_rum/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with trio.fail_after(60):
        for host, port in nodes:
            while True:
                try:
                    stream = await trio.open_tcp_stream(host, port)
                    async with stream:
                        await stream.send_all(request)
                        if (await stream.receive_some(100)).startswith(b"HTTP/1.1 200"):
                            break
                except OSError:
                    pass
                await trio.sleep(0.2)


def free_port(host: str) -> int:
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--jobs", type=int, default=4000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--url", default=os.environ.get(
        "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rum = shutil.which("rum") or str(Path(sys.executable).with_name("rum"))
    name = unique_database_name("rum_bench_scale")
    direct = create_database(args.url, name)
    bouncer = PgBouncer(args.url, pool_size=10)
    root = Path(tempfile.mkdtemp(prefix="rum-bench-scale-"))
    rows = []
    try:
        bouncer.start()
        write_project(root)
        env = {**os.environ, "RUM_ENV": "test", "DATABASE_URL": bouncer.url_for(direct),
               "DATABASE_DIRECT_URL": direct,
               "RUM_DATABASE__STATEMENT_CACHE_SIZE":
                   "100" if bouncer.tracks_prepared_statements else "0"}
        env.pop("RUM_ROOT", None)
        subprocess.run([rum, "migrate", "run"], cwd=root, env=env, check=True,
                       capture_output=True)
        os.chdir(root)
        for count in (1, 2, 3):
            processes = []
            nodes = [(host, free_port(host)) for host in HOSTS[:count]]
            try:
                for host, port in nodes:
                    processes.append(subprocess.Popen(
                        [rum, "run", "--no-reload", "--host", host, "--port", str(port)],
                        cwd=root, env={**env, "RUM_ROLE": "web"}, start_new_session=True,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                    processes.append(subprocess.Popen(
                        [rum, "worker"], cwd=root, env={**env, "RUM_ROLE": "worker"},
                        start_new_session=True, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL))
                trio.run(wait_ready, nodes)
                rps = trio.run(requests_per_second, nodes, args.seconds, args.connections)
                jps = trio.run(jobs_per_second, direct, args.jobs)
                rows.append((count, rps, jps))
                print(f"{count} node(s): {rps:,.0f} requests/s, {jps:,.0f} jobs/s", flush=True)
            finally:
                for process in processes:
                    os.killpg(process.pid, signal.SIGTERM)
                for process in processes:
                    process.wait(timeout=30)
    finally:
        bouncer.close()
        drop_database(args.url, name)
        shutil.rmtree(root, ignore_errors=True)
    table = "\n".join(["| nodes (web + worker each) | requests/s | jobs/s |", "|---|---|---|"]
                      + [f"| {n} | {rps:,.0f} | {jps:,.0f} |" for n, rps, jps in rows])
    print(table)
    if not args.no_write:
        append_section(
            "Scale-out through PgBouncer: 1, 2 and 3 nodes on one machine",
            f"`python bench/scale.py --seconds {args.seconds:g} --jobs {args.jobs} "
            f"--connections {args.connections}`; PgBouncer {'.'.join(map(str, bouncer.version))}"
            f" (transaction pooling, 10 server connections); {environment()}.", table)


if __name__ == "__main__":
    main()

"""Instructions per ORM operation, split by layer (callgrind ``Ir``, stable on a loaded machine).

    python bench/bridge_ir.py [--ops 500] [PART ...]

Parts: ``asyncpg`` (native ``fetchrow`` on uvloop, the floor), ``bridge`` (one
``bridge.run`` of a no-op coroutine), ``raw`` (``db.fetchrow(sql, stateless=True)``),
``build`` (building a scope's SQL, no I/O) and ``orm`` (``World.find(n).fetch()``). Each runs
in its own process under ``valgrind --tool=callgrind``; ``os.getppid()`` marks where the
measured loop starts and ends (``--dump-before=os_getppid``), so warm-up is not counted.
Needs the ``rum_tfb`` database that ``bench/tfb/schema.py`` fills (``TFB_DATABASE_URL``).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
URL = os.environ.get("TFB_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/rum_tfb")
SQL = "SELECT id, randomnumber FROM world WHERE id = $1"
PARTS = ["asyncpg", "bridge", "raw", "build", "orm"]


def _child(part: str, ops: int) -> None:
    if part == "asyncpg":
        import asyncpg
        import uvloop

        async def native() -> None:
            conn = await asyncpg.connect(URL)
            for i in range(100):
                await conn.fetchrow(SQL, i + 1)
            os.getppid()
            for i in range(ops):
                await conn.fetchrow(SQL, i % 10000 + 1)
            os.getppid()
            await conn.close()

        uvloop.run(native())
        return
    import trio

    sys.path.insert(0, str(HERE / "tfb"))
    os.environ["DATABASE_URL"] = URL
    import rum_app

    from rum_orm.sql import Params

    async def noop() -> int:
        return 1

    async def run() -> None:
        app = rum_app.make_app()
        async with app.running():
            world, db = rum_app.World, app.storage
            for i in range(100):
                await world.find(i + 1).fetch()
                await db.bridge.run(noop)
            os.getppid()
            for i in range(ops):
                n = i % 10000 + 1
                if part == "bridge":
                    await db.bridge.run(noop)
                elif part == "raw":
                    await db.fetchrow(SQL, n, stateless=True)
                elif part == "build":
                    world.find(n)._select(Params(), limit=2)
                else:
                    await world.find(n).fetch()
            os.getppid()

    trio.run(run)


def measure(part: str, ops: int) -> float:
    """Instructions per operation of ``part``."""
    with tempfile.TemporaryDirectory() as out:
        cmd = ["valgrind", "--tool=callgrind", "--dump-before=os_getppid",
               f"--callgrind-out-file={out}/cg.out", sys.executable, str(Path(__file__)),
               "--child", part, "--ops", str(ops)]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            raise SystemExit(f"callgrind run of {part} failed:\n{run.stderr[-2000:]}")
        parts = sorted(Path(out).glob("cg.out.*"), key=lambda p: int(p.suffix[1:]))
        match: Any = re.search(r"^totals: (\d+)", parts[1].read_text(), re.M)
        return int(match.group(1)) / ops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", metavar="PART", help=f"of {', '.join(PARTS)}")
    parser.add_argument("--ops", type=int, default=500)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.ops)
        return
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}; known: {', '.join(PARTS)}")
    for part in args.parts or PARTS:
        print(f"{part:10} {measure(part, args.ops):>12,.0f} Ir/op")


if __name__ == "__main__":
    main()

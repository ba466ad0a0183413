"""The TechEmpower tables (``world``: 10,000 rows, ``fortune``: 12 rows) in a database of their
own, created once: ``python bench/tfb/schema.py URL`` (``run.py`` calls it)."""

from __future__ import annotations

import asyncio
import random
import sys

import asyncpg

FORTUNES = [
    "fortune: No such file or directory",
    "A computer scientist is someone who fixes things that aren't broken.",
    "After enough decimal places, nobody gives a damn.",
    "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1",
    "A computer program does what you tell it to do, not what you want it to do.",
    "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen",
    "Any program that runs right is obsolete.",
    "A list is only as strong as its weakest link. — Donald Knuth",
    "Feature: A bug with seniority.",
    "Computers make very fast, very accurate mistakes.",
    '<script>alert("This should not be displayed in a browser alert box.");</script>',
    "フレームワークのベンチマーク",
]


async def create(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP TABLE IF EXISTS world, fortune")
        await conn.execute("CREATE TABLE world (id integer PRIMARY KEY, "
                           "randomnumber integer NOT NULL)")
        await conn.execute("CREATE TABLE fortune (id integer PRIMARY KEY, message text NOT NULL)")
        await conn.copy_records_to_table(
            "world", records=[(i, random.randint(1, 10000)) for i in range(1, 10001)])
        await conn.copy_records_to_table("fortune",
                                         records=list(enumerate(FORTUNES, start=1)))
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(create(sys.argv[1]))

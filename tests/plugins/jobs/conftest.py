"""Fixtures for the jobs plugin tests.

Creating and dropping a PostgreSQL database per test costs about a second each on a busy
machine, so the tests of one module share one database (made with the ORM's testing helpers on
the ``postgres_url`` server) and ``jdb`` empties the jobs table before each test. Tests that
need a database without the jobs tables use the ORM's ``database_url`` fixture instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from rum_jobs import ensure_schema
from rum_orm.testing import create_database, drop_database, unique_database_name


@pytest.fixture(scope="module")
def jobs_database_url(postgres_url: str) -> Iterator[str]:
    """A database shared by the tests of one module (dropped after the module)."""
    name = unique_database_name("rum_jobs_test")
    url = create_database(postgres_url, name)
    try:
        yield url
    finally:
        drop_database(postgres_url, name)


@pytest.fixture
async def jdb(jobs_database_url: str) -> AsyncIterator[Any]:
    """An open ``rum_orm.Database`` on the module's database, jobs tables created and empty."""
    from rum_orm import Database

    async with Database.open(jobs_database_url, pool_min=1, pool_max=4) as db:
        await ensure_schema(db)
        await db.execute("TRUNCATE rum_jobs RESTART IDENTITY; DROP TABLE IF EXISTS crash_log")
        yield db

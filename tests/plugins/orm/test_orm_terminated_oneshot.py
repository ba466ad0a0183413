"""A one-shot statement whose server session is terminated mid-query gives its pool slot
back: pg_terminate_backend of pooled connections (an operator, a failover) must not leave the
pool short of connections until every acquire waits forever."""

from __future__ import annotations

import pytest
import trio

from rum_orm import Database

pytestmark = pytest.mark.postgres


async def test_terminated_stateless_statements_do_not_leak_pool_slots(database_url: str) -> None:
    """Before: the server's error made the connection go back 'clean', asyncpg had already
    detached it (closed connections go back to its pool by themselves), marking it raised
    AttributeError, and the slot was never counted back: with pool_max=2, the third
    statement waited forever (the jobs worker stopped claiming under such kills)."""
    async with Database.open(database_url, pool_min=1, pool_max=2) as db:
        for _ in range(4):
            with pytest.raises(Exception, match="terminat"):
                await db.fetchval("SELECT pg_terminate_backend(pg_backend_pid())",
                                  stateless=True)
        with trio.fail_after(5):
            assert await db.fetchval("SELECT 1", stateless=True) == 1

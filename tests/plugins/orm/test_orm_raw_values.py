"""Values bound to the app's own SQL (``db.fetch``, ``db.execute``... and a transaction's
connection) are checked before they reach PostgreSQL, as the ORM's are: a client's bad value is
a 422 naming the column (or ``$n``), never a driver error and a 500."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx
import pytest

from rum import App, Controller, Request, Response
from rum_http.testing import serve_app
from rum_orm import Database, ValueRejected

pytestmark = pytest.mark.postgres

TABLE = "CREATE TABLE counters (id serial PRIMARY KEY, name text NOT NULL, n integer NOT NULL)"


@pytest.fixture
async def counters(db: Database) -> Database:
    await db.execute(TABLE)
    return db


async def test_one_shot_statements_refuse_bad_values_naming_the_column(
        counters: Database) -> None:
    insert = "INSERT INTO counters (name, n) VALUES ($1, $2)"
    with pytest.raises(ValueRejected) as nul:
        await counters.execute(insert, "a\x00b", 1)
    assert nul.value.status == 422 and nul.value.column == "$1"
    with pytest.raises(ValueRejected, match=r"^\$1: .*surrogate"):
        await counters.fetchval("SELECT $1::text", "\udc00")
    with pytest.raises(ValueRejected) as big:
        await counters.fetch("SELECT * FROM counters WHERE \"n\" = $1::bigint", 2**70)
    assert big.value.column == "n" and "9223372036854775807" in big.value.problem
    assert await counters.fetchval("SELECT $1::numeric", 10**30) == 10**30  # the driver's call
    with pytest.raises(ValueRejected) as narrow:  # within bigint, beyond the integer column
        await counters.execute(insert, "x", 2**40)
    assert (narrow.value.column, narrow.value.problem) == (
        "$2", "must be between -2147483648 and 2147483647")
    with pytest.raises(ValueRejected):
        await counters.fetchrow("SELECT $1::smallint", 40000)
    assert await counters.fetchval("SELECT count(*) FROM counters") == 0


async def test_a_wrong_type_stays_the_programs_error(counters: Database) -> None:
    with pytest.raises(asyncpg.DataError) as caught:
        await counters.execute("INSERT INTO counters (name, n) VALUES ($1, $2)", "x", "many")
    assert not isinstance(caught.value, ValueRejected)


async def test_a_transactions_connection_and_executemany_check_too(counters: Database) -> None:
    insert = "INSERT INTO counters (name, n) VALUES ($1, $2)"
    with pytest.raises(ValueRejected):
        async with counters.transaction() as tx:
            await tx.execute(insert, "fine", 1)
            await tx.execute(insert, "bad\x00", 2)
    with pytest.raises(ValueRejected):
        async with counters.transaction():
            await counters.fetchval("SELECT $1::int", 2**40)  # the transaction's connection
    with pytest.raises(ValueRejected):
        await counters.executemany(insert, [("a", 1), ("b", 2**35)])
    with pytest.raises(ValueRejected):
        async with counters.transaction() as tx:
            await tx.executemany(insert, [("a", 1), ("\udc00", 2)])
    assert await counters.fetchval("SELECT count(*) FROM counters") == 0
    await counters.executemany(insert, [("a", 1), ("b", 2)])
    assert await counters.fetchval("SELECT sum(n) FROM counters") == 3


class Lookup(Controller):
    """``GET /count?n=...``: the app's own SQL with a value from the query string."""

    async def get(self, request: Request) -> Response:
        db = request.app.storage  # type: ignore[union-attr]
        n = int(request.query["n"])
        found = await db.fetchval("SELECT count(*) FROM counters WHERE n = $1", n)
        return Response.json({"found": found})


async def test_a_clients_value_in_raw_sql_is_a_422_over_a_socket(tmp_path: Path,
                                                                database_url: str,
                                                                counters: Database) -> None:
    (tmp_path / "Rum.toml").write_text(
        f'[plugins]\nenabled = ["http", "orm"]\n[http]\naccess_log = false\n'
        f'[database]\nurl = "{database_url}"\n')
    app = App([Lookup.route("/count")], root=tmp_path)
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/count", params={"n": "7"})).json() == {"found": 0}
        refused = await client.get("/count", params={"n": str(2**40)},
                                   headers={"accept": "application/json"})
        assert refused.status_code == 422, refused.text
        assert "-2147483648" in refused.text
        assert (await client.get("/count", params={"n": "1"})).status_code == 200

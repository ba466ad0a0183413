"""The TechEmpower endpoints written idiomatically in Starlette on asyncpg, for uvicorn:
``uvicorn --app-dir bench/tfb starlette_app:app`` (``DATABASE_URL`` names the database).

"updates" reads its N rows one by one and writes them back in one ``executemany`` (asyncpg
sends the N ``UPDATE``s in one batch, in one implicit transaction), as TechEmpower allows."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse
from starlette.routing import Route

POOL: dict[str, Any] = {}
TEMPLATE = jinja2.Environment(autoescape=True).from_string(
    "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th>"
    "<th>message</th></tr>{% for fortune in fortunes %}<tr><td>{{ fortune[0] }}</td>"
    "<td>{{ fortune[1] }}</td></tr>{% endfor %}</table></body></html>")
WORLD = "SELECT id, randomnumber FROM world WHERE id = $1"
UPDATE = "UPDATE world SET randomnumber = $2 WHERE id = $1"


def query_count(request: Request) -> int:
    try:
        n = int(request.query_params.get("queries", "1"))
    except ValueError:
        return 1
    return min(max(n, 1), 500)


async def plaintext(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Hello, World!")


async def json(request: Request) -> JSONResponse:
    return JSONResponse({"message": "Hello, World!"})


async def single_query(request: Request) -> JSONResponse:
    async with POOL["pool"].acquire() as conn:
        row = await conn.fetchrow(WORLD, random.randint(1, 10000))
    return JSONResponse({"id": row["id"], "randomNumber": row["randomnumber"]})


async def queries(request: Request) -> JSONResponse:
    ids = random.sample(range(1, 10001), query_count(request))
    async with POOL["pool"].acquire() as conn:
        rows = [await conn.fetchrow(WORLD, i) for i in ids]
    return JSONResponse([{"id": r["id"], "randomNumber": r["randomnumber"]} for r in rows])


async def updates(request: Request) -> JSONResponse:
    ids = random.sample(range(1, 10001), query_count(request))
    async with POOL["pool"].acquire() as conn:
        rows = [await conn.fetchrow(WORLD, i) for i in ids]
        worlds = [{"id": r["id"], "randomNumber": random.randint(1, 10000)} for r in rows]
        # one batch, rows in id order (two requests updating the same rows cannot deadlock)
        await conn.executemany(UPDATE, sorted((w["id"], w["randomNumber"]) for w in worlds))
    return JSONResponse(worlds)


async def fortunes(request: Request) -> HTMLResponse:
    async with POOL["pool"].acquire() as conn:
        rows = [tuple(r) for r in await conn.fetch("SELECT id, message FROM fortune")]
    rows.append((0, "Additional fortune added at request time."))
    rows.sort(key=lambda r: r[1])
    return HTMLResponse(TEMPLATE.render(fortunes=rows))


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    POOL["pool"] = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=10,
                                             max_size=10)
    yield
    await POOL["pool"].close()


app = Starlette(routes=[Route("/plaintext", plaintext), Route("/json", json),
                        Route("/db", single_query), Route("/queries", queries),
                        Route("/fortunes", fortunes), Route("/updates", updates)],
              lifespan=lifespan)

"""The TechEmpower endpoints written idiomatically in FastAPI on asyncpg, for uvicorn:
``uvicorn --app-dir bench/tfb fastapi_app:app`` (``DATABASE_URL`` names the database).

As FastAPI's documentation has it today: ``async def`` path operations, the asyncpg pool opened
in a ``lifespan`` and kept on ``app.state``, a connection per request from a dependency with
``yield``, and JSON described by return types (Pydantic models), which FastAPI serializes with
Pydantic (its docs deprecate ``ORJSONResponse`` in favour of that). Fortunes render with Jinja2
and answer through ``response_class=HTMLResponse``, plaintext through ``PlainTextResponse``.
"queries" is read as a string and clamped by hand: TechEmpower wants ``?queries=foo`` to mean
1, where an ``int`` parameter would answer 422. "updates" reads its rows one by one and writes
them back in one ``executemany``, like ``starlette_app.py``.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel

# the same template and statements as the Starlette peer (FastAPI runs on Starlette)
from starlette_app import TEMPLATE, UPDATE, WORLD


class Message(BaseModel):
    message: str


class World(BaseModel):
    id: int
    randomNumber: int  # the TechEmpower field name


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=10,
                                               max_size=10)
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


async def connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    async with request.app.state.pool.acquire() as conn:
        yield conn


Connection = Annotated[asyncpg.Connection, Depends(connection)]


def query_count(queries: str | None) -> int:
    try:
        n = int(queries or "1")
    except ValueError:
        return 1
    return min(max(n, 1), 500)


@app.get("/plaintext", response_class=PlainTextResponse)
async def plaintext() -> str:
    return "Hello, World!"


@app.get("/json")
async def json() -> Message:
    return Message(message="Hello, World!")


@app.get("/db")
async def single_query(conn: Connection) -> World:
    row = await conn.fetchrow(WORLD, random.randint(1, 10000))
    return World(id=row["id"], randomNumber=row["randomnumber"])


@app.get("/queries")
async def queries(conn: Connection, queries: str | None = None) -> list[World]:
    ids = random.sample(range(1, 10001), query_count(queries))
    rows = [await conn.fetchrow(WORLD, i) for i in ids]
    return [World(id=r["id"], randomNumber=r["randomnumber"]) for r in rows]


@app.get("/updates")
async def updates(conn: Connection, queries: str | None = None) -> list[World]:
    ids = random.sample(range(1, 10001), query_count(queries))
    rows = [await conn.fetchrow(WORLD, i) for i in ids]
    worlds = [World(id=r["id"], randomNumber=random.randint(1, 10000)) for r in rows]
    # one batch, rows in id order (two requests updating the same rows cannot deadlock)
    await conn.executemany(UPDATE, sorted((w.id, w.randomNumber) for w in worlds))
    return worlds


@app.get("/fortunes", response_class=HTMLResponse)
async def fortunes(conn: Connection) -> str:
    rows = [tuple(r) for r in await conn.fetch("SELECT id, message FROM fortune")]
    rows.append((0, "Additional fortune added at request time."))
    rows.sort(key=lambda r: r[1])
    return TEMPLATE.render(fortunes=rows)

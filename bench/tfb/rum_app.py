"""The TechEmpower endpoints written idiomatically in Rum: ``python bench/tfb/rum_app.py PORT``.

``DATABASE_URL`` names the database (``schema.py`` fills it); ``RUM_TFB_MODE`` picks how the
"queries" and "updates" endpoints run their N queries: ``plain`` (one after another, each a
one-shot query), ``pin`` (``[database] pin_requests``: one connection per request) or
``gather`` (``await db.gather(...)``: one bridge crossing for all N, on one connection).

"updates" reads its N rows like "queries", then writes the new random numbers with
``World.bulk_update(worlds, ["randomnumber"])`` (docs/orm.md, "Updating many records"): one
``UPDATE "world" SET "randomnumber" = $2 WHERE "id" = $1`` per row, pipelined in one round
trip, as the peers' ``executemany`` does.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path
from typing import Any

from rum import App, Controller, Request, Response
from rum_orm import Model

MODE = os.environ.get("RUM_TFB_MODE", "plain")


class World(Model):
    __table__ = "world"
    id: int | None = None
    randomnumber: int = 0


class Fortune(Model):
    __table__ = "fortune"
    id: int | None = None
    message: str = ""


def query_count(request: Request) -> int:
    try:
        n = int(request.query.get("queries", "1"))
    except ValueError:
        return 1
    return min(max(n, 1), 500)


class Plaintext(Controller):
    async def get(self, request: Request) -> Response:
        return Response.text("Hello, World!")


class Json(Controller):
    async def get(self, request: Request) -> Response:
        return Response.json({"message": "Hello, World!"})


class SingleQuery(Controller):
    async def get(self, request: Request) -> Response:
        world = await World.find(random.randint(1, 10000)).fetch()
        return Response.json({"id": world.id, "randomNumber": world.randomnumber})


async def random_worlds(request: Request) -> list[Any]:
    """``?queries=N`` distinct random worlds, read one by one (or gathered, in gather mode)."""
    ids = random.sample(range(1, 10001), query_count(request))
    if MODE == "gather":
        db: Any = request.app.storage if request.app else None
        return list(await db.gather(*(World.find(i).fetch() for i in ids)))
    return [await World.find(i).fetch() for i in ids]


class Queries(Controller):
    async def get(self, request: Request) -> Response:
        worlds = await random_worlds(request)
        return Response.json([{"id": w.id, "randomNumber": w.randomnumber} for w in worlds])


class Updates(Controller):
    async def get(self, request: Request) -> Response:
        worlds = await random_worlds(request)
        for world in worlds:
            world.randomnumber = random.randint(1, 10000)
        await World.bulk_update(worlds, ["randomnumber"])
        return Response.json([{"id": w.id, "randomNumber": w.randomnumber} for w in worlds])


class Fortunes(Controller):
    async def get(self, request: Request) -> Response:
        fortunes = await Fortune.all().fetch_all()
        fortunes.append(Fortune(id=0, message="Additional fortune added at request time."))
        fortunes.sort(key=lambda f: f.message)
        return await self.render("fortunes.html", fortunes=fortunes)


def make_app() -> App:
    return App([Plaintext.route("/plaintext"), Json.route("/json"), SingleQuery.route("/db"),
                Queries.route("/queries"), Fortunes.route("/fortunes"),
                Updates.route("/updates")],
               plugins=["http", "orm", "templates"], root=Path(__file__).parent,
               env="production",
               config={"http": {"access_log": False},
                       "database": {"url": os.environ["DATABASE_URL"], "pool_min": 10,
                                    "pool_max": 10, "allow_pending_migrations": True,
                                    **({"pin_requests": True} if MODE == "pin" else {})},
                       "general": {"secret_key": "7e" * 32}})


if __name__ == "__main__":
    make_app().run(port=int(sys.argv[1]))

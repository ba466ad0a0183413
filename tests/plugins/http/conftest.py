"""Fixtures for the HTTP server tests: a small app and raw-socket helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from rum import App, Controller, Request, Response


class Index(Controller):
    async def handle(self, request: Request) -> Response:
        return Response.html("<h1>Hey Rum!</h1>")


class Echo(Controller):
    async def handle(self, request: Request) -> Response:
        return Response.text(f"{request.method} {request.path} {request.query_string} "
                             f"{len(request.body)}:{request.body.decode()}")


class Slow(Controller):
    async def handle(self, request: Request) -> Response:
        import trio

        await trio.sleep(float(request.query.get("s", "0.5")))
        return Response.text("slow done")


class Stream(Controller):
    async def handle(self, request: Request) -> Response:
        async def chunks():
            for i in range(3):
                yield f"part{i};".encode()

        return Response.streaming(chunks())


ROUTES = [Index.route("/"), Echo.route("/echo"), Echo.route("/echo/<path:rest>"),
          Slow.route("/slow"), Stream.route("/stream")]


@pytest.fixture
def make_app(tmp_path: Path):
    """``make_app(**http_settings)``: the test app with the http plugin, rooted in tmp_path."""

    def make(plugins: tuple = (), **http: object) -> App:
        return App(ROUTES, plugins=["http", *plugins], root=tmp_path,
                   config={"http": http} if http else None)

    return make

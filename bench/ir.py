"""Instructions per request (callgrind ``Ir``) on Rum's hot paths: the figure that stays stable
on a loaded machine, where wall-clock rates swing by 2×.

    python bench/ir.py [--requests 300] [SCENARIO ...]

Runs one Python process under ``valgrind --tool=callgrind`` that builds every scenario's app,
warms each up, then runs each scenario's ``--requests`` requests in turn. Between scenarios it
calls ``os.getppid()``, and callgrind's ``--dump-before=os_getppid`` writes a profile part at
each call, so every part holds exactly one scenario's instructions (no start-up, no import,
no warm-up). Ir per request = the part's total ÷ requests.

Scenarios run in-process through ``app.handle`` (request hooks, routing, controller, response
hooks: everything but the socket), except ``plaintext_http``, which goes through the real
``rum_http`` server over a loopback socket (the client's few instructions per request are
counted too). ``bench/guard.py`` compares these figures with ``bench/baseline.json``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SECRET = "5a" * 32

Scenario = Callable[[Path], Awaitable[Callable[[], Awaitable[Any]]]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(fn: Scenario) -> Scenario:
    """Register ``fn`` (returns the one-request coroutine function) under its name."""
    SCENARIOS[fn.__name__] = fn
    return fn


def _request(path: str, headers: dict[str, str] | None = None) -> Any:
    from rum import Request

    return Request.from_target("GET", path, headers={"host": "bench", **(headers or {})},
                               client=("127.0.0.1", 40000))


def _one(app: Any, path: str, headers: dict[str, str] | None = None,
         status: int = 200) -> Callable[[], Awaitable[Any]]:
    async def once() -> Any:
        response = await app.handle(_request(path, headers))
        assert response.status == status, (path, response.status, response.body[:300])
        return response
    return once


# -- the scenarios ---------------------------------------------------------------------------------

def _kernel_only(tmp: Path, routes: list[Any]) -> Any:
    """An app with no plugin at all (without ``[plugins] enabled``, every plugin loads)."""
    from rum import App

    (tmp / "Rum.toml").write_text("[plugins]\nenabled = []\n")
    app = App(routes, root=tmp)
    return app


@scenario
async def plaintext(tmp: Path) -> Callable[[], Awaitable[Any]]:
    """The quick-start app (kernel only) answering ``Hello, World!`` as text/plain."""
    from rum import Controller, Request, Response

    class Plain(Controller):
        async def get(self, request: Request) -> Response:
            return Response.text("Hello, World!")

    return _one(_kernel_only(tmp, [Plain.route("/")]), "/")


@scenario
async def json(tmp: Path) -> Callable[[], Awaitable[Any]]:
    """``{"message": "Hello, World!"}`` through ``Response.json``."""
    from rum import Controller, Request, Response

    class Json(Controller):
        async def get(self, request: Request) -> Response:
            return Response.json({"message": "Hello, World!"})

    return _one(_kernel_only(tmp, [Json.route("/")]), "/")


@scenario
async def template(tmp: Path) -> Callable[[], Awaitable[Any]]:
    """A 10-row Rum template rendered by ``Controller.render`` (production cache)."""
    from rum import App, Controller, Request, Response

    (tmp / "templates").mkdir()
    (tmp / "templates" / "rows.html").write_text(
        "<ul><% for row in rows %><li><%= row.id %>: <%= row.message %></li><% end %></ul>\n")

    class Rows(Controller):
        async def get(self, request: Request) -> Response:
            return await self.render("rows.html", rows=ROWS)

    app = App([Rows.route("/")], plugins=["templates"], root=tmp, env="production")
    return _one(app, "/")


@scenario
async def query_build(tmp: Path) -> Callable[[], Awaitable[Any]]:
    """Building (not running) an ORM query: filter, order, limit, to SQL with parameters."""
    from rum_orm import Model

    class World(Model):
        id: int | None = None
        randomnumber: int = 0

    async def once() -> Any:
        scope = World.filter(randomnumber=5).filter_gt(id=10).order("-id").limit(20)
        return scope.to_sql(), scope.params
    return once


def _sessions_app(tmp: Path) -> Any:
    from rum import App, Controller, Request, Response

    class Page(Controller):
        async def get(self, request: Request) -> Response:
            return Response.html("<h1>Hey Rum!</h1>")

    class Cart(Controller):
        async def get(self, request: Request) -> Response:
            request.session["cart"] = [1]
            return Response.html("<h1>cart</h1>")

    return App([Page.route("/"), Cart.route("/cart")], plugins=["sessions"], root=tmp,
               config={"general": {"secret_key": SECRET}})


@scenario
async def sessions_new_visitor(tmp: Path) -> Callable[[], Awaitable[Any]]:
    """A trivial page with the sessions plugin, no cookie sent (a new visitor)."""
    return _one(_sessions_app(tmp), "/")


@scenario
async def sessions_returning(tmp: Path) -> Callable[[], Awaitable[Any]]:
    """A trivial page with the sessions plugin, a valid session cookie sent."""
    app = _sessions_app(tmp)
    first = await app.handle(_request("/cart"))
    cookie = first.headers["set-cookie"].split(";", 1)[0]
    return _one(app, "/", {"cookie": cookie})


@scenario
async def plaintext_http(tmp: Path) -> Callable[[], Awaitable[Any]]:
    """``Hello, World!`` through the real rum_http server over loopback, keep-alive."""
    import socket

    import trio

    from rum import App, Controller, Request, Response
    from rum_http import serve_app

    class Plain(Controller):
        async def get(self, request: Request) -> Response:
            return Response.text("Hello, World!")

    app = App([Plain.route("/")], plugins=["http"], root=tmp,  # under valgrind other
              config={"http": {"access_log": False,  # scenarios run between its requests
                               "keep_alive_timeout": 3600.0, "request_timeout": 3600.0}})
    base = await _STACK.enter_async_context(serve_app(app))
    port = int(str(base).rsplit(":", 1)[1].rstrip("/"))
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    stream.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    wire = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"

    async def once() -> Any:
        await stream.send_all(wire)
        data = b""
        while not data.endswith(b"Hello, World!"):
            data += await stream.receive_some(4096)
        return data
    return once


def _tfb(mode: str, path: str) -> Scenario:
    """A bench/tfb endpoint of the Rum app (``mode``: plain, pin or gather), in-process, on
    the ``rum_tfb`` database that ``bench/tfb/schema.py`` fills (``TFB_DATABASE_URL``)."""
    async def make(tmp: Path) -> Callable[[], Awaitable[Any]]:
        os.environ.setdefault("DATABASE_URL", os.environ.get(
            "TFB_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/rum_tfb"))
        sys.path.insert(0, str(HERE / "tfb"))
        import rum_app

        rum_app.MODE = mode
        app = rum_app.make_app()
        await _STACK.enter_async_context(app.running())

        async def once() -> Any:
            rum_app.MODE = mode
            response = await app.handle(_request(path))
            assert response.status == 200, (path, response.status, response.body[:300])
        return once
    return make


for _name, _mode, _path in [("tfb_db", "plain", "/db"),
                            ("tfb_queries20", "plain", "/queries?queries=20"),
                            ("tfb_queries20_pin", "pin", "/queries?queries=20"),
                            ("tfb_queries20_gather", "gather", "/queries?queries=20"),
                            ("tfb_fortunes", "plain", "/fortunes"),
                            ("tfb_updates20", "plain", "/updates?queries=20"),
                            ("tfb_updates20_gather", "gather", "/updates?queries=20")]:
    SCENARIOS[_name] = _tfb(_mode, _path)

ROWS = [{"id": i, "message": f"row <{i}> & co"} for i in range(10)]
_STACK: Any = None


# -- the measured child ----------------------------------------------------------------------------

async def _child(names: list[str], requests: int, warmup: int) -> None:
    from contextlib import AsyncExitStack

    global _STACK
    async with AsyncExitStack() as stack:
        _STACK = stack
        runners = []
        for name in names:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            once = await SCENARIOS[name](tmp)
            for _ in range(warmup):
                await once()
            runners.append(once)
        os.getppid()  # dump: start-up and warm-up
        for once in runners:
            for _ in range(requests):
                await once()
            os.getppid()  # dump: this scenario


def measure(names: list[str], requests: int = 300, warmup: int = 200) -> dict[str, float]:
    """Ir per request for each scenario in ``names`` (one callgrind run)."""
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {', '.join(unknown)}; known: "
                         f"{', '.join(SCENARIOS)}")
    with tempfile.TemporaryDirectory() as out:
        cmd = ["valgrind", "--tool=callgrind", "--dump-before=os_getppid",
               f"--callgrind-out-file={out}/cg.out", sys.executable, str(Path(__file__)),
               "--child", "--requests", str(requests), "--warmup", str(warmup), *names]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            raise SystemExit(f"callgrind run failed ({run.returncode}):\n{run.stderr[-3000:]}")
        parts = sorted(Path(out).glob("cg.out.*"), key=lambda p: int(p.suffix[1:]))
        totals = [int(re.search(r"^totals: (\d+)", p.read_text(), re.M).group(1))  # type: ignore[union-attr]
                  for p in parts]
    # part 1 is start-up and warm-up; parts 2.. are the scenarios in order
    if len(totals) != len(names) + 1:
        raise SystemExit(f"expected {len(names) + 1} callgrind parts, got {len(totals)}")
    return {name: total / requests for name, total in zip(names, totals[1:], strict=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", help=f"default: all ({', '.join(SCENARIOS)})")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    names = args.scenarios or list(SCENARIOS)
    if args.child:
        import trio

        sys.path.insert(0, str(HERE))
        trio.run(_child, names, args.requests, args.warmup)
        return
    for name, ir in measure(names, args.requests, args.warmup).items():
        print(f"{name:24} {ir:12,.0f} Ir/request")


if __name__ == "__main__":
    main()

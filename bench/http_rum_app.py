"""Rum's quick-start app (kernel + the http plugin only), served for ``bench/http_plaintext.py``.

    python bench/http_rum_app.py PORT

The same App the seed's quick-start builds: one controller answering ``<h1>Hey Rum!</h1>``,
served through the full path (httptools parser, Request, hooks, router, controller,
Response, server). The access log is off, as it is for the peers.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rum import App, Controller, Request, Response


class Index(Controller):
    async def handle(self, request: Request) -> Response:
        return Response.html("<h1>Hey Rum!</h1>")


def make_app() -> App:
    return App(routes=[Index.route("/")], plugins=["http"], root=Path(__file__).parent,
               config={"http": {"access_log": False}})


if __name__ == "__main__":
    make_app().run(port=int(sys.argv[1]))

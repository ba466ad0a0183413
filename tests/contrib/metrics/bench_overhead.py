"""Per-request cost of the metrics plugin, in-process (not a test; run it by hand).

    python tests/contrib/metrics/bench_overhead.py

Alternates rounds with and without the plugin and prints the medians, so load from other
processes affects both sides alike.
"""

from __future__ import annotations

import statistics
import tempfile
import time

import trio

from rum import App, Controller, Request, Response


class User(Controller):
    async def get(self, request: Request) -> Response:
        return Response.json({"id": request.path_params["id"]})


def make(plugins: list[str], root: str) -> App:
    return App([User.route("/users/<int:id>")], plugins=plugins, root=root,
               config={"plugins": {"enabled": []}})


async def per_request(app: App, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        await app.handle(Request("GET", f"/users/{i}"))
    return (time.perf_counter() - started) / n


async def main(rounds: int = 9, n: int = 5000) -> None:
    with tempfile.TemporaryDirectory() as root:
        plain, metered = make([], root), make(["metrics"], root)
        without, with_metrics = [], []
        for _ in range(rounds):
            without.append(await per_request(plain, n))
            with_metrics.append(await per_request(metered, n))
    a, b = statistics.median(without), statistics.median(with_metrics)
    print(f"median of {rounds} paired rounds x {n} requests: without {a * 1e6:.1f} us, "
          f"with metrics {b * 1e6:.1f} us, overhead {(b - a) * 1e6:.1f} us/request")


if __name__ == "__main__":
    trio.run(main)

"""The kernel's request tally: every answered request noted once, grouped by method, route
and status, and handed in batches to the ``rum_request_observer`` observers (``interval``
seconds after the last batch, at once for a 5xx, on ``flush()``, by the app's task when idle,
and before shutdown)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from rum import App, Controller, Request, Response, hookimpl
from rum.tally import FailedRequest, RequestBatch, RequestTally, histogram
from rum_http.testing import serve_app


class Hello(Controller):
    async def get(self, request: Request) -> Response:
        return Response.text("hello")


class Boom(Controller):
    async def handle(self, request: Request) -> Response:
        raise ZeroDivisionError("boom")


class Observer:
    """Keeps every batch it is handed; answers ``/early`` itself in ``rum_request``."""

    def __init__(self, name: str = "observer") -> None:
        self.name = name
        self.batches: list[RequestBatch] = []

    @hookimpl
    def rum_request_observer(self) -> Any:
        return self.batches.append

    @hookimpl
    def rum_request(self, request: Request) -> Response | None:
        return Response.text("early") if request.path == "/early" else None

    def counts(self) -> dict[tuple[str, str | None, int], int]:
        found: dict[tuple[str, str | None, int], int] = {}
        for batch in self.batches:
            for key, durations in batch.durations.items():
                found[key] = found.get(key, 0) + len(durations)
        return found

    def failures(self) -> list[FailedRequest]:
        return [failed for batch in self.batches for failed in batch.failures]


class SlowResponse:
    """A response hook that takes 50 ms: the tally times a request until every one ran."""

    name = "slow"

    @hookimpl
    async def rum_response(self, request: Request, response: Response) -> None:
        if request.path == "/hello/slow":
            await trio.sleep(0.05)


def make_app(tmp_path: Path, plugins: list[Any]) -> App:
    root = tmp_path / "project"
    root.mkdir(exist_ok=True)
    (root / "Rum.toml").write_text('[plugins]\nenabled = ["http"]\n\n[http]\naccess_log = false\n')
    return App(routes=[Hello.route("/hello/<name>"), Boom.route("/boom")], root=root,
               plugins=plugins)


async def test_requests_over_a_socket_are_counted_by_method_route_and_status(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RequestTally, "interval", 3600.0)  # batches only when flushed here
    observer = Observer()
    app = make_app(tmp_path, [observer, SlowResponse()])
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        for name in ("ada", "grace", "slow"):
            assert (await client.get(f"/hello/{name}")).status_code == 200
        assert (await client.post("/hello/ada")).status_code == 405
        assert (await client.get("/nowhere")).status_code == 404
        assert (await client.get("/early")).text == "early"
        assert observer.batches == []  # nothing handed over yet: no 5xx, no interval
        app.tally.flush()
        assert observer.counts() == {("GET", "/hello/<name>", 200): 3, ("POST", None, 405): 1,
                                     ("GET", None, 404): 1, ("GET", None, 200): 1}
        durations = observer.batches[0].durations[("GET", "/hello/<name>", 200)]
        assert max(durations) >= 0.05  # the slow response hook is inside the time
        app.tally.flush()  # nothing new: no empty batch
        assert len(observer.batches) == 1


async def test_a_failing_request_is_handed_over_at_once_with_the_request(
        tmp_path: Path) -> None:
    observer = Observer()
    app = make_app(tmp_path, [observer])
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/hello/ada")).status_code == 200
        boom = await client.get("/boom", headers={"x-request-id": "req-7"})
        assert boom.status_code == 500
        assert observer.counts() == {("GET", "/hello/<name>", 200): 1, ("GET", "/boom", 500): 1}
        [failed] = observer.failures()
        assert (failed.request.id, failed.request.path, failed.status) == ("req-7", "/boom", 500)
        assert failed.seconds > 0


async def test_an_idle_app_hands_over_within_the_interval(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RequestTally, "interval", 0.2)
    observer = Observer()
    app = make_app(tmp_path, [observer])
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        app.tally.flush()  # the next batch is due 0.2 s from now: after the request
        assert (await client.get("/hello/ada")).status_code == 200
        with trio.fail_after(5):
            while not observer.batches:  # no request and no flush: the app's task does it
                await trio.sleep(0.05)
    assert observer.counts() == {("GET", "/hello/<name>", 200): 1}


async def test_shutdown_hands_over_what_is_left_before_the_shutdown_hooks(
        tmp_path: Path) -> None:
    seen_at_shutdown: list[int] = []

    class Keeper(Observer):
        @hookimpl
        def rum_shutdown(self) -> None:
            seen_at_shutdown.append(sum(self.counts().values()))

    app = make_app(tmp_path, [Keeper()])
    async with app.test_client() as client:
        for _ in range(3):
            assert (await client.get("/hello/ada")).status == 200
    assert seen_at_shutdown == [3]


def fake_request(path: str = "/") -> Request:
    return Request("GET", path)


def test_a_request_noted_after_the_interval_hands_the_batch_over(monkeypatch) -> None:
    monkeypatch.setattr(RequestTally, "interval", 3600.0)
    tally, batches = RequestTally(), []
    tally.observers = [batches.append]
    for _ in range(3):
        tally.note(fake_request(), 200)
    assert batches == []
    tally._due = 0.0  # as if the interval had passed
    tally.note(fake_request(), 200)
    assert [len(b.durations[("GET", None, 200)]) for b in batches] == [4]
    tally.note(fake_request(), 200)
    assert len(batches) == 1  # the next batch is due an interval later


def test_a_failing_observer_is_logged_and_the_others_still_get_the_batch(caplog) -> None:
    def broken(batch: RequestBatch) -> None:
        raise RuntimeError("observer bug")

    tally, batches = RequestTally(), []
    tally.observers = [broken, batches.append]
    tally.note(fake_request(), 204)
    with caplog.at_level(logging.ERROR, logger="rum.tally"):
        tally.flush()
    assert len(batches) == 1 and "observer bug" in caplog.text
    assert "request observer" in caplog.text


async def test_an_observer_registered_later_gets_the_next_batches(tmp_path: Path) -> None:
    first = Observer()
    app = make_app(tmp_path, [first])
    async with app.test_client() as client:
        assert (await client.get("/hello/ada")).status == 200
        second = Observer("second")
        app.plugins.register(second, "second")  # what was noted goes to `first` only
        assert first.counts() == {("GET", "/hello/<name>", 200): 1} and second.batches == []
        assert (await client.get("/hello/ada")).status == 200
        app.tally.flush()
    assert second.counts() == {("GET", "/hello/<name>", 200): 1}
    assert first.counts() == {("GET", "/hello/<name>", 200): 2}


def test_an_app_without_observers_notes_nothing(tmp_path: Path) -> None:
    app = make_app(tmp_path, [])
    assert app.tally.observers == [] and app._note is None


def test_histogram_counts_sorted_durations_into_upper_bounded_buckets() -> None:
    bounds = (0.005, 0.01, 0.1)
    assert histogram([], bounds) == [0, 0, 0, 0]
    assert histogram([0.0, 0.005, 0.0050001, 0.01, 0.5, 7.0], bounds) == [2, 2, 0, 2]
    assert histogram([0.2, 0.3], bounds) == [0, 0, 0, 2]
    assert histogram([0.001], ()) == [1]


def test_a_batch_has_each_groups_durations_sorted() -> None:
    tally, batches = RequestTally(), []
    tally.observers = [batches.append]
    for started in (0.3, 0.1, 0.2):
        request = fake_request()
        request.started -= started
        tally.note(request, 200)
    tally.flush()
    [durations] = batches[0].durations.values()
    assert list(durations) == sorted(durations) and durations[-1] >= 0.3

"""The metrics plugin: /metrics over a real socket, parsed by prometheus-client's parser."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from rum import App, ConfigError, Controller, Request, Response, hookimpl
from rum.log import setup_logging
from rum.tally import RequestBatch
from rum_http.testing import serve_app


class UserController(Controller):
    async def get(self, request: Request) -> Response:
        return Response.json({"id": request.path_params["id"]})


class Boom(Controller):
    async def get(self, request: Request) -> Response:
        raise RuntimeError("boom")


def make_app(tmp_path: Path, **config: Any) -> App:
    return App([UserController.route("/users/<int:id>"), Boom.route("/boom")],
               plugins=["metrics"], root=tmp_path, config=config or None)


@asynccontextmanager
async def served(app: App) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        yield client


def families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def sample(fams: dict[str, Any], family: str, name: str, **labels: str) -> float:
    for s in fams[family].samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise AssertionError(f"no sample {name}{labels} in {fams[family].samples}")


async def test_metrics_endpoint_counts_requests_by_route_template(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with served(app) as client:
        for uid in (1, 2, 3):
            assert (await client.get(f"/users/{uid}")).status_code == 200
        assert (await client.get("/users/nope")).status_code == 404
        assert (await client.get("/boom")).status_code == 500
        assert (await client.post("/users/1")).status_code == 405
        r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    fams = families(r.text)

    assert fams["rum_http_requests"].type == "counter"
    total = "rum_http_requests_total"
    assert sample(fams, "rum_http_requests", total, method="GET", route="/users/<int:id>",
                  status="200") == 3
    assert sample(fams, "rum_http_requests", total, method="GET", route="<unmatched>",
                  status="404") == 1
    assert sample(fams, "rum_http_requests", total, method="GET", route="/boom",
                  status="500") == 1
    assert sample(fams, "rum_http_requests", total, method="POST", route="<unmatched>",
                  status="405") == 1
    # raw paths never become label values
    assert not any(s.labels.get("route") == "/users/1"
                   for s in fams["rum_http_requests"].samples)

    hist = fams["rum_http_request_duration_seconds"]
    assert hist.type == "histogram"
    labels = {"method": "GET", "route": "/users/<int:id>", "status": "200"}
    assert sample(fams, hist.name, hist.name + "_count", **labels) == 3
    assert sample(fams, hist.name, hist.name + "_bucket", le="+Inf", **labels) == 3
    assert 0 < sample(fams, hist.name, hist.name + "_sum", **labels) < 3
    buckets = [s.value for s in hist.samples if s.name.endswith("_bucket")
               and s.labels["route"] == "/users/<int:id>" and s.labels["status"] == "200"]
    assert buckets == sorted(buckets)  # cumulative


async def test_jobs_api_and_two_apps_do_not_share_numbers(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    app_a, app_b = make_app(tmp_path / "a"), make_app(tmp_path / "b")
    app_a.extensions["metrics"].observe_job("SendEmail", "succeeded", 0.02)
    app_a.extensions["metrics"].observe_job("SendEmail", "succeeded", 0.2)
    app_a.extensions["metrics"].observe_job("SendEmail", "failed", 1.5)
    async with app_a.test_client() as client:
        await client.get("/users/1")
    fams_a = families(app_a.extensions["metrics"].render())
    fams_b = families(app_b.extensions["metrics"].render())
    assert sample(fams_a, "rum_jobs", "rum_jobs_total", job="SendEmail",
                  status="succeeded") == 2
    assert sample(fams_a, "rum_jobs", "rum_jobs_total", job="SendEmail", status="failed") == 1
    assert sample(fams_a, "rum_job_duration_seconds", "rum_job_duration_seconds_bucket",
                  job="SendEmail", status="succeeded", le="0.025") == 1
    assert fams_b["rum_jobs"].samples == []
    assert fams_b["rum_http_requests"].samples == []


async def test_pool_stats_from_storage_and_custom_path(tmp_path: Path) -> None:
    class Storage:
        def pool_stats(self) -> dict[str, int]:
            return {"size": 4, "idle": 3, "in_use": 1, "max_size": 10}

    class StoragePlugin:
        name = "fake_storage"

        @hookimpl
        def rum_storage(self, app: App) -> Storage:
            return Storage()

    app = App([], plugins=["metrics", StoragePlugin()], root=tmp_path,
              config={"metrics": {"path": "/internal/metrics", "buckets": [0.1, 1]}})
    async with app.test_client() as client:
        r = await client.get("/internal/metrics")
    fams = families(r.text_body())
    assert sample(fams, "rum_db_pool_connections", "rum_db_pool_connections",
                  state="in_use") == 1
    assert sample(fams, "rum_db_pool_connections", "rum_db_pool_connections",
                  state="max_size") == 10

    no_storage = make_app(tmp_path)
    assert families(no_storage.extensions["metrics"].render())[
        "rum_db_pool_connections"].samples == []


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[metrics\] buckets must be a non-empty list"):
        make_app(tmp_path, metrics={"buckets": []})
    with pytest.raises(ConfigError, match=r"\[metrics\] path must start with '/'"):
        make_app(tmp_path, metrics={"path": "metrics"})


async def test_apps_register_their_own_prometheus_client_metrics(tmp_path: Path) -> None:
    from prometheus_client import Counter, Gauge

    app = make_app(tmp_path)
    registry = app.extensions["metrics"].registry
    orders = Counter("shop_orders_total", 'Orders "placed"\nper country.', ["country"],
                     registry=registry)
    depth = Gauge("shop_queue_depth", "Orders waiting.", registry=registry)
    orders.labels(country='N"L').inc(2)
    depth.set(-1.5)
    async with served(app) as client:
        fams = families((await client.get("/metrics")).text)
    assert sample(fams, "shop_orders", "shop_orders_total", country='N"L') == 2
    assert fams["shop_orders"].documentation == 'Orders "placed"\nper country.'
    assert sample(fams, "shop_queue_depth", "shop_queue_depth") == -1.5
    other = make_app(tmp_path)  # another app's registry is its own
    assert "shop_orders" not in families(other.extensions["metrics"].render())


async def test_json_log_lines(tmp_path: Path) -> None:
    """``[general] log_format = "json"``: the access log and errors as one JSON object a line."""
    app = make_app(tmp_path, general={"log_format": "json"}, http={"access_log": True})
    buf = io.StringIO()
    setup_logging(app.config.get("general", "log_level"), app.config.get("general", "log_format"),
                  stream=buf)
    try:
        async with served(app) as client:
            await client.get("/users/7", headers={"x-request-id": "req-42"})
            await client.get("/boom")
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "_rum", False)]:
            root.removeHandler(handler)
    lines = [json.loads(line) for line in buf.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "rum.access"]
    assert access[0]["message"].startswith('127.0.0.1 - "GET /users/7 HTTP/1.1" 200 ')
    assert access[0]["level"] == "info"
    assert access[0]["method"] == "GET"
    assert access[0]["path"] == "/users/7"
    assert access[0]["status"] == 200
    assert access[0]["duration_ms"] >= 0
    assert access[0]["request_id"] == "req-42"
    error = next(line for line in lines if line["logger"] == "rum.app")
    assert error["level"] == "error"
    assert "RuntimeError: boom" in error["exc"]
    assert error["request_id"] != "-"
    assert access[1]["status"] == 500


@pytest.mark.postgres
async def test_pool_stats_of_the_real_orm_pool(tmp_path: Path, database_url: str) -> None:
    app = App([UserController.route("/users/<int:id>")], plugins=["metrics", "orm"],
              root=tmp_path, config={"database": {"url": database_url, "pool_min": 2,
                                                  "pool_max": 5}})
    # hold one connection while scraping
    async with served(app) as client, app.storage.connection() as conn:
        assert await conn.fetchval("SELECT 1") == 1
        fams = families((await client.get("/metrics")).text)
    pool = {s.labels["state"]: s.value for s in fams["rum_db_pool_connections"].samples}
    assert pool["max_size"] == 5 and pool["min_size"] == 2
    assert pool["in_use"] >= 1
    assert pool["size"] == pool["idle"] + pool["in_use"] >= 2


@pytest.mark.postgres
async def test_job_metrics_from_the_jobs_plugin(tmp_path: Path, database_url: str) -> None:
    """The in-app worker reports runs through observe_job; the queue is counted at scrape."""
    import trio

    from rum_jobs import Job, ensure_schema, get_job
    from rum_orm import Database

    class Noop(Job):
        async def execute(self, args: Any) -> None:
            if args.get("fail"):
                raise RuntimeError("asked to fail")

    Noop.max_attempts = 1

    async with Database.open(database_url) as setup:
        await ensure_schema(setup)
    app = App([], plugins=["metrics", "orm", "jobs"], root=tmp_path,
              config={"database": {"url": database_url},
                      "jobs": {"run_worker_in_app": True, "poll_interval": 0.1}})
    app.jobs.register(Noop)
    async with app.test_client() as client:
        later = await Noop.enqueue({"n": 0}, run_in=3600)
        ids = [await Noop.enqueue({"n": 1}), await Noop.enqueue({"n": 2}),
               await Noop.enqueue({"fail": True})]
        with trio.fail_after(15):
            for job_id in ids:
                while (await get_job(app.storage, job_id)).status in ("scheduled", "running"):
                    await trio.sleep(0.05)
        assert (await get_job(app.storage, later)).status == "scheduled"
        fams = families((await client.get("/metrics")).text_body())
    assert sample(fams, "rum_jobs", "rum_jobs_total", job="Noop", status="complete") == 2
    assert sample(fams, "rum_jobs", "rum_jobs_total", job="Noop", status="failed") == 1
    assert sample(fams, "rum_job_duration_seconds", "rum_job_duration_seconds_count",
                  job="Noop", status="complete") == 2
    states = {s.labels["status"]: s.value for s in fams["rum_jobs_by_status"].samples}
    assert states == {"scheduled": 1, "complete": 2, "failed": 1}


def test_recorded_series_match_prometheus_clients_own_observe(tmp_path: Path) -> None:
    """observe_batch and observe_request write the values directly (no per-call checks, a
    bisect per bucket over sorted durations, a batch's increments added up first): the
    samples must be what Counter.inc/Histogram.observe give one request at a time, bucket
    bounds included (sums to 1e-9, being added in another order), for other methods and
    unmatched routes too."""
    from prometheus_client import CollectorRegistry, Counter, Histogram

    metrics = make_app(tmp_path).extensions["metrics"]
    registry = CollectorRegistry()
    buckets = list(metrics.latency._upper_bounds[:-1])
    counter = Counter("rum_http_requests_total", "x", ("method", "route", "status"),
                      registry=registry)
    histogram = Histogram("rum_http_request_duration_seconds", "x",
                          ("method", "route", "status"), buckets=buckets, registry=registry)
    seconds = [0.0, 0.004, 0.005, 0.0050001, 0.1, 2.5, 9.99, 10.0, 10.5, 1e6]
    calls = [("GET", "/users/<int:id>", 200), ("BREW", None, 404), ("POST", "/boom", 500)]
    for n, (method, route, status) in enumerate(calls):
        if n < 2:  # as the kernel's request tally hands them over, twice: sums accumulate
            metrics.observe_batch(RequestBatch({(method, route, status): seconds[:4]}, []))
            metrics.observe_batch(RequestBatch({(method, route, status): seconds[4:]}, []))
            assert seconds == sorted(seconds)  # as the tally hands them over
        for s in seconds:
            if n == 2:
                metrics.observe_request(method, route, status, s)
            labels = ("OTHER" if method == "BREW" else method, route or "<unmatched>",
                      str(status))
            counter.labels(*labels).inc()
            histogram.labels(*labels).observe(s)

    def samples(reg: Any) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
        return {(s.name, tuple(sorted(s.labels.items())), round(s.value, 9))
                for fam in reg.collect() if fam.name.startswith("rum_http_")
                for s in fam.samples if not s.name.endswith("_created")}

    assert samples(metrics.registry) == samples(registry)
    assert ("rum_http_request_duration_seconds_bucket",
            (("le", "0.005"), ("method", "GET"), ("route", "/users/<int:id>"),
             ("status", "200")), 3.0) in samples(registry)

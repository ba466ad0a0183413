"""The sample's JSON API (REST plugin), its OpenAPI document, /metrics, and pick-and-mix:
the same app with the metrics plugin switched off."""

from __future__ import annotations

import html
import re

import httpx
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families
from sample_support import API_TOKEN, csrf_from, login, receive_until

from rum_http.testing import serve_app
from rum_websockets.testing import ws_connect

pytestmark = pytest.mark.postgres
BEARER = {"authorization": f"Bearer {API_TOKEN}"}


async def test_rest_list_create_and_errors(make_app) -> None:
    async with serve_app(make_app()) as url, httpx.AsyncClient(base_url=url) as client:
        r = await client.get("/api/orders")
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Bearer")
        r = await client.get("/api/orders", headers={**BEARER, "authorization": "Bearer x"})
        assert r.status_code == 401

        r = await client.get("/api/orders?order=id", headers=BEARER)
        assert r.status_code == 200
        page = r.json()
        assert page["total"] == 3
        assert [o["customer"] for o in page["items"]] == [
            "Ada Lovelace", "Grace Hopper", "Alan Turing"]
        assert page["items"][0]["total"] == "149.70"  # decimals stay exact

        r = await client.post("/api/orders", headers=BEARER, json={
            "user_id": 1, "customer": "API Client", "item": "Widget", "total": "5.00"})
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["status"] == "new" and created["quantity"] == 1
        assert r.headers["location"] == f"/api/orders/{created['id']}"

        r = await client.get("/api/orders?customer=API Client", headers=BEARER)
        assert r.json()["total"] == 1

        r = await client.post("/api/orders", headers=BEARER, json={
            "user_id": 1, "customer": "X", "item": "Y", "total": "lots", "colour": "red"})
        assert r.status_code in (400, 422)
        assert {"total", "colour"} <= set(r.json()["errors"])

        r = await client.patch(f"/api/orders/{created['id']}", headers=BEARER,
                               json={"status": "teleported"})
        assert r.status_code == 422  # the CHECK constraint, reported as a client error

        r = await client.get("/api/orders/999999", headers=BEARER)
        assert r.status_code == 404


async def test_api_changes_reach_open_pages_and_send_receipts(make_app, database_url):
    async with serve_app(make_app()) as url, httpx.AsyncClient(base_url=url) as client:
        await login(client)
        page = (await client.get("/orders")).text
        src = html.unescape(re.search(r'<turbo-stream-source src="([^"]+)"', page).group(1))
        async with ws_connect(url, src.split(url.removeprefix("http://"), 1)[1]) as ws:
            await trio.sleep(0.2)
            r = await client.post("/api/orders", headers=BEARER, json={
                "user_id": 1, "customer": "From the API", "item": "Kettle", "total": 30})
            assert r.status_code == 201
            order_id = r.json()["id"]
            message = await receive_until(ws, '<turbo-stream action="prepend"')
            assert "From the API" in message and f'id="order_{order_id}"' in message
            message = await receive_until(ws, f'target="order_{order_id}"')  # receipt sent
            assert ">sent<" in message

            r = await client.delete(f"/api/orders/{order_id}", headers=BEARER)
            assert r.status_code == 204
            message = await receive_until(ws, '<turbo-stream action="remove"')
            assert f'target="order_{order_id}"' in message


async def test_rest_accepts_a_logged_in_session(make_app) -> None:
    async with serve_app(make_app()) as url, httpx.AsyncClient(base_url=url) as client:
        await login(client)
        r = await client.get("/api/orders", headers={"accept": "application/json"})
        assert r.status_code == 200 and r.json()["total"] == 3
        token = csrf_from((await client.get("/orders")).text)
        r = await client.post("/api/orders", headers={"x-csrf-token": token}, json={
            "user_id": 1, "customer": "Session", "item": "Tea", "total": 2})
        assert r.status_code == 201, r.text


async def test_openapi_document_validates(make_app) -> None:
    from openapi_spec_validator import validate

    async with serve_app(make_app()) as url, httpx.AsyncClient(base_url=url) as client:
        r = await client.get("/api/openapi.json")
    assert r.status_code == 200
    document = r.json()
    validate(document)
    assert document["info"]["title"] == "Rum order tracker API"
    assert "/api/orders" in document["paths"]


async def test_metrics_count_requests_jobs_and_pool(make_app) -> None:
    async with serve_app(make_app()) as url, httpx.AsyncClient(base_url=url) as client:
        await login(client)
        await client.get("/orders")
        with trio.fail_after(10):  # the seeded orders' receipt jobs run at start-up
            while 'rum_jobs_total{job="SendReceipt",status="complete"} 3' not in (
                    r := await client.get("/metrics")).text:
                await trio.sleep(0.1)
    assert r.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    assert any(s.labels == {"job": "SendReceipt", "status": "complete"}
               for s in families["rum_job_duration_seconds"].samples)
    requests = families["rum_http_requests"].samples
    assert any(s.labels == {"method": "GET", "route": "/orders", "status": "200"}
               and s.value == 1 for s in requests if s.name == "rum_http_requests_total")
    assert any(s.labels.get("route") == "/login" and s.labels.get("status") == "303"
               for s in requests)
    assert "rum_db_pool_connections" in families


async def test_metrics_switched_off_the_rest_still_works(make_app) -> None:
    app = make_app(plugins={"metrics": {"enabled": False}})
    assert app.plugins.pm.get_plugin("metrics") is None
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/metrics")).status_code == 404
        r = await login(client)
        assert r.status_code == 303
        assert (await client.get("/orders")).status_code == 200
        assert (await client.get("/api/orders", headers=BEARER)).json()["total"] == 3

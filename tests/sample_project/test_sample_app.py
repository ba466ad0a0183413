"""The order tracker over a real socket on a real PostgreSQL: start-up (migrate + seed),
login, orders answered with Turbo Streams and broadcast over WebSockets, jobs, assets."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest
import trio
from sample_support import DEMO_EMAIL, SAMPLE, csrf_from, login, receive_until

from rum_http.testing import serve_app
from rum_orm import Database
from rum_websockets.testing import ws_connect

pytestmark = pytest.mark.postgres
TURBO = "text/vnd.turbo-stream.html"


async def test_quick_start_page_is_kept(make_app) -> None:
    async with serve_app(make_app()) as url, httpx.AsyncClient(base_url=url) as client:
        r = await client.get("/")
    assert r.status_code == 200 and r.text == "<h1>Hey Rum!</h1>"


async def test_start_up_migrates_and_seeds_once(make_app, database_url) -> None:
    async with serve_app(make_app()):
        pass
    async with serve_app(make_app()):  # a second start changes nothing
        pass
    async with Database.open(database_url) as db:
        versions = [r["version"] for r in await db.fetch(
            "SELECT version FROM rum_migrations ORDER BY version")]
        users = await db.fetch("SELECT email, password_hash FROM users")
        orders = await db.fetchval("SELECT count(*) FROM orders")
        jobs_table = await db.fetchval("SELECT to_regclass('rum_jobs') IS NOT NULL")
    import rum_accounts
    import rum_jobs

    shipped = [Path(rum_jobs.__file__).parent / "migrations",
               Path(rum_accounts.__file__).parent / "migrations", SAMPLE / "migrations"]
    expected = sorted({p.name.partition("_")[0] for d in shipped for p in d.glob("*.up.sql")})
    assert versions == expected  # the plugins' and the app's, each applied once
    assert [u["email"] for u in users] == [DEMO_EMAIL]
    assert users[0]["password_hash"].startswith("$argon2id$")  # the accounts plugin
    assert "rum-demo" not in users[0]["password_hash"]
    assert orders == 3
    assert jobs_table


async def test_login_flow_with_csrf_and_logout(make_app) -> None:
    async with serve_app(make_app()) as url, httpx.AsyncClient(base_url=url) as client:
        r = await client.get("/orders")
        assert r.status_code == 302 and r.headers["location"] == "/login"

        page = await client.get("/login")
        token = csrf_from(page.text)
        r = await client.post("/login", data={"email": DEMO_EMAIL, "password": "nope",
                                              "csrf_token": token})
        assert r.status_code == 422 and "Wrong e-mail or password." in r.text
        r = await client.post("/login", data={"email": DEMO_EMAIL, "password": "rum-demo"})
        assert r.status_code == 403  # no CSRF token

        r = await login(client)
        assert r.status_code == 303 and r.headers["location"] == "/orders"
        r = await client.get("/orders")
        assert r.status_code == 200
        assert 'id="current-user">Demo User<' in r.text
        for customer in ("Ada Lovelace", "Grace Hopper", "Alan Turing"):
            assert customer in r.text
        assert '<span class="count" id="order-count">3</span>' in r.text
        assert "<turbo-stream-source" in r.text

        r = await client.post("/logout", data={"csrf_token": csrf_from(r.text)})
        assert r.status_code == 303
        r = await client.get("/orders")
        assert r.status_code == 302


async def test_login_attempts_are_rate_limited(make_app) -> None:
    app = make_app(accounts={"max_failures_per_client": 2})
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        statuses = []
        for _ in range(3):
            page = await client.get("/login")  # showing the form is never limited
            assert page.status_code == 200
            r = await client.post("/login", data={"email": DEMO_EMAIL, "password": "x",
                                                  "csrf_token": csrf_from(page.text)})
            statuses.append(r.status_code)
    assert statuses == [422, 422, 429]
    assert int(r.headers["retry-after"]) >= 1


async def test_create_order_streams_the_row_enqueues_and_sends_the_receipt(
        make_app, database_url) -> None:
    async with serve_app(make_app()) as url, httpx.AsyncClient(base_url=url) as client:
        await login(client)
        page = await client.get("/orders")
        token = csrf_from(page.text)
        r = await client.post("/orders", headers={"accept": f"{TURBO}, text/html"}, data={
            "customer": "Katherine <Johnson>", "item": "Slide rule", "quantity": "2",
            "total": "19.9", "csrf_token": token})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith(TURBO)
        assert '<turbo-stream action="prepend" target="orders">' in r.text
        assert "Katherine &lt;Johnson&gt;" in r.text and "<Johnson>" not in r.text
        assert '<turbo-stream action="update" target="order-count"><template>4</template>' \
            in r.text
        assert '<turbo-stream action="replace" target="order-form">' in r.text
        order_id = int(re.search(r'id="order_(\d+)"', r.text).group(1))

        # The in-app worker runs the receipt job: the outbox gets the e-mail.
        async with Database.open(database_url) as db:
            order = await db.fetchrow("SELECT * FROM orders WHERE id = $1", order_id)
            assert (order["quantity"], str(order["total"])) == (2, "19.90")
            with trio.fail_after(10):
                while (mail := await db.fetchrow(
                        "SELECT * FROM outbox WHERE order_id = $1", order_id)) is None:
                    await trio.sleep(0.1)
            job = await db.fetchrow("SELECT job, status, args FROM rum_jobs "
                                    "WHERE job = 'SendReceipt'")
        assert mail["kind"] == "receipt" and mail["recipient"] == DEMO_EMAIL
        assert f"order #{order_id}" in mail["body"] and "2 x Slide rule" in mail["body"]
        assert job["job"] == "SendReceipt"

        r = await client.get("/outbox")
        assert '<turbo-frame id="outbox">' in r.text
        assert f"Receipt for order #{order_id}" in r.text


async def test_invalid_order_answers_422_with_the_form_and_errors(make_app, database_url):
    async with serve_app(make_app()) as url, httpx.AsyncClient(base_url=url) as client:
        await login(client)
        token = csrf_from((await client.get("/orders")).text)
        r = await client.post("/orders", headers={"accept": TURBO}, data={
            "customer": "", "item": "Tea", "quantity": "0", "total": "abc",
            "csrf_token": token})
    assert r.status_code == 422
    assert '<turbo-stream action="replace" target="order-form">' in r.text
    assert "Customer can&#39;t be blank" in r.text
    assert "Quantity must be at least 1" in r.text
    assert "Total must be a number" in r.text
    assert 'id="item"' in r.text and 'value="Tea"' in r.text  # what was typed is kept
    assert r.text.count('aria-invalid="true"') == 3
    async with Database.open(database_url) as db:
        assert await db.fetchval("SELECT count(*) FROM orders") == 3


async def test_new_orders_and_shipping_are_broadcast_to_open_pages(make_app) -> None:
    async with serve_app(make_app()) as url, httpx.AsyncClient(base_url=url) as alice:
        await login(alice)
        page = (await alice.get("/orders")).text
        src = html.unescape(re.search(r'<turbo-stream-source src="([^"]+)"', page).group(1))
        path = src.split(url.removeprefix("http://"), 1)[1]
        async with ws_connect(url, path) as bob:
            await trio.sleep(0.2)  # let the subscription settle
            r = await alice.post("/orders", headers={"accept": TURBO}, data={
                "customer": "Live Customer", "item": "Tea", "quantity": "1",
                "total": "3.50", "csrf_token": csrf_from(page)})
            assert r.status_code == 200
            message = await receive_until(bob, '<turbo-stream action="prepend"')
            assert "Live Customer" in message
            order_id = int(re.search(r'id="order_(\d+)"', message).group(1))

            r = await alice.post(f"/orders/{order_id}/ship", headers={
                "accept": TURBO, "x-csrf-token": csrf_from(page)})
            assert r.status_code == 200 and "shipped" in r.text
            message = await receive_until(bob, ">shipped<")
            assert f'<turbo-stream action="replace" target="order_{order_id}">' in message


async def test_stream_names_are_signed(make_app) -> None:
    from rum_websockets.testing import Rejected

    async with serve_app(make_app()) as url:
        with pytest.raises(Rejected) as caught:
            async with ws_connect(url, "/_rum/turbo-streams?channel=orders--forged"):
                pass
    assert caught.value.status == 403


async def test_summary_cron_job_writes_to_the_outbox(make_app, database_url) -> None:
    app = make_app(tracker={"summary_cron": "* * * * * *"})  # every second
    async with serve_app(app), Database.open(database_url) as db:
        with trio.fail_after(10):
            while not await db.fetchval("SELECT count(*) FROM outbox WHERE kind = 'summary'"):
                await trio.sleep(0.2)
        body = await db.fetchval("SELECT body FROM outbox WHERE kind = 'summary' LIMIT 1")
    assert body.startswith("3 orders in the last 24 hours, worth 213.70")


async def test_fingerprinted_stylesheet_is_cached_forever(make_app) -> None:
    async with serve_app(make_app()) as url, httpx.AsyncClient(base_url=url) as client:
        page = (await client.get("/login")).text
        href = re.search(r'<link rel="stylesheet" href="(/assets/app\.[0-9a-f]{12}\.css)"',
                         page).group(1)
        r = await client.get(href)
        plain = await client.get("/static/app.css")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
    assert "immutable" in r.headers["cache-control"]
    assert plain.status_code == 200 and plain.content == r.content
    assert "immutable" not in plain.headers["cache-control"]

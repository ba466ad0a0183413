"""The order tracker's admin, morph refreshes and presence over a real socket on a real
PostgreSQL: the demo user (``[admin] user_ids``) edits an order through /admin (a validation
error first), every open orders page is asked to refresh once the edit commits, the jobs
dashboard answers, other users are refused, and the orders page says who is looking at it."""

from __future__ import annotations

import html
import re

import httpx
import pytest
import trio
from sample_support import csrf_from, login, receive_until

from rum_http.testing import serve_app
from rum_orm import Database
from rum_turbo import presence_for
from rum_websockets.testing import ws_connect

pytestmark = pytest.mark.postgres


def form_values(page: str) -> dict[str, str]:
    """The name and value of every input of the page's form (text areas and selects too)."""
    values = {}
    for tag in re.findall(r"<input\b[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="submit"' not in tag:
            values[html.unescape(name.group(1))] = html.unescape(value.group(1)) if value else ""
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page,
                                 re.S):
        values[name] = html.unescape(text)
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option[^>]*value="([^"]*)"[^>]*selected', body)
        values[name] = html.unescape(chosen.group(1)) if chosen else ""
    return values


def stream_path(page: str, url: str) -> str:
    src = html.unescape(re.search(r'<turbo-stream-source src="([^"]+)"', page).group(1))
    return src.split(url.removeprefix("http://"), 1)[1]


async def test_admin_edit_refreshes_open_orders_pages_and_presence(make_app,
                                                                    database_url) -> None:
    app = make_app()
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as admin:
        await login(admin)
        page = (await admin.get("/orders")).text
        assert '<meta name="turbo-refresh-method" content="morph">' in page
        assert '<ul id="presence_orders" data-turbo-permanent class="presence"></ul>' in page
        cookie = "; ".join(f"{k}={v}" for k, v in admin.cookies.items())
        async with ws_connect(url, stream_path(page, url),
                              headers={"cookie": cookie, "origin": url}) as watcher:
            with trio.fail_after(10):
                while not (here := await presence_for(app).list("orders")):
                    await trio.sleep(0.05)
            assert [e.meta["name"] for e in here] == ["Demo User"]

            index = await admin.get("/admin")
            assert index.status_code == 200
            assert 'href="/admin/orders"' in index.text and 'href="/admin/users"' in index.text
            edit = await admin.get("/admin/orders/1/edit")
            assert edit.status_code == 200, edit.text
            fields = form_values(edit.text)  # what a browser posts: the form as filled in
            assert fields["customer"] == "Ada Lovelace" and fields["csrf_token"]
            fields["quantity"] = "0"
            refused = await admin.post("/admin/orders/1/edit", data=fields)
            assert refused.status_code == 422
            assert "Quantity must be at least 1" in refused.text
            saved = await admin.post("/admin/orders/1/edit", data={**fields, "quantity": "7"})
            assert saved.status_code == 303, saved.text
            message = await receive_until(watcher, '<turbo-stream action="refresh"')
            assert "refresh" in message
        async with Database.open(database_url) as db:
            assert await db.fetchval("SELECT quantity FROM orders WHERE id = 1") == 7

        jobs = await admin.get("/admin/dashboards/jobs")
        assert jobs.status_code == 200 and "<h2>Cron</h2>" in jobs.text


async def test_only_the_configured_users_get_into_the_admin(make_app) -> None:
    async with serve_app(make_app()) as url, httpx.AsyncClient(base_url=url) as visitor:
        assert (await visitor.get("/admin")).status_code in (302, 303)
        token = csrf_from((await visitor.get("/signup")).text)
        signed_up = await visitor.post("/signup", data={
            "name": "Grace", "email": "grace@example.com", "password": "navy compiler",
            "password_confirmation": "navy compiler", "csrf_token": token})
        assert signed_up.status_code == 303
        assert (await visitor.get("/admin")).status_code == 403
        assert (await visitor.get("/admin/dashboards/jobs")).status_code == 403

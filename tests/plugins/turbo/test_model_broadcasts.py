"""Model broadcasts committed with the data, debounced refreshes: two apps (two nodes) on one
PostgreSQL database, real sockets, WebSocket clients."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio
from markupsafe import Markup

from rum import App, Controller, Request, Response
from rum_http.testing import serve_app
from rum_orm import Model, on_change, remove_change_listener, transaction
from rum_turbo import (
    Broadcasts,
    broadcasts_refreshes,
    broadcasts_to,
    dom_id,
    presence_for,
    sign_stream_name,
    turbo_refresh_tags,
)
from rum_websockets import pubsub_for

pytestmark = pytest.mark.postgres
SECRET = "0f" * 32


class BcOrder(Model):
    __table__ = "bc_orders"
    broadcasts = broadcasts_to("orders", partial=lambda o: Markup(
        '<li id="{}">{}</li>').format(dom_id(o), o.item))
    id: int | None = None
    item: str = ""


class BcNote(Model):
    __table__ = "bc_notes"
    broadcasts = broadcasts_refreshes("notes")
    id: int | None = None
    text: str = ""


class Abort(Exception):
    pass


class Orders(Controller):
    async def post(self, request: Request) -> Response:
        form = await request.form()
        try:
            async with transaction():
                order = await BcOrder.create(item=form["item"])
                if form.get("fail"):
                    raise Abort
        except Abort:
            return Response.text("rolled back", 409)
        return Response.text(str(order.id), 201)


class Order(Controller):
    async def patch(self, request: Request) -> Response:
        order = await BcOrder.find(request.path_params["id"]).fetch()
        await order.update(item=(await request.form())["item"])  # no transaction
        return Response.text("ok")

    async def delete(self, request: Request) -> Response:
        async with transaction():
            await (await BcOrder.find(request.path_params["id"]).fetch()).delete()
        return Response.text("ok")


class Notes(Controller):
    async def post(self, request: Request) -> Response:
        for i in range(int(request.query.get("n", "1"))):
            async with transaction():
                await BcNote.create(text=f"note {i}")
        return Response.text("ok")


ROUTES = [Orders.route("/orders"), Order.route("/orders/<int:id>"), Notes.route("/notes")]


def make_app(rum_app_factory: Any, database_url: str, **turbo: Any) -> App:
    return rum_app_factory(ROUTES, plugins=["http", "orm", "websockets", "turbo"], config={
        "general": {"secret_key": SECRET},
        "database": {"url": database_url, "pool_max": 3},
        "turbo": turbo})


@asynccontextmanager
async def two_nodes(rum_app_factory: Any, database_url: str, **turbo: Any):
    a = make_app(rum_app_factory, database_url, **turbo)
    b = make_app(rum_app_factory, database_url, **turbo)
    async with serve_app(a) as url_a, serve_app(b) as url_b:
        yield (a, url_a), (b, url_b)


def stream_path(app: App, name: str, presence: bool = False) -> str:
    from urllib.parse import quote

    signed = quote(sign_stream_name(app, name), safe="")
    return f"/_rum/turbo-streams?channel={signed}" + ("&presence=1" if presence else "")


async def subscribed(app: App, channel: str, count: int = 1) -> None:
    with trio.fail_after(5):
        while pubsub_for(app).subscriber_count(channel) < count:
            await trio.sleep(0.01)


async def nothing_more(ws: Any, seconds: float) -> None:
    with trio.move_on_after(seconds):
        extra = await ws.receive(timeout=seconds + 1)
        raise AssertionError(f"unexpected message {extra!r}")


@pytest.fixture
async def tables(db):
    await db.execute("CREATE TABLE bc_orders (id serial PRIMARY KEY, item text NOT NULL)")
    await db.execute("CREATE TABLE bc_notes (id serial PRIMARY KEY, text text NOT NULL)")


async def test_committed_writes_reach_another_node_rolled_back_ones_never(
        rum_app_factory, database_url, tables, ws_connect):
    async with two_nodes(rum_app_factory, database_url) as ((_a, url_a), (b, url_b)), \
            ws_connect(url_b, stream_path(b, "orders")) as page, \
            httpx.AsyncClient(base_url=url_a) as client:
        await subscribed(b, "turbo-streams:orders")
        rolled_back = await client.post("/orders", data={"item": "ghost", "fail": "1"})
        assert rolled_back.status_code == 409
        created = await client.post("/orders", data={"item": "tea <b>"})
        assert created.status_code == 201
        oid = int(created.text)
        # the rolled-back create came first: had it been sent, it would arrive first
        assert await page.receive() == (
            f'<turbo-stream action="append" target="bc_orders"><template>'
            f'<li id="bc_order_{oid}">tea &lt;b&gt;</li></template></turbo-stream>')
        assert (await client.patch(f"/orders/{oid}", data={"item": "coffee"})).status_code == 200
        assert await page.receive() == (
            f'<turbo-stream action="replace" target="bc_order_{oid}"><template>'
            f'<li id="bc_order_{oid}">coffee</li></template></turbo-stream>')
        assert (await client.delete(f"/orders/{oid}")).status_code == 200
        assert await page.receive() == \
            f'<turbo-stream action="remove" target="bc_order_{oid}"></turbo-stream>'
        await nothing_more(page, 0.5)


async def test_a_burst_of_saves_sends_one_refresh_with_the_request_id(
        rum_app_factory, database_url, tables, ws_connect):
    async with two_nodes(rum_app_factory, database_url, refresh_debounce=0.4) as (
            (_a, url_a), (b, url_b)), \
            ws_connect(url_b, stream_path(b, "notes")) as page, \
            httpx.AsyncClient(base_url=url_a) as client:
        await subscribed(b, "turbo-refresh:notes")
        r = await client.post("/notes?n=6", headers={"X-Turbo-Request-Id": "req-1"})
        assert r.status_code == 200
        assert await page.receive() == \
            '<turbo-stream action="refresh" request-id="req-1"></turbo-stream>'
        await nothing_more(page, 0.8)
        # two requests in one window: the refresh names neither, so both pages refresh
        async with trio.open_nursery() as nursery:
            for rid in ("req-2", "req-3"):
                nursery.start_soon(lambda rid=rid: client.post(
                    "/notes?n=2", headers={"X-Turbo-Request-Id": rid}))
        assert await page.receive() == '<turbo-stream action="refresh"></turbo-stream>'
        await nothing_more(page, 0.8)


async def test_change_listeners_see_each_write_on_its_connection(database_url, tables, db):
    seen: list[tuple[str, str, bool]] = []

    async def listener(change):
        seen.append((type(change.record).__name__, change.action, change.in_transaction))

    on_change(listener)
    on_change(listener)  # registered once
    try:
        async with transaction(db):
            note = await BcNote(text="a").save()
            await note.update(text="b")
        await note.delete(db)
        assert await note.delete(db) is False  # nothing deleted: not reported
    finally:
        remove_change_listener(listener)
    assert seen == [("BcNote", "create", True), ("BcNote", "update", True),
                    ("BcNote", "delete", False)]


def test_broadcasts_options_are_checked_and_refresh_tags():
    with pytest.raises(ValueError, match="create='replace'"):
        Broadcasts("orders", create="replace")
    assert turbo_refresh_tags() == ('<meta name="turbo-refresh-method" content="morph">\n'
                                    '<meta name="turbo-refresh-scroll" content="preserve">')
    with pytest.raises(ValueError):
        turbo_refresh_tags("fade")
    assert dom_id(BcOrder(item="x")) == "new_bc_order"
    assert dom_id(BcOrder(id=3, item="x"), "edit") == "edit_bc_order_3"



class TplOrder(Model):
    __table__ = "bc_orders"
    broadcasts = broadcasts_to("orders", create="prepend")
    id: int | None = None
    item: str = ""


async def test_templates_render_the_partial_page_helpers_and_a_guest_is_present(
        rum_app_factory, database_url, tables, tmp_path, ws_connect):
    (tmp_path / "templates" / "bc_orders").mkdir(parents=True)
    (tmp_path / "templates" / "bc_orders" / "_tpl_order.html").write_text(
        '<li id="<%= dom_id(tpl_order) %>"><%= record.item %></li>')
    (tmp_path / "templates" / "page.html").write_text(
        "<%= turbo_refresh_tags() %>\n"
        '<%= turbo_stream_from("orders", presence: true) %>\n'
        '<%= presence_list("orders", class: "who") %>\n')

    class Page(Controller):
        async def get(self, request):
            return await self.render("page.html")

    app = rum_app_factory([Page.route("/")], plugins=[
        "http", "orm", "websockets", "turbo", "templates"], config={
        "general": {"secret_key": SECRET}, "database": {"url": database_url, "pool_max": 3}})
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        page = (await client.get("/")).text
        assert '<meta name="turbo-refresh-method" content="morph">' in page
        assert '<ul id="presence_orders" data-turbo-permanent class="who"></ul>' in page
        src = page.split('src="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        assert src.endswith("&presence=1")
        async with ws_connect(url, src.split(url.removeprefix("http://"), 1)[1]) as ws:
            joined = await ws.receive()
            [entry] = await presence_for(app).list("orders")
            assert entry.meta == {"name": "guest"}  # no signed-in user
            assert joined == (
                '<turbo-stream action="update" target="presence_orders"><template>'
                f'<li data-presence-id="{entry.id}">guest</li></template></turbo-stream>')
            order = await TplOrder.create(item="<tea>")  # no transaction: sent right after
            assert await ws.receive() == (
                '<turbo-stream action="prepend" target="bc_orders"><template>'
                f'<li id="tpl_order_{order.id}">&lt;tea&gt;</li></template></turbo-stream>')


async def test_a_rolled_back_savepoint_sends_nothing_its_committed_parent_does(
        rum_app_factory, database_url, tables):
    from rum_websockets import subscribe

    app = make_app(rum_app_factory, database_url)
    async with app.running(), subscribe("turbo-streams:orders", app=app) as messages:
        async with transaction():
            kept = await BcOrder.create(item="kept")
            try:
                async with transaction():  # a savepoint
                    await BcOrder.create(item="undone")
                    raise Abort
            except Abort:
                pass
            with trio.move_on_after(0.3):
                early = await messages.receive()
                raise AssertionError(f"sent before COMMIT: {early!r}")
        with trio.fail_after(5):
            assert f'id="bc_order_{kept.id}">kept<' in await messages.receive()
        with trio.move_on_after(0.5):
            extra = await messages.receive()
            raise AssertionError(f"the rolled-back savepoint's create was sent: {extra!r}")


class BigOrder(Model):
    __table__ = "bc_orders"
    broadcasts = broadcasts_to("orders", partial=lambda o: Markup(
        '<li id="{}">{}</li>').format(dom_id(o), o.item * 2000))
    id: int | None = None
    item: str = ""


async def test_a_partial_over_the_notify_limit_follows_the_transaction_too(
        rum_app_factory, database_url, tables, db):
    from rum_websockets import subscribe

    app = make_app(rum_app_factory, database_url)
    async with app.running(), subscribe("turbo-streams:orders", app=app) as messages:
        try:
            async with transaction():  # the first big payload also creates rum_broadcasts...
                await BigOrder.create(item="ghost")
                raise Abort
        except Abort:
            pass  # ...and the rollback undoes that too
        async with transaction():
            order = await BigOrder.create(item="large")
        with trio.fail_after(5):
            message = await messages.receive()
        assert message.startswith('<turbo-stream action="append" target="bc_orders">')
        assert f'<li id="big_order_{order.id}">{"large" * 2000}</li>' in message
        with trio.move_on_after(0.5):
            extra = await messages.receive()
            raise AssertionError(f"unexpected message {extra[:80]!r}")
    assert await db.fetchval("SELECT count(*) FROM rum_broadcasts") == 1  # the committed one


def test_stream_names_per_record_and_settings_are_checked(rum_app_factory):
    from rum import ConfigError

    per_user = Broadcasts(stream=lambda o: f"user:{o.id}:orders")
    assert per_user.stream_for(BcOrder(id=7, item="x")) == "user:7:orders"
    assert Broadcasts().stream_for(BcOrder(item="x")) == "bc_orders"  # the table by default
    for turbo, message in (({"refresh_debounce": -1}, "refresh_debounce must be 0"),
                           ({"presence_heartbeat": 20, "presence_ttl": 15},
                            r"presence_ttl \(15.0\) must be longer")):
        with pytest.raises(ConfigError, match=message):
            rum_app_factory(plugins=["websockets", "turbo"], config={
                "general": {"secret_key": SECRET}, "turbo": turbo})

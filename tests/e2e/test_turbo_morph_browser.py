"""End to end in headless Chromium: a page that refreshes by morphing when a model it shows
changes in a request served by another node, keeping its scroll position and what the user
is typing; a rolled-back change never reaches it; the browser that made a change ignores the
refresh carrying its own Turbo request id while the other one morphs; presence lists a
browser on each node and drops the one that closes.

Two apps (two nodes) share one PostgreSQL database; the page is served by node B, the
changes are requests to node A. Screenshots go to ``test-artifacts/e2e/``.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio
from browser_helpers import launch_chromium, needs_chromium, wait_for_subscribers

from rum import Controller, Request, Response
from rum_http.testing import serve_app
from rum_orm import Model, transaction
from rum_turbo import (
    accepts_turbo_stream,
    broadcasts_refreshes,
    dom_id,
    presence_list,
    turbo_refresh_tags,
    turbo_script_tag,
    turbo_stream,
    turbo_stream_from,
    turbo_stream_response,
)

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
SECRET = "5e" * 32


class MoOrder(Model):
    __table__ = "mo_orders"
    broadcasts = broadcasts_refreshes("orders")
    id: int | None = None
    item: str = ""


class OrderList(Controller):
    async def get(self, request: Request) -> Response:
        rows = "".join(f'<li id="{dom_id(o)}">{o.item}</li>'
                       for o in await MoOrder.all().order("id").fetch_all())
        return Response.html(f"""<!doctype html>
<html><head><title>Orders</title>{turbo_script_tag(request.app)}{turbo_refresh_tags()}</head>
<body>
  {turbo_stream_from(request, "orders", presence=True)}
  <h1>Orders</h1>
  {presence_list("orders")}
  <div style="height: 1500px">spacer</div>
  <ul id="orders">{rows}</ul>
  <div id="flash"></div>
  <form id="rename" action="/orders/2" method="post">
    <input type="hidden" name="item" value="muffin"><button id="rename-cake">Rename</button>
  </form>
  <input id="note" autocomplete="off" data-turbo-permanent>
  <div style="height: 1500px">spacer</div>
  <script>window.pageMarker = window.pageMarker || Math.random().toString(36).slice(2);
  </script>
</body></html>""")


class Rename(Controller):
    async def post(self, request: Request) -> Response:
        form = await request.form()
        try:
            async with transaction():
                order = await MoOrder.find(request.path_params["id"]).fetch()
                await order.update(item=form["item"])
                if form.get("fail"):
                    raise RuntimeError("rolled back on purpose")
        except RuntimeError:
            return Response.text("rolled back", 409)
        if accepts_turbo_stream(request):  # a Turbo form submission
            return turbo_stream_response(turbo_stream.update("flash", "saved"))
        return Response.text("ok")


ROUTES = [OrderList.route("/orders"), Rename.route("/orders/<int:id>")]


def browser_scenario(url_b: str, url_a: str, app_b, token: trio.lowlevel.TrioToken) -> dict:
    """Runs in a worker thread: a page on node B; changes made through node A."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    seen: dict = {}
    with sync_playwright() as pw, httpx.Client(base_url=url_a) as other_user:
        browser = launch_chromium(pw)
        try:
            page = browser.new_context(viewport={"width": 800, "height": 600}).new_page()
            page.goto(f"{url_b}/orders")
            other_context = browser.new_context()
            other_page = other_context.new_page()  # someone else, on node A
            other_page.goto(f"{url_a}/orders")
            page.wait_for_function(
                "document.querySelectorAll('#presence_orders li').length === 2")
            other_page.wait_for_function(
                "document.querySelectorAll('#presence_orders li').length === 2")
            seen["present_before"] = 2
            other_page.evaluate("window.morphs = 0; document.addEventListener('turbo:morph', "
                                "() => window.morphs++)")
            page.wait_for_function("window.Turbo !== undefined")
            page.evaluate("window.morphs = 0; document.addEventListener('turbo:morph', "
                          "() => window.morphs++)")
            wait_for_subscribers(app_b, "turbo-refresh:orders", 1, token, timeout=10)
            marker = page.evaluate("window.pageMarker")
            page.click("#note")
            page.keyboard.type("half-typed note")
            page.evaluate("window.scrollTo(0, 1234)")
            page.wait_for_function("window.scrollY === 1234")

            failed = other_user.post("/orders/1", data={"item": "ghost", "fail": "1"})
            seen["rollback_status"] = failed.status_code
            page.wait_for_timeout(1200)  # debounce window and more: nothing may arrive
            seen["morphs_after_rollback"] = page.evaluate("window.morphs")

            ok = other_user.post("/orders/1", data={"item": "espresso"})
            seen["commit_status"] = ok.status_code
            page.wait_for_function(
                "document.querySelector('#mo_order_1').innerText === 'espresso'", timeout=10_000)
            seen["items"] = page.inner_text("#orders")
            seen["morphs"] = page.evaluate("window.morphs")
            seen["scroll_y"] = page.evaluate("window.scrollY")
            seen["note"] = page.input_value("#note")
            seen["same_page"] = page.evaluate("window.pageMarker") == marker
            seen["present_after_morph"] = page.evaluate(
                "document.querySelectorAll('#presence_orders li').length")
            seen["screenshot"] = str(ARTIFACTS / "turbo-morph-refresh.png")
            page.screenshot(path=seen["screenshot"])

            # this browser renames the cake with a Turbo form submission: the refresh the
            # save broadcasts carries its X-Turbo-Request-Id, so this page ignores it (the
            # stream response already told it) while the other browser morphs the change in
            page.evaluate("window.morphs = 0")
            other_page.evaluate("window.morphs = 0")
            page.click("#rename-cake")
            page.wait_for_function("document.querySelector('#flash').innerText === 'saved'")
            other_page.wait_for_function(
                "document.querySelector('#mo_order_2').innerText === 'muffin'", timeout=10_000)
            page.wait_for_timeout(1000)
            seen["own_change_morphs"] = page.evaluate("window.morphs")
            seen["own_page_cake"] = page.inner_text("#mo_order_2")
            seen["other_change_morphs"] = other_page.evaluate("window.morphs")

            other_context.close()  # the other browser leaves: its node announces it
            page.wait_for_function(
                "document.querySelectorAll('#presence_orders li').length === 1",
                timeout=10_000)
            seen["present_after_close"] = 1
            page.evaluate("window.scrollTo(0, 0)")
            seen["presence_screenshot"] = str(ARTIFACTS / "turbo-presence.png")
            page.screenshot(path=seen["presence_screenshot"])
        finally:
            browser.close()
    return seen


@needs_chromium
async def test_a_committed_change_morphs_in_keeping_scroll_and_typing(
        rum_app_factory, database_url, db, record_property):
    await db.execute("CREATE TABLE mo_orders (id serial PRIMARY KEY, item text NOT NULL)")
    await db.execute("INSERT INTO mo_orders (item) VALUES ('tea'), ('cake')")

    def make():
        return rum_app_factory(ROUTES, plugins=["http", "orm", "websockets", "turbo"], config={
            "general": {"secret_key": SECRET},
            "database": {"url": database_url, "pool_max": 3}})

    node_a, node_b = make(), make()
    async with serve_app(node_a) as url_a, serve_app(node_b) as url_b:
        token = trio.lowlevel.current_trio_token()
        with trio.fail_after(90):
            seen = await trio.to_thread.run_sync(browser_scenario, url_b, url_a, node_b, token)
    record_property("screenshot", seen["screenshot"])
    assert Path(seen["screenshot"]).stat().st_size > 1000
    assert seen["rollback_status"] == 409
    assert seen["morphs_after_rollback"] == 0  # the rolled-back change sent nothing
    assert seen["commit_status"] == 200
    assert seen["items"].split() == ["espresso", "cake"]
    assert seen["morphs"] == 1  # one refresh, applied by morphing
    assert seen["same_page"], "the page was reloaded instead of morphed"
    assert seen["scroll_y"] == 1234
    assert seen["note"] == "half-typed note"
    assert seen["present_before"] == 2 and seen["present_after_morph"] == 2
    assert seen["present_after_close"] == 1
    assert seen["other_change_morphs"] == 1
    assert seen["own_change_morphs"] == 0  # its own refresh (same request id) was ignored
    assert seen["own_page_cake"] == "cake"

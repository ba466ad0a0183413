"""End to end in headless Chromium: a form written with ``form_with`` submitted through Turbo.

An invalid submission comes back 422 and Turbo renders it in place (errors inline, the typed
values kept, the first invalid field described by its error); a valid one redirects 303 and
the next page shows the flash message once. Screenshots go to ``test-artifacts/e2e/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from browser_helpers import launch_chromium, needs_chromium

from rum import Controller, Request, Response
from rum_forms import Form, IntegerField, StringField, render_form, see_other
from rum_http.testing import serve_app
from rum_sessions import flash

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
SECRET = '[general]\nsecret_key = "' + "7d" * 32 + '"\n'
LAYOUT = """<!doctype html>
<html><head><title>Orders</title><%= turbo_script_tag() %></head>
<body>
<%= flash_messages %>
<%= yield %>
<script>window.pageMarker = window.pageMarker || Math.random().toString(36).slice(2);</script>
</body></html>
"""
NEW = """<% layout "layout.html" %>
<h1>New order</h1>
<% f = form_with(form, action: "/orders", novalidate: true, id: "order-form") %>
<%= f.open %>
<%= f.error_summary %>
<%= f.field(:customer) %>
<%= f.field(:quantity) %>
<%= f.submit("Create order", id: "create") %>
<%= f.close %>
"""
SHOW = """<% layout "layout.html" %>
<h1 id="title">Order for <%= customer %></h1>
"""
ORDERS: list[dict] = []


class OrderForm(Form):
    customer = StringField(required=True, max_length=40)
    quantity = IntegerField(required=True, min=1, max=99)


class NewOrder(Controller):
    async def get(self, request: Request) -> Response:
        return await render_form(self, "new.html", OrderForm())


class Orders(Controller):
    async def post(self, request: Request) -> Response:
        form = await OrderForm.from_request(request)
        if not await form.validate():
            return await render_form(self, "new.html", form)
        ORDERS.append(form.data)
        flash(request, f"Order {len(ORDERS)} created")
        return see_other(f"/orders/{len(ORDERS)}")


class ShowOrder(Controller):
    async def get(self, request: Request) -> Response:
        order = ORDERS[request.path_params["id"] - 1]
        return await self.render("show.html", customer=order["customer"])


def scenario(url: str) -> dict:
    """Runs in a worker thread: submit an invalid, then a valid order."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    seen: dict = {}
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page()
            statuses: list[int] = []
            page.on("response", lambda r: statuses.append(r.status)
                    if r.request.method == "POST" else None)
            page.goto(f"{url}/orders/new")
            page.wait_for_function("window.Turbo !== undefined")
            marker = page.evaluate("window.pageMarker")

            page.fill("#order_customer", "Ada <b>")
            page.fill("#order_quantity", "250")
            page.click("#create")
            page.wait_for_selector("#order_quantity_error")
            seen["marker_after_invalid"] = page.evaluate("window.pageMarker") == marker
            seen["invalid_url"] = page.url
            seen["error"] = page.inner_text("#order_quantity_error")
            seen["summary"] = page.inner_text(".error-summary")
            seen["customer_kept"] = page.input_value("#order_customer")
            seen["quantity_kept"] = page.input_value("#order_quantity")
            seen["aria"] = page.get_attribute("#order_quantity", "aria-invalid")
            seen["described"] = page.evaluate(
                "document.getElementById(document.getElementById('order_quantity')"
                ".getAttribute('aria-describedby')).textContent")
            seen["label_for"] = page.evaluate(
                "document.querySelector('label[for=order_quantity]').control.id")
            page.screenshot(path=str(ARTIFACTS / "forms-invalid.png"), full_page=True)

            page.fill("#order_quantity", "3")
            page.click("#create")
            page.wait_for_selector("#title")
            seen["marker_after_valid"] = page.evaluate("window.pageMarker") == marker
            seen["valid_url"] = page.url
            seen["title"] = page.inner_text("#title")
            seen["flash"] = page.inner_text(".flash-messages")
            seen["flash_role"] = page.get_attribute(".flash", "role")
            page.screenshot(path=str(ARTIFACTS / "forms-valid.png"), full_page=True)
            page.reload()
            page.wait_for_selector("#title")
            seen["flash_after_reload"] = page.locator(".flash-messages").count()
            seen["statuses"] = statuses
        finally:
            browser.close()
    return seen


@needs_chromium
async def test_invalid_then_valid_form_through_turbo(rum_app_factory, tmp_path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    for name, text in {"layout.html": LAYOUT, "new.html": NEW, "show.html": SHOW}.items():
        (templates / name).write_text(text)
    ORDERS.clear()
    app = rum_app_factory([NewOrder.route("/orders/new"), Orders.route("/orders"),
                           ShowOrder.route("/orders/<int:id>")],
                          plugins=["http", "templates", "sessions", "forms", "turbo",
                                   "websockets"], toml=SECRET, env="test")
    async with serve_app(app) as url:
        with trio.fail_after(90):
            seen = await trio.to_thread.run_sync(scenario, url)
    assert seen["statuses"] == [422, 303]
    assert seen["marker_after_invalid"], "Turbo did not render the 422 in place"
    assert seen["invalid_url"].endswith("/orders/new")  # Turbo keeps the URL of the form page
    assert seen["error"] == "Quantity must be at most 99"
    assert "Please fix 1 problem" in seen["summary"]
    assert seen["customer_kept"] == "Ada <b>" and seen["quantity_kept"] == "250"
    assert seen["aria"] == "true"
    assert seen["described"] == "Quantity must be at most 99"
    assert seen["label_for"] == "order_quantity"
    assert seen["marker_after_valid"], "the valid submission was not a Turbo visit"
    assert seen["valid_url"].endswith("/orders/1")
    assert seen["title"] == "Order for Ada <b>"
    assert seen["flash"] == "Order 1 created" and seen["flash_role"] == "status"
    assert seen["flash_after_reload"] == 0
    assert ORDERS == [{"customer": "Ada <b>", "quantity": 3}]

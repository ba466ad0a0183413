"""End to end in headless Chromium through Turbo: an admin creates a product (an invalid
submission first: errors inline, 422), finds it in the list, edits it, and deletes it after
the confirmation page. Screenshots go to ``test-artifacts/admin/``."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from admin_helpers import ADMIN_ID, running
from admin_models import SCHEMA, Product
from browser_helpers import launch_chromium, needs_chromium

import rum_admin

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "admin"


def scenario(url: str) -> dict:
    """Runs in a worker thread: create (invalid, then valid) → list → edit → delete."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    seen: dict = {}
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page()
            posts: list[int] = []
            page.on("response", lambda r: posts.append(r.status)
                    if r.request.method == "POST" else None)
            page.goto(f"{url}/test/login/{ADMIN_ID}")
            page.goto(f"{url}/admin/admin_products")
            page.wait_for_function("window.Turbo !== undefined")
            seen["empty"] = page.inner_text(".admin-empty")

            page.click("#admin-new")
            page.wait_for_selector("#product_name")
            page.fill("#product_name", "")
            page.select_option("#product_category", "rum")
            page.fill("#product_price", "-5")
            page.evaluate("document.getElementById('admin-form').noValidate = true")
            page.click("#admin-submit")
            page.wait_for_selector("#product_price_error")
            seen["price_error"] = page.inner_text("#product_price_error")
            seen["name_error"] = page.inner_text("#product_name_error")
            seen["kept"] = page.input_value("#product_price")
            page.screenshot(path=str(ARTIFACTS / "admin-create-invalid.png"), full_page=True)

            page.fill("#product_name", "Navy rum")
            page.fill("#product_price", "31.5")
            page.click("#admin-submit")
            page.wait_for_selector("dl.admin-record")
            seen["created_flash"] = page.inner_text(".flash-messages")
            seen["created_title"] = page.inner_text("h1")

            page.click("nav.admin-nav >> text=Product")
            page.wait_for_selector("table.admin-list")
            seen["listed"] = page.inner_text("table.admin-list tbody")
            page.screenshot(path=str(ARTIFACTS / "admin-list.png"), full_page=True)

            page.click("table.admin-list tbody tr >> nth=0 >> a")
            page.wait_for_selector("#admin-edit")
            page.click("#admin-edit")
            page.wait_for_selector("#product_name")
            page.fill("#product_name", "Navy rum, overproof")
            page.click("#admin-submit")
            page.wait_for_selector("dl.admin-record")
            seen["edited_flash"] = page.inner_text(".flash-messages")
            seen["edited_detail"] = page.inner_text("dl.admin-record")
            page.screenshot(path=str(ARTIFACTS / "admin-edited.png"), full_page=True)

            page.click("#admin-delete")
            page.wait_for_selector("#admin-confirm-delete")
            seen["confirm"] = page.inner_text("main")
            page.screenshot(path=str(ARTIFACTS / "admin-delete-confirm.png"), full_page=True)
            page.click("#admin-confirm-delete")
            page.wait_for_selector(".admin-empty")
            seen["deleted_flash"] = page.inner_text(".flash-messages")
            seen["posts"] = posts
        finally:
            browser.close()
    return seen


@needs_chromium
async def test_create_list_edit_delete_in_chromium(make_admin_app) -> None:
    app = make_admin_app()
    rum_admin.admin_state(app).register(Product, list_display=["id", "name", "price"],
                                        search_fields=["name"])
    async with running(app, SCHEMA) as (url, _):
        with trio.fail_after(90):
            seen = await trio.to_thread.run_sync(scenario, url)
        assert await Product.count() == 0
    assert seen["empty"] == "No product records."
    assert seen["posts"] == [422, 303, 303, 303]
    assert seen["price_error"] == "Price must be at least 0"
    assert seen["name_error"] == "Name can't be blank"
    assert seen["kept"] == "-5"
    assert "was created" in seen["created_flash"]
    assert seen["created_title"].startswith("Product ")
    assert "Navy rum" in seen["listed"] and "31.50" in seen["listed"]
    assert seen["listed"].split()[0].isdigit()          # the id column, not a dict item
    assert "was saved" in seen["edited_flash"]
    assert "Navy rum, overproof" in seen["edited_detail"]
    assert "This cannot be undone" in seen["confirm"]
    assert "was deleted" in seen["deleted_flash"]

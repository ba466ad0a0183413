"""The order tracker's main flows in headless Chromium (Debian's, driven by Playwright):
log in, create an order (the page updates without a reload), a second browser sees the new
order, its shipping and its receipt arrive live. Screenshots: test-artifacts/sample_project/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from browser_helpers import launch_chromium, needs_chromium, wait_for_subscribers
from sample_support import DEMO_PASSWORD

from rum_http.testing import serve_app

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "sample_project"
CUSTOMER = "Margaret Hamilton"


def browser_scenario(url: str, app: Any, token: trio.lowlevel.TrioToken) -> dict[str, Any]:
    """Runs in a worker thread (Playwright's sync API must not block the serving loop)."""
    from playwright.sync_api import sync_playwright

    def shot(page: Any, name: str) -> None:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        seen.setdefault("screenshots", []).append(str(path))

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    seen: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            alice = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
            bob = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()

            # Logging in: /orders sends visitors to the form; a wrong password is refused.
            alice.goto(f"{url}/orders")
            seen["redirected_to"] = alice.url
            alice.fill("#email", "demo@example.com")
            alice.fill("#password", "wrong")
            alice.click("#sign-in")
            alice.wait_for_selector("#login-error")
            seen["login_error"] = alice.inner_text("#login-error")
            shot(alice, "1-login-error")
            alice.fill("#password", DEMO_PASSWORD)
            alice.click("#sign-in")
            alice.wait_for_selector("#current-user")
            seen["alice_url"] = alice.url
            seen["alice_user"] = alice.inner_text("#current-user")

            bob.goto(f"{url}/login")
            bob.fill("#email", "demo@example.com")
            bob.fill("#password", DEMO_PASSWORD)
            bob.click("#sign-in")
            bob.wait_for_selector("#current-user")
            # both pages' <turbo-stream-source> are connected
            wait_for_subscribers(app, "turbo-streams:orders", 2, token, timeout=15)
            seen["bob_rows_before"] = bob.locator("#orders tr").count()
            shot(bob, "2-bob-before")

            # Creating an order: answered with a Turbo Stream, no reload.
            alice.evaluate("window.pageMarker = 'still the same page'")
            alice.fill("#customer", CUSTOMER)
            alice.fill("#item", "Core rope memory")
            alice.fill("#quantity", "2")
            alice.fill("#total", "64.00")
            alice.click("#add-order")
            alice.wait_for_function(
                f"document.querySelector('#orders tr').innerText.includes('{CUSTOMER}')")
            # The broadcast may show the row before the form's own stream answer arrives;
            # that answer resets the form.
            alice.wait_for_function("document.querySelector('#customer').value === ''")
            seen["marker"] = alice.evaluate("window.pageMarker")
            seen["alice_count"] = alice.inner_text("#order-count")
            seen["alice_rows"] = alice.locator("#orders tr").count()

            # The other browser sees it live, then sees it shipped and its receipt sent.
            bob.wait_for_function(
                f"document.querySelector('#orders').innerText.includes('{CUSTOMER}')")
            seen["bob_count"] = bob.inner_text("#order-count")
            seen["bob_rows_after"] = bob.locator("#orders tr").count()
            first_row = bob.locator("#orders tr").first
            order_id = first_row.get_attribute("id")
            seen["order_row_id"] = order_id
            bob.wait_for_function(
                f"document.querySelector('#{order_id} .receipt').innerText === 'sent'")
            seen["bob_receipt"] = bob.inner_text(f"#{order_id} .receipt")

            alice.click(f"#{order_id} button.ship")
            bob.wait_for_function(
                f"document.querySelector('#{order_id} .status').innerText === 'shipped'")
            seen["bob_status"] = bob.inner_text(f"#{order_id} .status")
            alice.wait_for_function(
                f"document.querySelector('#{order_id} .status').innerText === 'shipped'")
            seen["marker_after_ship"] = alice.evaluate("window.pageMarker")

            # The lazily loaded outbox frame shows the receipt e-mail.
            alice.locator("#outbox").scroll_into_view_if_needed()
            alice.wait_for_function(
                "document.querySelector('#outbox').innerText.includes('Receipt for order')")
            seen["outbox"] = alice.inner_text("#outbox")
            shot(alice, "3-alice-after-create-and-ship")
            shot(bob, "4-bob-live-update")

            # Logging out ends the session: /orders sends the browser back to the login page.
            alice.click("#logout")
            alice.wait_for_selector("#login-form")
            alice.goto(f"{url}/orders")
            seen["after_logout"] = alice.url
        finally:
            browser.close()
    return seen


@needs_chromium
async def test_login_create_and_live_update_in_two_browsers(make_app, record_property) -> None:
    app = make_app()
    async with serve_app(app) as url:
        token = trio.lowlevel.current_trio_token()
        with trio.fail_after(120):
            seen = await trio.to_thread.run_sync(browser_scenario, url, app, token)
    for path in seen["screenshots"]:
        record_property("screenshot", path)
        assert Path(path).stat().st_size > 5000
    assert seen["redirected_to"] == f"{url}/login"
    assert "Wrong e-mail or password." in seen["login_error"]
    assert seen["alice_url"] == f"{url}/orders" and seen["alice_user"] == "Demo User"
    assert seen["bob_rows_before"] == 3
    assert seen["marker"] == "still the same page", "creating the order reloaded the page"
    assert seen["alice_count"] == "4" and seen["alice_rows"] == 4  # no duplicate row
    assert seen["bob_count"] == "4" and seen["bob_rows_after"] == 4
    assert seen["bob_receipt"] == "sent"
    assert seen["bob_status"] == "shipped"
    assert seen["marker_after_ship"] == "still the same page"
    assert "Receipt for order" in seen["outbox"]
    assert seen["after_logout"] == f"{url}/login"

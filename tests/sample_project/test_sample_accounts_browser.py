"""Issue 14's whole kit in headless Chromium, on the order tracker: sign up (an error shown
inline first), log out and in, an invalid then a valid order form through Turbo (errors
inline, flash shown), a file attached to the order, and a password reset through the mail the
app sends. Screenshots: test-artifacts/sample_project/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import trio
from browser_helpers import launch_chromium, needs_chromium

from rum_http.testing import serve_app
from rum_mail.testing import sent_mail

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "sample_project"
EMAIL = "ada@example.com"
ATTACHMENT = b"%PDF-1.4 signed purchase order\n" * 50


def reset_link(app: Any, url: str, token: trio.lowlevel.TrioToken) -> str:
    """The link of the reset mail the app sent to EMAIL (waits for the job queue to deliver
    it), pointed at the test server."""

    async def wait() -> str:
        with trio.fail_after(20):
            while not (found := sent_mail(app=app, to=EMAIL, subject="Reset your password")):
                await trio.sleep(0.05)
        link = re.search(r"https?://\S+/password/reset/\S+", found[-1].text or "")
        assert link, found[-1].text
        return url + urlsplit(link.group(0)).path

    return trio.from_thread.run(wait, trio_token=token)


def scenario(url: str, app: Any, token: trio.lowlevel.TrioToken, upload: Path) -> dict[str, Any]:
    """Runs in a worker thread (Playwright's sync API must not block the serving loop)."""
    from playwright.sync_api import sync_playwright

    seen: dict[str, Any] = {}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def shot(page: Any, name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"accounts-{name}.png"), full_page=True)

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
            # Sign up: the confirmation differs first, and the error is shown by the field.
            page.goto(f"{url}/signup")
            page.fill("#signup_name", "Ada")
            page.fill("#signup_email", EMAIL)
            page.fill("#signup_password", "first password")
            page.fill("#signup_password_confirmation", "another one")
            page.click("#sign-up")
            page.wait_for_selector("#signup_password_confirmation_error")
            seen["signup_error"] = page.inner_text("#signup_password_confirmation_error")
            seen["signup_invalid"] = page.get_attribute("#signup_password_confirmation",
                                                        "aria-invalid")
            seen["kept_email"] = page.input_value("#signup_email")
            shot(page, "1-signup-error")
            page.fill("#signup_password", "first password")
            page.fill("#signup_password_confirmation", "first password")
            page.click("#sign-up")
            page.wait_for_selector("#current-user")
            seen["after_signup"] = (page.url, page.inner_text("#flash"))

            # Log out, then in again.
            page.click("#logout")
            page.wait_for_selector("#login-form")
            seen["logged_out_flash"] = page.inner_text("#flash")
            page.fill("#email", EMAIL)
            page.fill("#password", "first password")
            page.click("#sign-in")
            page.wait_for_selector("#current-user")
            seen["user"] = page.inner_text("#current-user")

            # An invalid order, then a valid one with a file, both through Turbo.
            page.evaluate("window.pageMarker = 'same page'")
            page.fill("#customer", "")
            page.fill("#item", "Difference engine")
            page.fill("#quantity", "0")
            page.fill("#total", "12.345")
            page.click("#add-order")
            page.wait_for_selector("#customer_error")
            seen["order_errors"] = [page.inner_text(f"#{name}_error")
                                    for name in ("customer", "quantity", "total")]
            seen["kept_item"] = page.input_value("#item")
            shot(page, "2-order-errors")
            page.fill("#customer", "Charles Babbage")
            page.fill("#quantity", "2")
            page.fill("#total", "12.50")
            page.set_input_files("#attachment", str(upload))
            page.click("#add-order")
            page.wait_for_function(
                "document.querySelector('#flash').innerText.includes('created')")
            seen["order_flash"] = page.inner_text("#flash")
            link = page.locator("#orders tr").first.locator("a.attachment")
            seen["attachment_name"] = link.inner_text()
            seen["attachment"] = page.request.get(url + link.get_attribute("href")).body()
            seen["marker"] = page.evaluate("window.pageMarker")
            shot(page, "3-order-created")

            # Forgot the password: the reset mail's link sets a new one.
            page.click("#logout")
            page.wait_for_selector("#login-form")
            page.click("#forgot")
            page.fill("#reset_request_email", EMAIL)
            page.click("#send-reset")
            page.wait_for_function(
                "document.querySelector('#flash').innerText.includes('on its way')")
            seen["reset_sent"] = page.inner_text("#flash")
            page.goto(reset_link(app, url, token))
            page.fill("#reset_password", "second password")
            page.fill("#reset_password_confirmation", "second password")
            page.click("#change-password")
            page.wait_for_selector("#login-form")
            seen["reset_flash"] = page.inner_text("#flash")
            page.fill("#email", EMAIL)
            page.fill("#password", "first password")
            page.click("#sign-in")
            page.wait_for_selector("#login-error")
            seen["old_password"] = page.inner_text("#login-error")
            page.fill("#password", "second password")
            page.click("#sign-in")
            page.wait_for_selector("#current-user")
            seen["after_reset"] = page.url
            shot(page, "4-after-reset")
        finally:
            browser.close()
    return seen


@needs_chromium
async def test_sign_up_forms_flash_upload_and_password_reset(make_app, tmp_path) -> None:
    upload = tmp_path / "purchase order.pdf"
    upload.write_bytes(ATTACHMENT)
    app = make_app()
    async with serve_app(app) as url:
        token = trio.lowlevel.current_trio_token()
        with trio.fail_after(150):
            seen = await trio.to_thread.run_sync(scenario, url, app, token, upload)
    assert seen["signup_error"] == "Password again doesn't match the password"
    assert seen["signup_invalid"] == "true" and seen["kept_email"] == EMAIL
    assert seen["after_signup"] == (f"{url}/orders", "Welcome, Ada! Your account is ready.")
    assert seen["logged_out_flash"] == "You have logged out."
    assert seen["user"] == "Ada"
    assert seen["order_errors"] == ["Customer can't be blank", "Quantity must be at least 1",
                                    "Total must have at most 2 digits after the point"]
    assert seen["kept_item"] == "Difference engine"
    assert re.fullmatch(r"Order #\d+ for Charles Babbage created\.", seen["order_flash"])
    assert seen["attachment_name"] == "purchase order.pdf"
    assert seen["attachment"] == ATTACHMENT
    assert seen["marker"] == "same page", "the order form reloaded the page"
    assert seen["reset_sent"].startswith(f"If an account uses {EMAIL}, a link")
    assert seen["reset_flash"] == "Your password has been changed: sign in with it."
    assert "Wrong e-mail or password." in seen["old_password"]
    assert seen["after_reset"] == f"{url}/orders"

"""End to end in headless Chromium: editing a template refreshes the open page in place
(development live reload: a Turbo ``refresh`` over the streams WebSocket)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from browser_helpers import launch_chromium, needs_chromium, wait_for_subscribers

from rum import Controller
from rum_http.testing import serve_app
from rum_turbo.live_reload import LIVE_RELOAD_STREAM

pytestmark = pytest.mark.browser

SECRET = '[general]\nsecret_key = "' + "5a" * 32 + '"\n'


class Page(Controller):
    async def get(self, request):
        return await self.render("page.html")


def write_page(root: Path, text: str) -> None:
    (root / "templates").mkdir(exist_ok=True)
    (root / "templates" / "page.html").write_text(
        "<!doctype html><html><head><title>Live</title><%= turbo_script_tag() %></head>"
        f'<body><h1 id="text">{text}</h1></body></html>')


def scenario(url: str, app, root: Path, token: trio.lowlevel.TrioToken) -> dict:
    from playwright.sync_api import sync_playwright

    seen: dict = {}
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_context().new_page()
            page.goto(f"{url}/")
            page.wait_for_function("window.Turbo !== undefined")
            page.evaluate("window.marker = 'kept'")
            wait_for_subscribers(app, "turbo-streams:" + LIVE_RELOAD_STREAM, 1, token,
                                 timeout=10)
            seen["before"] = page.inner_text("#text")
            write_page(root, "after the edit")
            page.wait_for_function(
                "document.querySelector('#text').innerText === 'after the edit'",
                timeout=15000)
            seen["after"] = page.inner_text("#text")
            seen["marker"] = page.evaluate("window.marker")  # a Turbo visit, not a page load
        finally:
            browser.close()
    return seen


@needs_chromium
async def test_a_template_edit_refreshes_the_open_page(rum_app_factory, tmp_path):
    write_page(tmp_path, "before")
    app = rum_app_factory([Page.route("/")], plugins=["http", "templates", "turbo", "websockets"],
                          env="development", toml=SECRET)
    async with serve_app(app) as url:
        token = trio.lowlevel.current_trio_token()
        with trio.fail_after(90):
            seen = await trio.to_thread.run_sync(scenario, url, app, tmp_path, token)
    assert seen == {"before": "before", "after": "after the edit", "marker": "kept"}

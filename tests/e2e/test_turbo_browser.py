"""End to end in headless Chromium: a Turbo page, a form answered with a Turbo Stream, and
Turbo Stream broadcasts arriving live over WebSockets.

The app is served by the real HTTP server in this trio run; Playwright's sync API drives
Debian's chromium from a worker thread (it must not block the loop serving the pages).
Screenshots go to ``test-artifacts/e2e/``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import trio
from browser_helpers import launch_chromium, needs_chromium, wait_for_subscribers
from markupsafe import Markup

from rum import Controller, Response
from rum_http.testing import serve_app
from rum_turbo import (
    accepts_turbo_stream,
    broadcast_stream,
    turbo_frame_id,
    turbo_script_tag,
    turbo_stream,
    turbo_stream_from,
    turbo_stream_response,
)

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
SECRET = '[general]\nsecret_key = "' + "3c" * 32 + '"\n'


class Board(Controller):
    async def get(self, request):
        app = request.app
        return Response.html(f"""<!doctype html>
<html><head><title>Board</title>{turbo_script_tag(app)}</head>
<body>
  {turbo_stream_from(request, "board")}
  <h1>Board</h1>
  <form action="/messages" method="post" id="post-form">
    <input name="text" id="text" autocomplete="off"><button id="send">Send</button>
  </form>
  <ul id="messages"></ul>
  <turbo-frame id="panel"><a href="/panel?n=2" id="panel-link">Panel 1</a></turbo-frame>
  <h2>Live</h2>
  <ul id="live"></ul>
  <script>window.boardMarker = Math.random().toString(36).slice(2);</script>
</body></html>""")


class Messages(Controller):
    async def post(self, request):
        text = (await request.form()).get("text", "")
        item = Markup("<li>{}</li>").format(text)
        await broadcast_stream("board", turbo_stream.append("live", item))
        if accepts_turbo_stream(request):
            return turbo_stream_response(turbo_stream.append("messages", item),
                                         turbo_stream.update("text-count", str(len(text))))
        return Response.redirect("/", 303)


class Panel(Controller):
    async def get(self, request):
        n = int(request.query.get("n", "1"))
        frame = turbo_frame_id(request)
        return Response.html(f"<!doctype html><html><body><h1>Full panel page</h1>"
                             f'<turbo-frame id="panel"><p id="panel-text">Panel {n} '
                             f"(frame request: {frame})</p></turbo-frame></body></html>")


def browser_scenario(url: str, app, token: trio.lowlevel.TrioToken) -> dict:
    """Runs in a worker thread: drive two pages and report what they saw."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    seen: dict = {}
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            alice = browser.new_context().new_page()
            bob = browser.new_context().new_page()
            alice.goto(f"{url}/")
            bob.goto(f"{url}/")
            alice.wait_for_function("window.Turbo !== undefined")
            marker = alice.evaluate("window.boardMarker")
            # both <turbo-stream-source> sockets are subscribed
            wait_for_subscribers(app, "turbo-streams:board", 2, token, timeout=10)

            alice.fill("#text", "hello <b>turbo</b>")
            alice.click("#send")
            alice.wait_for_selector("#messages li")
            seen["alice_messages"] = alice.inner_text("#messages")
            seen["marker_survived"] = alice.evaluate("window.boardMarker") == marker
            seen["alice_url"] = alice.url
            bob.wait_for_selector("#live li")
            seen["bob_live"] = bob.inner_text("#live")
            seen["bob_messages"] = bob.inner_text("#messages")

            job = functools.partial(broadcast_stream, "board", turbo_stream.append(
                "live", Markup("<li>from a job</li>")), app=app)
            trio.from_thread.run(job, trio_token=token)

            alice.click("#panel-link")  # a frame navigation: only the frame changes
            alice.wait_for_selector("#panel-text")
            seen["panel"] = alice.inner_text("#panel")
            seen["marker_after_frame"] = alice.evaluate("window.boardMarker") == marker
            seen["h1_after_frame"] = alice.inner_text("h1")
            alice.wait_for_function(
                "document.querySelector('#live').innerText.includes('from a job')")
            bob.wait_for_function(
                "document.querySelector('#live').innerText.includes('from a job')")
            seen["alice_live"] = alice.inner_text("#live")
            seen["marker_after_broadcast"] = alice.evaluate("window.boardMarker") == marker
            seen["screenshots"] = [str(ARTIFACTS / "turbo-alice.png"),
                                   str(ARTIFACTS / "turbo-bob.png")]
            alice.screenshot(path=seen["screenshots"][0], full_page=True)
            bob.screenshot(path=seen["screenshots"][1], full_page=True)
        finally:
            browser.close()
    return seen


@needs_chromium
async def test_turbo_form_stream_and_live_broadcast(rum_app_factory, record_property):
    app = rum_app_factory([Board.route("/"), Messages.route("/messages"), Panel.route("/panel")],
                          plugins=["http", "turbo", "websockets"], toml=SECRET)
    async with serve_app(app) as url:
        token = trio.lowlevel.current_trio_token()
        with trio.fail_after(90):
            seen = await trio.to_thread.run_sync(browser_scenario, url, app, token)
    for path in seen["screenshots"]:
        record_property("screenshot", path)
        print(f"screenshot: {path}")
        assert Path(path).stat().st_size > 1000
    assert seen["alice_messages"] == "hello <b>turbo</b>"  # escaped text, not markup
    assert seen["marker_survived"], "the form submission reloaded the page"
    assert seen["alice_url"].rstrip("/") == url.rstrip("/")
    assert seen["bob_live"] == "hello <b>turbo</b>"
    assert seen["bob_messages"] == ""  # the stream response went to alice only
    assert "from a job" in seen["alice_live"]
    assert seen["marker_after_broadcast"]
    assert seen["panel"] == "Panel 2 (frame request: panel)"
    assert seen["marker_after_frame"] and seen["h1_after_frame"] == "Board"

"""Development live reload: editing a template sends a Turbo ``refresh`` to open pages over
the streams WebSocket (a real server socket, a real file edit)."""

from __future__ import annotations

import httpx
import trio

from rum import Controller
from rum_http.testing import serve_app
from rum_turbo.live_reload import LIVE_RELOAD_STREAM
from rum_websockets import pubsub_for

SECRET = '[general]\nsecret_key = "' + "0f" * 32 + '"\n'
PLUGINS = ["http", "templates", "turbo", "websockets"]


class Page(Controller):
    async def get(self, request):
        return await self.render("page.html")


def write_page(root, text: str) -> None:
    (root / "templates").mkdir(exist_ok=True)
    (root / "templates" / "page.html").write_text(
        f"<html><head><%= turbo_script_tag() %></head><body>{text}</body></html>")


async def test_a_template_edit_refreshes_open_pages(rum_app_factory, ws_connect, tmp_path):
    write_page(tmp_path, "one")
    app = rum_app_factory([Page.route("/")], plugins=PLUGINS, env="development", toml=SECRET)
    async with serve_app(app) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            page = (await client.get("/")).text
        assert "one" in page and "<turbo-stream-source" not in page
        script = page.split("<script data-rum-live-reload>", 1)[1].split("</script>", 1)[0]
        src = script.split('new WebSocket("', 1)[1].split('"', 1)[0]
        assert src.startswith(f"ws://{url.removeprefix('http://')}/_rum/turbo-streams?")
        path = src.split(url.removeprefix("http://"), 1)[1]
        async with ws_connect(url, path) as ws:
            with trio.fail_after(5):
                while pubsub_for(app).subscriber_count(
                        "turbo-streams:" + LIVE_RELOAD_STREAM) < 1:
                    await trio.sleep(0.01)
            await trio.sleep(0.3)  # the watcher thread is up
            write_page(tmp_path, "two")
            with trio.fail_after(10):
                assert await ws.receive() == '<turbo-stream action="refresh"></turbo-stream>'
        async with httpx.AsyncClient(base_url=url) as client:
            assert "two" in (await client.get("/")).text  # development re-reads templates


async def test_no_live_reload_outside_development_or_when_turned_off(rum_app_factory,
                                                                     tmp_path):
    write_page(tmp_path, "one")
    for env, toml in (("production", SECRET),
                      ("development", SECRET + "[turbo]\nlive_reload = false\n")):
        app = rum_app_factory([Page.route("/")], plugins=PLUGINS, env=env, toml=toml)
        async with app.test_client() as client:
            body = (await client.get("/")).text_body()
        assert "/_rum/turbo.js" in body and "live-reload" not in body, (env, body)
        assert app.plugins.call_list("rum_schedule", app=app) == []


async def test_a_forged_host_cannot_break_out_of_the_script(rum_app_factory, tmp_path):
    write_page(tmp_path, "one")
    app = rum_app_factory([Page.route("/")], plugins=PLUGINS, env="development", toml=SECRET)
    async with app.test_client() as client:
        r = await client.get("/", headers={"host": 'x"</script><b>'})
    body = r.text_body()
    assert r.status == 200 and "data-rum-live-reload" in body, body
    assert "</script><b>" not in body and "<b>" not in body

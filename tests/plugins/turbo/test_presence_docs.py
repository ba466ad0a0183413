"""docs/presence.md's examples run: its ERB block is a page served over a real socket (the
page's stream socket joins with the meta the guide's ``set_presence_meta`` gives, and the
live list arrives), and its Python blocks run in order in the running app on a real
database."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import trio
from doc_examples import run_example

from rum import Controller
from rum_http.testing import serve_app
from rum_turbo import presence_for

pytestmark = pytest.mark.postgres
GUIDE = Path(__file__).resolve().parents[3] / "docs" / "presence.md"


def examples(language: str) -> list[tuple[int, str]]:
    text = GUIDE.read_text(encoding="utf-8")
    out = []
    for match in re.finditer(rf"```{language}\n(.*?)```", text, re.S):
        out.append((text.count("\n", 0, match.start()) + 2, match.group(1)))
    return out


async def run_block(line: int, code: str, namespace: dict[str, object]) -> None:
    await run_example(GUIDE, line, code, namespace)


async def test_presence_guide_examples_run(rum_app_factory, database_url, db, tmp_path,
                                           ws_connect):
    [(_, page)] = examples("erb")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text(page)

    class Page(Controller):
        async def get(self, request):
            return await self.render("page.html")

    app = rum_app_factory([Page.route("/")], plugins=[
        "http", "orm", "websockets", "turbo", "templates"], config={
        "general": {"secret_key": "ab" * 32}, "database": {"url": database_url}})
    python = examples("python")
    assert len(python) == 2
    namespace: dict[str, object] = {"__name__": "presence_guide", "app": app}
    await run_block(*python[0], namespace)  # set_presence_meta
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        html = (await client.get("/")).text
        assert '<ul id="presence_orders" data-turbo-permanent></ul>' in html
        src = html.split('src="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        assert src.endswith("&presence=1")
        path = src.split(url.removeprefix("http://"), 1)[1]
        async with ws_connect(url, path + "&nick=Grace") as ws:
            with trio.fail_after(5):
                joined = await ws.receive()
            [entry] = await presence_for(app).list("orders")
            assert entry.meta == {"name": "Grace"}  # the guide's set_presence_meta
            assert joined == (
                '<turbo-stream action="update" target="presence_orders"><template>'
                f'<li data-presence-id="{entry.id}">Grace</li></template></turbo-stream>')
            with trio.fail_after(5):
                await run_block(*python[1], namespace)  # list, join/leave and events
        with trio.fail_after(5):
            while await presence_for(app).list("orders"):
                await trio.sleep(0.05)  # the closed socket left

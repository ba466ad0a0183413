"""Controller.render goes through the rum_render hook of the request's app, even outside
app.running()."""

from __future__ import annotations

from rum import App, Controller, Request, Response, hookimpl


class Page(Controller):
    async def get(self, request: Request) -> Response:
        return await self.render("page.html", n=1)


class NoHooks:
    """Load no installed plugin (``plugins=[]`` would load them all)."""


class FakeRenderer:
    """A plugin passed in code that renders, as the templates plugin does."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    @hookimpl
    async def rum_render(self, template: str, context: dict) -> Response:
        self.calls.append((template, context))
        return Response.text(f"{template} {context['n']}")


async def test_render_uses_the_requests_app_without_running(tmp_path) -> None:
    renderer = FakeRenderer()
    app = App([Page.route("/")], plugins=[NoHooks(), renderer], root=tmp_path)
    response = await app.test_client().get("/")  # no `async with`: no current_app()
    assert response.status == 200
    assert response.text_body() == "page.html 1"
    assert renderer.calls == [("page.html", {"n": 1})]


async def test_render_without_a_renderer_says_which_plugin(tmp_path) -> None:
    app = App([Page.route("/")], plugins=[NoHooks()], root=tmp_path)
    async with app.test_client() as client:
        response = await client.get("/", headers={"accept": "text/plain"})
    assert response.status == 500
    body = response.text_body()  # an HTML page (the message is escaped there)
    assert "page.html" in body and "needs a plugin that renders templates" in body
    assert "templates" in body and "to [plugins] enabled" in body

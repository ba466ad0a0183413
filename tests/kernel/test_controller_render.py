"""Controller.render finds the app through the request, even outside app.running()."""

from __future__ import annotations

from rum import App, Controller, Request, Response


class Page(Controller):
    async def get(self, request: Request) -> Response:
        return await self.render("page.html", n=1)


class NoHooks:
    """Load no installed plugin (``plugins=[]`` would load them all)."""


class FakeRenderer:
    """A plugin passed in code that registers a renderer, as the templates plugin does."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    async def render(self, name: str, context: dict) -> Response:
        self.calls.append((name, context))
        return Response.text(f"{name} {context['n']}")


async def test_render_uses_the_requests_app_without_running(tmp_path) -> None:
    app = App([Page.route("/")], plugins=[NoHooks()], root=tmp_path)
    renderer = FakeRenderer()
    app.extensions["render"] = renderer.render
    response = await app.test_client().get("/")  # no `async with`: no current_app()
    assert response.status == 200
    assert response.text_body() == "page.html 1"
    assert renderer.calls == [("page.html", {"n": 1})]


async def test_render_without_a_renderer_says_which_plugin(tmp_path) -> None:
    app = App([Page.route("/")], plugins=[NoHooks()], root=tmp_path)
    async with app.test_client() as client:
        response = await client.get("/", headers={"accept": "text/plain"})
    assert response.status == 500
    assert "templates plugin" in response.text_body()

"""The sample project: Rum's quick-start page. Later issues grow it into a full app."""

from rum import App, Controller, Request, Response


class Index(Controller):
    """The seed framework's quick-start controller."""

    async def handle(self, request: Request) -> Response:
        return Response.html("<h1>Hey Rum!</h1>")


app = App(routes=[Index.route("/")])

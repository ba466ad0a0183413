"""The quick-start page through Starlette, served by uvicorn and hypercorn in
``bench/http_plaintext.py``."""

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

PAGE = b"<h1>Hey Rum!</h1>"


async def index(request):
    return HTMLResponse(PAGE)


app = Starlette(routes=[Route("/", index)])

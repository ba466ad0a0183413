"""Middleware: rewrite requests on the way in, stop them early, rewrite responses on the way out.

Middleware runs in list order for requests (first to last) and in reverse for responses
(last to first). A middleware that stops a request skips the ones after it and the
controller; only the middleware before it see the response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rum.request import Request
    from rum.response import Response


class Outcome:
    """What :meth:`Middleware.handle_request` decided: forward a request or stop with a response."""

    __slots__ = ("request", "response")

    def __init__(self, request: Request | None = None, response: Response | None = None) -> None:
        self.request = request
        self.response = response

    @classmethod
    def forward(cls, request: Request) -> Outcome:
        """Pass ``request`` (possibly modified) down the chain."""
        return cls(request=request)

    @classmethod
    def stop(cls, response: Response) -> Outcome:
        """Answer with ``response`` now; later middleware and the controller are skipped."""
        return cls(response=response)


class Middleware:
    """Base class for middleware. Override one or both methods.

    ``handle_request`` may return :meth:`Outcome.forward` / :meth:`Outcome.stop`, or simply
    the request (forward), a response (stop) or ``None`` (forward unchanged).
    """

    async def handle_request(self, request: Request) -> Outcome | Request | Response | None:
        """Inspect or change ``request``; the default forwards it unchanged."""
        return None

    async def handle_response(self, request: Request, response: Response) -> Response:
        """Inspect or change ``response``; the default returns it unchanged."""
        return response


Endpoint = Callable[["Request"], Awaitable["Response"]]


async def run_middleware(chain: Sequence[Middleware], request: Request,
                         endpoint: Endpoint) -> Response:
    """Run ``request`` through ``chain`` to ``endpoint`` and the response back out."""
    from rum.request import Request as RequestType

    ran = 0
    response: Response | None = None
    for mw in chain:
        out = await mw.handle_request(request)
        if out is None:
            pass
        elif isinstance(out, Outcome):
            if out.response is not None:
                response = out.response
                break
            if out.request is not None:
                request = out.request
        elif isinstance(out, RequestType):
            request = out
        else:
            response = out
            break
        ran += 1
    if response is None:
        response = await endpoint(request)
    for mw in reversed(chain[:ran]):
        response = await mw.handle_response(request, response) or response
    return response

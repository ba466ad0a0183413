"""The JSON API: ``/api/orders`` through the REST plugin's ``ModelController``.

Callers are either a logged-in browser session or a client presenting one of the bearer
tokens listed in ``[auth] tokens`` (the ``auth`` plugin's ``"token"`` handler).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rum import Authentication, Request
from rum_rest import ModelController
from tracker.models import Order

if TYPE_CHECKING:
    from rum import App, Route

class SessionOrToken(Authentication):
    """Lets in a logged-in session or a request with a valid bearer token."""

    def __init__(self, token: Authentication) -> None:
        self.token = token

    async def authorize(self, request: Request) -> bool:
        session = request.session
        if session is not None and session.user_id is not None:
            return True
        return await self.token.authorize(request)

    async def denied(self, request: Request):
        return await self.token.denied(request)


def api_routes(app: App) -> list[Route]:
    """``GET/POST /api/orders`` and ``GET/PUT/PATCH/DELETE /api/orders/<id>``."""
    auth = SessionOrToken(app.auth_handler("token", tokens=app.config.get_list("auth",
                                                                              "tokens")))
    return ModelController(Order, read_only=["created_at"], auth=auth).crud("/api/orders")

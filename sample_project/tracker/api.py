"""The JSON API: ``/api/orders`` through the REST plugin's ``ModelController``.

Callers are either a logged-in browser session or a client presenting one of the bearer
tokens listed in ``[auth] tokens`` (the ``auth`` plugin's ``"token"`` handler). Changes made
through the API reach the open pages too (:class:`LiveOrders`), and orders created there get
their receipt like those made in the form.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rum import Authentication, Middleware, Request, Response
from rum_rest import ModelController
from rum_turbo import broadcast_stream, turbo_stream
from tracker import views
from tracker.jobs import SendReceipt
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


class LiveOrders(Middleware):
    """After a successful API change, update every open orders page (and send receipts)."""

    async def handle_response(self, request: Request, response: Response) -> Response:
        app = request.app
        method, status = request.method, response.status
        if method == "POST" and status == 201:
            order_id = json.loads(response.body)["id"]
            await SendReceipt.enqueue({"order_id": order_id}, run_in=1)
            await views.broadcast_order(app, order_id, created=True)
        elif method in ("PUT", "PATCH") and status == 200:
            await views.broadcast_order(app, request.path_params["id"])
        elif method == "DELETE" and status == 204:
            await broadcast_stream(
                views.ORDERS_STREAM, turbo_stream.remove(f"order_{request.path_params['id']}"),
                turbo_stream.update("order-count", str(await views.order_count())), app=app)
        return response


def api_routes(app: App) -> list[Route]:
    """``GET/POST /api/orders`` and ``GET/PUT/PATCH/DELETE /api/orders/<id>``."""
    auth = SessionOrToken(app.auth_handler("token", tokens=app.config.get_list("auth",
                                                                              "tokens")))
    return ModelController(Order, read_only=["created_at"], auth=auth,
                           middleware=[LiveOrders()]).crud("/api/orders")

"""Pages of the order tracker: quick-start, orders (Turbo), attachments, the outbox frame.

Sign-up, log-in, log-out and password reset are in :mod:`tracker.accounts`."""

from __future__ import annotations

from urllib.parse import quote

import trio
from markupsafe import Markup

from rum import Controller, Request, Response
from rum_forms import render_form, see_other, storage
from rum_sessions import SessionAuth, flash, render_flash
from rum_turbo import TurboStream, accepts_turbo_stream
from tracker import views
from tracker.forms import OrderForm
from tracker.jobs import SendReceipt
from tracker.models import Order, User


class Hello(Controller):
    """The seed framework's quick-start page, kept as it was."""

    async def handle(self, request: Request) -> Response:
        return Response.html("<h1>Hey Rum!</h1>")


async def current_user(request: Request) -> User | None:
    """The logged-in user (``request.user`` is the id the session holds)."""
    if request.user is None:
        return None
    return await User.find(request.user).fetch_optional()


class Orders(Controller):
    """The orders page (``GET``) and the order form (``POST``, answered with a Turbo Stream)."""

    def auth(self) -> SessionAuth:
        return SessionAuth.redirect("/login")

    async def get(self, request: Request) -> Response:
        return await self.page(request, OrderForm())

    async def page(self, request: Request, form: OrderForm) -> Response:
        """The orders page with ``form`` (422 when it holds a rejected submission)."""
        return await render_form(
            self, "orders/index.html", form, title="Orders", user=await current_user(request),
            orders=await views.recent_orders(), count=await views.order_count())

    async def post(self, request: Request) -> Response:
        app = request.app
        form = await OrderForm.from_request(request)
        form.instance.user_id = request.user
        if not await form.validate():  # show what was typed, with the errors next to it
            if accepts_turbo_stream(request):
                return (TurboStream().replace("order-form", views.order_form(form))
                        .response(status=422))
            return await self.page(request, form)
        upload = form.data.get("attachment")
        if upload is not None:
            form.instance.attachment_key = await storage(app).save(upload)
            form.instance.attachment_name = upload.filename
        try:
            async with app.storage.transaction():
                order = await form.save()
                # Part of the same transaction: no order, no receipt; no receipt job, no
                # order. The second's delay lets the new row reach every page before its
                # receipt update.
                await SendReceipt.enqueue({"order_id": order.id}, run_in=1)
        except BaseException:
            # no order (a file name the model refuses, the database down...): no stored file
            if form.instance.attachment_key:
                with trio.CancelScope(shield=True):
                    await storage(app).delete(form.instance.attachment_key)
            raise
        await views.broadcast_order(app, order.id, created=True)
        message = f"Order #{order.id} for {order.customer} created."
        if not accepts_turbo_stream(request):
            flash(request, message)  # shown once, by the page the redirect leads to
            return see_other("/orders")
        flash.now(request, message)
        row = await views.find_order(order.id)
        assert row is not None
        return (TurboStream()
                .prepend("orders", views.order_row(app, row))
                .update("order-count", str(await views.order_count()))
                .replace("order-form", views.order_form(OrderForm()))
                .update("flash", Markup(render_flash(request)))
                .response())


class OrderAttachment(Controller):
    """``GET /orders/<id>/attachment``: the file attached to an order, for signed-in users."""

    def auth(self) -> SessionAuth:
        return SessionAuth.redirect("/login")

    async def get(self, request: Request) -> Response:
        order = await Order.find(request.path_params["id"]).fetch_optional()
        if order is None or not order.attachment_key:
            return Response.text("this order has no attachment", 404)
        async with await storage(request.app).open(order.attachment_key) as f:
            data = await f.read()
        response = Response(data, content_type="application/octet-stream")
        response.headers["content-disposition"] = _attachment(order.attachment_name or "file")
        return response


def _attachment(filename: str) -> str:
    """A ``Content-Disposition`` naming ``filename`` safely (RFC 6266 with RFC 5987)."""
    fallback = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_"
                       for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


class ShipOrder(Controller):
    """``POST /orders/<id>/ship``: mark an order shipped; every open page sees it."""

    def auth(self) -> SessionAuth:
        return SessionAuth.redirect("/login")

    async def post(self, request: Request) -> Response:
        app = request.app
        order_id = request.path_params["id"]
        shipped = await Order.waiting().filter(id=order_id).update_all(status="shipped")
        if shipped:
            await views.broadcast_order(app, order_id)
        if not accepts_turbo_stream(request):
            return Response.redirect("/orders", 303)
        order = await views.find_order(order_id)
        if order is None:
            return Response.text(f"no order {order_id}", 404)
        return TurboStream().replace(f"order_{order_id}", views.order_row(app, order)).response()


class Outbox(Controller):
    """The outbox panel, loaded lazily into a ``<turbo-frame id="outbox">``."""

    def auth(self) -> SessionAuth:
        return SessionAuth.redirect("/login")

    async def get(self, request: Request) -> Response:
        messages = await views.recent_outbox()
        return await self.render("outbox/frame.html", messages=messages)

"""Pages of the order tracker: quick-start, login/logout, orders (Turbo), the outbox frame."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from rum import Controller, Request, Response
from rum_ratelimit import RateLimiter
from rum_sessions import SessionAuth
from rum_turbo import TurboStream, accepts_turbo_stream
from tracker import views
from tracker.jobs import SendReceipt
from tracker.models import Order, User
from tracker.passwords import check_password


class Hello(Controller):
    """The seed framework's quick-start page, kept as it was."""

    async def handle(self, request: Request) -> Response:
        return Response.html("<h1>Hey Rum!</h1>")


class LoginAttempts(RateLimiter):
    """Rate-limits login *attempts* (POSTs); showing the form is never limited."""

    async def handle_request(self, request: Request) -> Response | None:
        if request.method != "POST":
            return None
        return await super().handle_request(request)


async def current_user(request: Request) -> User | None:
    """The logged-in user (``request.user`` is the id the session holds)."""
    if request.user is None:
        return None
    return await User.find(request.user).fetch_optional()


class Login(Controller):
    """``GET`` shows the form; ``POST`` checks the password and starts the session."""

    def __init__(self, attempts_per_minute: int = 10) -> None:
        self.attempts_per_minute = attempts_per_minute

    def middleware(self) -> list[Any]:
        return [LoginAttempts(per="client", rate=self.attempts_per_minute, window=60)]

    async def get(self, request: Request) -> Response:
        return await self.render("login.html", title="Sign in", error=None, email="",
                                 user=None)

    async def post(self, request: Request) -> Response:
        form = await request.form()
        email = form.get("email", "")
        user = await User.with_email(email).fetch_optional()
        if user is None or not await check_password(form.get("password", ""),
                                                    user.password_hash):
            response = await self.render("login.html", title="Sign in", user=None,
                                         error="Wrong e-mail or password.", email=email)
            response.status = 422  # Turbo shows re-rendered forms only for 4xx answers
            return response
        return await request.login(user.id, Response.redirect("/orders", 303))


class Logout(Controller):
    """Ends the session (a POST with the CSRF token, from the layout's button)."""

    async def post(self, request: Request) -> Response:
        return await request.logout(Response.redirect("/login", 303))


def parse_order(form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Validated order fields from a form, and per-field error messages."""
    values = {k: form.get(k, "").strip() for k in ("customer", "item", "quantity", "total")}
    errors: dict[str, str] = {}
    for key in ("customer", "item"):
        if not values[key]:
            errors[key] = "can't be blank"
        elif len(values[key]) > 200:
            errors[key] = "is too long (200 characters at most)"
    try:
        quantity = int(values["quantity"] or "1")
        if quantity < 1:
            raise ValueError
    except ValueError:
        errors["quantity"] = "must be a whole number of at least 1"
        quantity = None
    try:
        total = Decimal(values["total"])
        if not total.is_finite() or total < 0 or total >= Decimal("1e8"):
            raise InvalidOperation
        total = total.quantize(Decimal("0.01"))
    except InvalidOperation:
        errors["total"] = "must be an amount like 12.50"
        total = None
    return {**values, "quantity": quantity, "total": total}, errors


class Orders(Controller):
    """The orders page (``GET``) and the order form (``POST``, answered with a Turbo Stream)."""

    def auth(self) -> SessionAuth:
        return SessionAuth.redirect("/login")

    async def get(self, request: Request) -> Response:
        return await self.render(
            "orders/index.html", title="Orders", user=await current_user(request),
            orders=await views.recent_orders(), count=await views.order_count(),
            **views.form_context())

    async def post(self, request: Request) -> Response:
        app = request.app
        db = app.storage
        form_data = await request.form()
        values, errors = parse_order(form_data)
        if errors:  # show what was typed, with the errors next to it
            typed = {k: form_data.get(k, "") for k in views.FORM_FIELDS}
            form = views.order_form(app, typed, errors)
            if accepts_turbo_stream(request):
                return TurboStream().replace("order-form", form).response(status=422)
            return Response.html(str(form), status=422)
        async with db.transaction():
            order = await Order.create(user_id=request.user, **values)
            # Part of the same transaction: no order, no receipt; no receipt job, no order.
            # The second's delay lets the new row reach every page before its receipt update.
            await SendReceipt.enqueue({"order_id": order.id}, run_in=1)
        await views.broadcast_order(app, order.id, created=True)
        if not accepts_turbo_stream(request):
            return Response.redirect("/orders", 303)
        row = await views.find_order(order.id)
        assert row is not None
        return (TurboStream()
                .prepend("orders", views.order_row(app, row))
                .update("order-count", str(await views.order_count()))
                .replace("order-form", views.order_form(app))
                .response())


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

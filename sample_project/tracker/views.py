"""Queries and rendered fragments shared by controllers and jobs (rows, counters, outbox)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from rum import current_app
from rum_turbo import broadcast_stream, turbo_stream
from tracker.models import Order, OutboxMessage, User

if TYPE_CHECKING:
    from rum import App

#: The Turbo Stream every orders page subscribes to.
ORDERS_STREAM = "orders"

async def order_rows(orders: list[Order]) -> list[dict[str, Any]]:
    """What the row partial shows for ``orders``: each order's columns, who took it and
    whether its receipt went out (three queries however many orders)."""
    if not orders:
        return []
    users = {u.id: u for u in await Order.related(User, orders).fetch_all()}
    sent = {m.order_id for m in
            await OutboxMessage.receipts_for([o.id for o in orders]).fetch_all()}
    return [{**o.to_dict(), "taken_by": users[o.user_id].name, "receipt_sent": o.id in sent}
            for o in orders]


async def recent_orders(limit: int = 50) -> list[dict[str, Any]]:
    """The newest orders, as rows."""
    return await order_rows(await Order.newest_first().limit(limit).fetch_all())


async def find_order(order_id: int) -> dict[str, Any] | None:
    """One order as a row, or ``None``."""
    order = await Order.find(order_id).fetch_optional()
    return (await order_rows([order]))[0] if order is not None else None


async def order_count() -> int:
    """How many orders exist."""
    return await Order.all().count()


async def recent_outbox(limit: int = 8) -> list[dict[str, Any]]:
    """The newest outbox messages."""
    return [m.to_dict() for m in await OutboxMessage.newest_first().limit(limit).fetch_all()]


def order_form(form: Any) -> Markup:
    """The order form (an ``OrderForm``), filled with what was typed and showing its errors;
    rendered during the request, so it carries the request's CSRF field."""
    return render(current_app(), "orders/_form.html", form=form)


def render(app: App, template: str, **context: Any) -> Markup:
    """A template rendered to trusted markup (for Turbo Stream actions)."""
    return Markup(app.extensions["templates"].render(template, context))


def order_row(app: App, order: dict[str, Any]) -> Markup:
    """The ``<tr id="order_N">`` of one order."""
    return render(app, "orders/_order.html", order=order)


async def broadcast_order(app: App, order_id: int, *, created: bool = False) -> None:
    """Push one order's row to every open orders page: prepended when new, else replaced.

    Turbo replaces a prepended element whose id is already on the page, so the browser that
    created the order (and got the row in its form response) does not show it twice.
    """
    order = await find_order(order_id)
    if order is None:
        return
    row = order_row(app, order)
    if created:
        await broadcast_stream(ORDERS_STREAM, turbo_stream.prepend("orders", row),
                               turbo_stream.update("order-count", str(await order_count())),
                               app=app)
    else:
        await broadcast_stream(ORDERS_STREAM, turbo_stream.replace(f"order_{order_id}", row),
                               app=app)


async def broadcast_outbox(app: App) -> None:
    """Refresh the outbox panel on every open orders page."""
    messages = await recent_outbox()
    html = render(app, "outbox/_messages.html", messages=messages)
    await broadcast_stream(ORDERS_STREAM, turbo_stream.update("outbox-messages", html), app=app)

"""Queries and rendered fragments shared by controllers and jobs (rows, counters, outbox)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from rum_turbo import broadcast_stream, turbo_stream

if TYPE_CHECKING:
    from rum import App

#: The Turbo Stream every orders page subscribes to.
ORDERS_STREAM = "orders"

ORDER_COLUMNS = """
    o.id, o.customer, o.item, o.quantity, o.total, o.status, o.created_at,
    u.name AS taken_by,
    EXISTS (SELECT 1 FROM outbox m WHERE m.order_id = o.id AND m.kind = 'receipt')
        AS receipt_sent
"""


async def recent_orders(db: Any, limit: int = 50) -> list[dict[str, Any]]:
    """The newest orders with who took them and whether the receipt went out."""
    rows = await db.fetch(f"SELECT {ORDER_COLUMNS} FROM orders o JOIN users u "
                          "ON u.id = o.user_id ORDER BY o.id DESC LIMIT $1", limit)
    return [dict(r) for r in rows]


async def find_order(db: Any, order_id: int) -> dict[str, Any] | None:
    """One order as the row partial shows it."""
    row = await db.fetchrow(f"SELECT {ORDER_COLUMNS} FROM orders o JOIN users u "
                            "ON u.id = o.user_id WHERE o.id = $1", order_id)
    return dict(row) if row is not None else None


async def order_count(db: Any) -> int:
    """How many orders exist."""
    return int(await db.fetchval("SELECT count(*) FROM orders"))


async def recent_outbox(db: Any, limit: int = 8) -> list[dict[str, Any]]:
    """The newest outbox messages."""
    rows = await db.fetch("SELECT id, kind, order_id, recipient, subject, body, created_at "
                          "FROM outbox ORDER BY id DESC LIMIT $1", limit)
    return [dict(r) for r in rows]


FORM_FIELDS = ("customer", "item", "quantity", "total")


def order_form(app: App, values: dict[str, Any] | None = None,
               errors: dict[str, str] | None = None) -> Markup:
    """The order form, filled with ``values`` and showing ``errors`` next to their fields."""
    return render(app, "orders/_form.html", **form_context(values, errors))


def form_context(values: dict[str, Any] | None = None,
                 errors: dict[str, str] | None = None) -> dict[str, Any]:
    """Every field present in both mappings (templates refuse unknown keys)."""
    filled = {"customer": "", "item": "", "quantity": 1, "total": ""}
    filled.update({k: v for k, v in (values or {}).items() if v not in (None, "")})
    return {"values": filled, "errors": {k: (errors or {}).get(k) for k in FORM_FIELDS}}


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
    db = app.storage
    order = await find_order(db, order_id)
    if order is None:
        return
    row = order_row(app, order)
    if created:
        await broadcast_stream(ORDERS_STREAM, turbo_stream.prepend("orders", row),
                               turbo_stream.update("order-count", str(await order_count(db))),
                               app=app)
    else:
        await broadcast_stream(ORDERS_STREAM, turbo_stream.replace(f"order_{order_id}", row),
                               app=app)


async def broadcast_outbox(app: App) -> None:
    """Refresh the outbox panel on every open orders page."""
    messages = await recent_outbox(app.storage)
    html = render(app, "outbox/_messages.html", messages=messages)
    await broadcast_stream(ORDERS_STREAM, turbo_stream.update("outbox-messages", html), app=app)

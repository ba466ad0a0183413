"""Background jobs: a receipt e-mail per order and a periodic summary, both "sent" to the
``outbox`` table (a real app would hand them to an SMTP server here).

``[jobs] modules = ["tracker.jobs"]`` in ``Rum.toml`` makes them known to the in-app worker
(``[jobs] run_worker_in_app = true``) and to ``rum worker``.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from rum import current_app
from rum_jobs import Job, Unique
from tracker import views
from tracker.models import Order, OutboxMessage

logger = logging.getLogger("rum.tracker.jobs")


class SendReceipt(Job):
    """Write the receipt e-mail of one order to the outbox, then update the open pages."""

    max_attempts = 5
    unique = Unique(by=("job", "args"))

    async def execute(self, args: dict[str, Any]) -> dict[str, Any]:
        order = await Order.find(args["order_id"]).fetch_optional()
        if order is None:
            return {"skipped": "order deleted"}
        user = await order.user.fetch()
        body = (f"Hello {user.name},\n\n"
                f"order #{order.id} for {order.customer} is recorded:\n"
                f"  {order.quantity} x {order.item}, total {order.total}\n")
        # At-least-once delivery: a retried job finds the receipt there already (unique index).
        sent = await OutboxMessage.find_by_sql(
            "INSERT INTO outbox (kind, order_id, recipient, subject, body) "
            "VALUES ('receipt', $1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING *",
            [order.id, user.email, f"Receipt for order #{order.id}", body]).fetch_optional()
        app = current_app()
        await views.broadcast_order(app, order.id)  # the row's receipt: pending -> sent
        await views.broadcast_outbox(app)
        logger.info("receipt for order %s written to the outbox", order.id)
        return {"outbox_id": sent.id if sent is not None else None}


class OrderSummary(Job):
    """Summarise the orders of the last 24 hours into one outbox message (a cron job)."""

    async def execute(self, args: Any) -> dict[str, Any]:
        day_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=24)
        orders = await Order.since(day_ago).fetch_all()
        total = sum((o.total for o in orders), Decimal("0.00"))
        await OutboxMessage.create(
            kind="summary", recipient="team@example.com", subject="Order summary",
            body=f"{len(orders)} orders in the last 24 hours, worth {total} in total.\n")
        await views.broadcast_outbox(current_app())
        return {"orders": len(orders), "total": str(total)}

"""Background jobs: a receipt e-mail per order and a periodic summary, both "sent" to the
``outbox`` table (a real app would hand them to an SMTP server here).

``[jobs] modules = ["tracker.jobs"]`` in ``Rum.toml`` makes them known to the in-app worker
(``[jobs] run_worker_in_app = true``) and to ``rum worker``.
"""

from __future__ import annotations

import logging
from typing import Any

from rum import current_app
from rum_jobs import Job, Unique
from tracker import views

logger = logging.getLogger("rum.tracker.jobs")


class SendReceipt(Job):
    """Write the receipt e-mail of one order to the outbox, then mark the row live."""

    max_attempts = 5
    unique = Unique(by=("job", "args"))

    async def execute(self, args: dict[str, Any]) -> dict[str, Any]:
        db = current_app().storage
        order = await db.fetchrow(
            "SELECT o.*, u.email, u.name AS user_name FROM orders o "
            "JOIN users u ON u.id = o.user_id WHERE o.id = $1", args["order_id"])
        if order is None:
            return {"skipped": "order deleted"}
        body = (f"Hello {order['user_name']},\n\n"
                f"order #{order['id']} for {order['customer']} is recorded:\n"
                f"  {order['quantity']} x {order['item']}, total {order['total']}\n")
        sent = await db.fetchval(
            "INSERT INTO outbox (kind, order_id, recipient, subject, body) "
            "VALUES ('receipt', $1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id",
            order["id"], order["email"], f"Receipt for order #{order['id']}", body)
        await views.broadcast_order(current_app(), order["id"])  # receipt: pending -> sent
        await views.broadcast_outbox(current_app())
        logger.info("receipt for order %s written to the outbox", order["id"])
        return {"outbox_id": sent}


class OrderSummary(Job):
    """Summarise the orders of the last 24 hours into one outbox message (a cron job)."""


    async def execute(self, args: Any) -> dict[str, Any]:
        db = current_app().storage
        row = await db.fetchrow(
            "SELECT count(*) AS n, coalesce(sum(total), 0) AS total FROM orders "
            "WHERE created_at > now() - interval '24 hours'")
        body = f"{row['n']} orders in the last 24 hours, worth {row['total']} in total.\n"
        await db.execute(
            "INSERT INTO outbox (kind, recipient, subject, body) "
            "VALUES ('summary', 'team@example.com', 'Order summary', $1)", body)
        await views.broadcast_outbox(current_app())
        return {"orders": row["n"], "total": str(row["total"])}

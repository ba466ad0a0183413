"""The tracker's mail: a receipt per order (sent by the ``SendReceipt`` job).

Where it goes is ``[mail] backend``: in development the file backend writes each message as an
``.eml`` file under ``tmp/mail/`` and logs its path; in production SMTP (see Rum.toml).
"""

from __future__ import annotations

from rum_mail import Mail, Mailer
from tracker.models import Order, User


class ReceiptMailer(Mailer):
    """Receipts for customers' orders."""

    default_from = "Rum order tracker <orders@example.com>"

    def receipt(self, order: Order, user: User) -> Mail:
        """The receipt of ``order``, to the user who took it (text and HTML parts)."""
        return self.mail(to=f"{user.name} <{user.email}>", subject=f"Receipt for order #{order.id}",
                         template="receipt_mailer/receipt",
                         context={"order": order.to_dict(), "user_name": user.name})

"""The tracker's mail: a receipt per order (sent by the ``SendReceipt`` job) and the
password-reset link (from ``rum generate auth``).

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
        return self.mail(to=(user.name, user.email), subject=f"Receipt for order #{order.id}",
                         template="receipt_mailer/receipt",
                         context={"order": order.to_dict(), "user_name": user.name})


class PasswordMailer(Mailer):
    """The password-reset link (links use ``[mail] base_url``)."""

    default_from = "Rum order tracker <no-reply@example.com>"

    def reset(self, user: User, token: str, *, expires_in: int) -> Mail:
        """The mail with a link to choose a new password (``token`` from ``make_token``,
        valid ``expires_in`` seconds)."""
        assert self.app is not None
        url = self.absolute_url(self.app.url_for("password_reset", token=token))
        return self.mail(to=(user.name, user.email), subject="Reset your password",
                         template="password_mailer/reset",
                         context={"user": user, "url": url, "minutes": expires_in // 60})

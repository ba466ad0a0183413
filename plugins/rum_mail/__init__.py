"""Rum mail: mailer classes with ERB templates, delivered now or later through the job queue.

::

    from rum_mail import Mail, Mailer

    class OrderMailer(Mailer):
        default_from = "Shop <shop@example.com>"

        def receipt(self, order) -> Mail:
            return self.mail(to=order.email, subject=f"Receipt #{order.id}",
                             template="order_mailer/receipt", context={"order": order})

    await OrderMailer().receipt(order).deliver_later()   # or deliver_now()

See docs/mail.md; test helpers are in :mod:`rum_mail.testing`.
"""

from rum_mail.backend import MailBackend
from rum_mail.delivery import deliver_later, deliver_now
from rum_mail.envelope import Envelope
from rum_mail.errors import HeaderInjectionError, InvalidAddress, MailDeliveryError, MailError
from rum_mail.filebackend import FileBackend
from rum_mail.job import DeliverMail
from rum_mail.mailer import Mailer
from rum_mail.message import Attachment, Mail
from rum_mail.smtp import SmtpBackend
from rum_mail.state import MailState, backend_of, mail_state
from rum_mail.testbackend import TestBackend

__all__ = [
    "Attachment",
    "DeliverMail",
    "Envelope",
    "FileBackend",
    "HeaderInjectionError",
    "InvalidAddress",
    "Mail",
    "MailBackend",
    "MailDeliveryError",
    "MailError",
    "MailState",
    "Mailer",
    "SmtpBackend",
    "TestBackend",
    "backend_of",
    "deliver_later",
    "deliver_now",
    "mail_state",
]

"""The backend interface: anything with ``async def send(envelope)``."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from rum_mail.envelope import Envelope


@runtime_checkable
class MailBackend(Protocol):
    """Delivers built messages. ``[mail] backend`` picks one of the shipped backends
    (:class:`~rum_mail.SmtpBackend`, :class:`~rum_mail.FileBackend`,
    :class:`~rum_mail.TestBackend`); a plugin may put its own in
    ``app.extensions["mail"].backend`` (e.g. an HTTP API provider's) after ``rum_configure``.

    ``send`` raises :class:`~rum_mail.MailDeliveryError` when delivery fails (``permanent``
    for a refusal that a retry cannot fix).
    """

    async def send(self, envelope: Envelope) -> None:
        """Deliver one message to ``envelope.recipients``."""

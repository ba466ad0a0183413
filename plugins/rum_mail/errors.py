"""The mail plugin's errors: each names the header, address or setting at fault and the fix."""

from __future__ import annotations

from rum.errors import RumError, UnprocessableEntity


class MailError(RumError):
    """Base class of the mail plugin's errors (a message that cannot be built or sent)."""


class HeaderInjectionError(MailError, UnprocessableEntity, ValueError):
    """A header value holds a line break (``\\r`` or ``\\n``), which would let it add headers
    of its own (``Bcc:``...) or end the header block: refused, never cleaned up silently.

    Raised while handling a request (user input passed on unchecked), it answers 422 with
    its message instead of a 500.
    """


class InvalidAddress(MailError, UnprocessableEntity, ValueError):
    """An address that is not ``user@example.com`` or ``Name <user@example.com>`` (a 422
    when raised while handling a request)."""


class MailDeliveryError(MailError):
    """A backend could not deliver a message.

    ``permanent`` is true when the server refused it for good (a 5xx reply: unknown
    recipient, message rejected); the ``DeliverMail`` job then stops retrying and keeps the
    job as ``discarded`` with this message. Other failures (connection refused, timeouts,
    4xx replies) are retried by the job queue.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent

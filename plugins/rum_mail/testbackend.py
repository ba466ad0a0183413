"""The test backend: messages are kept in memory, in the app's outbox."""

from __future__ import annotations

import logging

from rum_mail.envelope import Envelope

logger = logging.getLogger("rum.mail")


class TestBackend:
    """Keeps every delivered :class:`~rum_mail.Envelope` in :attr:`outbox` (per app; read it
    with :func:`rum_mail.testing.outbox` and :func:`rum_mail.testing.assert_mail_sent`)."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.outbox: list[Envelope] = []

    async def send(self, envelope: Envelope) -> None:
        """Append ``envelope`` to the outbox."""
        self.outbox.append(envelope)
        logger.debug("mail %r to %s kept in the test outbox", envelope.subject,
                     ", ".join(envelope.recipients))

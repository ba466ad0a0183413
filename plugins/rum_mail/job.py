"""``DeliverMail``: the built-in job behind ``Mail.deliver_later()``."""

from __future__ import annotations

from typing import Any

from rum.context import current_app
from rum_jobs import Discard, Job
from rum_mail.envelope import Envelope
from rum_mail.errors import MailDeliveryError, MailError
from rum_mail.state import backend_of


class DeliverMail(Job):
    """Sends one stored message through the app's backend.

    Its arguments are the message's bytes and envelope (:meth:`Envelope.to_job_args`): the
    mail was rendered when it was enqueued, so a retry sends the very same message (same
    Message-ID). A failed attempt is retried with backoff (5 s, 10 s, 20 s... up to 8
    attempts); a permanent refusal (a 5xx reply) ends as ``discarded`` with the server's
    answer. The mail plugin registers it with ``app.jobs`` so every worker of the app runs it.
    """

    name = "rum_mail.DeliverMail"
    max_attempts = 8
    backoff_base = 5.0

    async def execute(self, args: Any) -> Any:
        """Deliver the stored message; a JSON summary is kept as the job's result."""
        envelope = Envelope.from_job_args(args)
        app = current_app()
        if app is None:
            raise MailError("DeliverMail sends through an app's [mail] backend, and no app is "
                            "running: run it with `rum worker`, [jobs] run_worker_in_app, or "
                            "drain() inside `async with app.running()`")
        try:
            await backend_of(app).send(envelope)
        except MailDeliveryError as exc:
            if exc.permanent:
                return Discard(str(exc))
            raise
        return {"message_id": envelope.message_id, "recipients": list(envelope.recipients)}

"""Delivering an envelope now (through the app's backend) or later (through the job queue)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rum.context import current_app
from rum_mail.backend import MailBackend
from rum_mail.envelope import Envelope
from rum_mail.errors import MailError
from rum_mail.job import DeliverMail
from rum_mail.state import backend_of, mail_state

if TYPE_CHECKING:
    from rum import App


async def deliver_now(envelope: Envelope, *, app: App | None = None,
                      backend: MailBackend | None = None) -> None:
    """Send ``envelope`` through ``backend`` (default: the app's ``[mail] backend``)."""
    await (backend if backend is not None else backend_of(app)).send(envelope)


async def deliver_later(envelope: Envelope, *, app: App | None = None, db: Any = None,
                        **options: Any) -> int:
    """Enqueue a :class:`DeliverMail` job for ``envelope``; its id.

    Inside ``async with db.transaction():`` the job joins that transaction (rolled back → no
    mail). ``options`` are ``Job.enqueue``'s (``run_in``, ``priority``, ``queue``...); the
    queue defaults to ``[mail] queue``.
    """
    app = app if app is not None else current_app()
    if app is not None:
        if app.plugins.pm.get_plugin("jobs") is None:
            raise MailError(f"deliver_later() needs the jobs plugin: add \"jobs\" to [plugins] "
                            f"enabled in {app.config.describe_file()} and run a worker, or "
                            f"use deliver_now()")
        options.setdefault("queue", mail_state(app).queue)
    return await DeliverMail.enqueue(envelope.to_job_args(), db=db, **options)

"""The app's mail state (``app.extensions["mail"]``) and how code finds it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rum.context import current_app
from rum_mail.backend import MailBackend
from rum_mail.errors import MailError

if TYPE_CHECKING:
    from rum import App


@dataclass
class MailState:
    """What ``[mail]`` configured for one app.

    ``backend`` delivers (replaceable: assign another :class:`~rum_mail.MailBackend`),
    ``backend_name`` is the configured kind, ``default_from`` the fallback sender,
    ``base_url`` the origin for absolute links in mail, ``queue`` the job queue of
    ``deliver_later``.
    """

    backend: MailBackend
    backend_name: str = "test"
    default_from: str = ""
    base_url: str = ""
    queue: str = "default"


def mail_state(app: App | None = None) -> MailState:
    """The mail state of ``app`` (default: the running app), else a clear error."""
    app = app if app is not None else current_app()
    if app is None:
        raise MailError("no app is running: deliver mail inside a request, a job, or "
                        "`async with app.running()`, or pass backend= to deliver_now()")
    state = app.extensions.get("mail")
    if not isinstance(state, MailState):
        raise MailError(f"the mail plugin is not enabled: add \"mail\" to [plugins] enabled "
                        f"in {app.config.describe_file()}")
    return state


def backend_of(app: App | None = None) -> MailBackend:
    """The backend that delivers the mail of ``app`` (default: the running app)."""
    return mail_state(app).backend

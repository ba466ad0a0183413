"""Test helpers for code that sends mail: the app's outbox and assertions on it.

With ``[mail] backend = "test"`` (the default when ``env = "test"``) delivered mail is kept in
memory per app::

    from rum_mail.testing import assert_mail_sent, outbox

    async with app.running():
        await OrderMailer().receipt(order).deliver_now()
        sent = assert_mail_sent(to="ada@example.com", subject="Receipt #1")
        assert "Total" in sent.text

``deliver_later()`` enqueues a job: run it first (``rum_jobs.testing.drain()``), then assert.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rum_mail.envelope import Envelope
from rum_mail.errors import MailError
from rum_mail.state import mail_state
from rum_mail.testbackend import TestBackend

if TYPE_CHECKING:
    from rum import App

__all__ = ["assert_mail_sent", "clear_outbox", "outbox", "refute_mail_sent", "sent_mail"]


def _backend(app: App | None) -> TestBackend:
    state = mail_state(app)
    if not isinstance(state.backend, TestBackend):
        raise MailError(f"the outbox is the test backend's, but this app delivers with "
                        f"{type(state.backend).__name__}: set [mail] backend = \"test\" (the "
                        f"default when env = \"test\")")
    return state.backend


def outbox(app: App | None = None) -> list[Envelope]:
    """Every message delivered so far by ``app`` (default: the running app), oldest first.
    The list is live: clear it with :func:`clear_outbox`."""
    return _backend(app).outbox


def clear_outbox(app: App | None = None) -> None:
    """Forget the messages delivered so far."""
    _backend(app).outbox.clear()


def sent_mail(*, to: str | None = None, cc: str | None = None, bcc: str | None = None,
              subject: str | re.Pattern[str] | None = None, sender: str | None = None,
              text: str | None = None, html: str | None = None,
              app: App | None = None) -> list[Envelope]:
    """The delivered messages matching every criterion given.

    ``to``/``cc``/``bcc``: an address among the message's To / Cc / blind recipients
    (case-insensitive); ``subject``: the exact subject, or a compiled regex searched in it;
    ``sender``: the envelope sender; ``text``/``html``: a substring of that body.
    """
    def matches(mail: Envelope) -> bool:
        for wanted, found in ((to, mail.to), (cc, mail.cc), (bcc, mail.bcc)):
            if wanted is not None and wanted.lower() not in {a.lower() for a in found}:
                return False
        if isinstance(subject, re.Pattern):
            if not subject.search(mail.subject):
                return False
        elif subject is not None and mail.subject != subject:
            return False
        if sender is not None and mail.sender.lower() != sender.lower():
            return False
        if text is not None and text not in (mail.text or ""):
            return False
        return html is None or html in (mail.html or "")

    return [mail for mail in outbox(app) if matches(mail)]


def assert_mail_sent(*, count: int | None = None, app: App | None = None,
                     **criteria: str | re.Pattern[str] | None) -> Envelope:
    """Assert that a delivered message matches ``criteria`` (those of :func:`sent_mail`) —
    exactly ``count`` of them when given — and return the newest match. The failure message
    lists the outbox."""
    if count is not None and count < 1:
        raise ValueError(f"assert_mail_sent(count={count}): to check that no mail was sent, "
                         f"use refute_mail_sent()")
    found = sent_mail(app=app, **criteria)  # type: ignore[arg-type]
    if (count is None and not found) or (count is not None and len(found) != count):
        wanted = ", ".join(f"{k}={v!r}" for k, v in criteria.items() if v is not None)
        amount = f"exactly {count}" if count is not None else "a"
        raise AssertionError(f"expected {amount} mail matching {wanted or 'anything'}, found "
                             f"{len(found)}; outbox: {_describe(outbox(app))}")
    return found[-1]


def refute_mail_sent(*, app: App | None = None, **criteria: str | re.Pattern[str] | None) -> None:
    """Assert that no delivered message matches ``criteria``."""
    found = sent_mail(app=app, **criteria)  # type: ignore[arg-type]
    if found:
        wanted = ", ".join(f"{k}={v!r}" for k, v in criteria.items() if v is not None)
        raise AssertionError(f"expected no mail matching {wanted or 'anything'}, found "
                             f"{len(found)}: {_describe(found)}")


def _describe(mails: list[Envelope]) -> str:
    if not mails:
        return "(empty)"
    return "; ".join(f"{m.subject!r} from {m.sender} to {', '.join(m.recipients)}"
                     for m in mails)


"""``Envelope``: a built message plus the SMTP envelope (sender and every recipient).

What backends send, what the test outbox holds, and what ``deliver_later`` stores in the job
queue (as the message's bytes, so a retry sends exactly what was built).
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

#: How messages are written: CRLF line endings, as SMTP and .eml readers expect.
WIRE_POLICY = email.policy.SMTP


@dataclass(frozen=True)
class Envelope:
    """One message ready to send.

    ``message`` is the :class:`email.message.EmailMessage` (never carrying a ``Bcc`` header),
    ``sender`` the envelope sender (``MAIL FROM``) and ``recipients`` every envelope recipient
    (To, Cc and Bcc addresses, bare ``user@host``). The properties read the message back
    (``subject``, ``to``, ``text``, ``html``...), which is handy in tests.
    """

    message: EmailMessage
    sender: str
    recipients: tuple[str, ...]

    # -- reading the message back -----------------------------------------------------------

    @property
    def subject(self) -> str:
        """The ``Subject`` header, decoded."""
        return str(self.message.get("Subject", ""))

    @property
    def message_id(self) -> str:
        """The ``Message-ID`` header (``<...@domain>``)."""
        return str(self.message.get("Message-ID", ""))

    @property
    def from_(self) -> str:
        """The ``From`` header."""
        return str(self.message.get("From", ""))

    @property
    def to(self) -> list[str]:
        """Bare addresses of the ``To`` header."""
        return self._header_addresses("To")

    @property
    def cc(self) -> list[str]:
        """Bare addresses of the ``Cc`` header."""
        return self._header_addresses("Cc")

    @property
    def bcc(self) -> list[str]:
        """Envelope recipients that appear in neither ``To`` nor ``Cc`` (the blind copies)."""
        shown = {a.lower() for a in [*self.to, *self.cc]}
        return [r for r in self.recipients if r.lower() not in shown]

    @property
    def reply_to(self) -> list[str]:
        """Bare addresses of the ``Reply-To`` header."""
        return self._header_addresses("Reply-To")

    @property
    def text(self) -> str | None:
        """The plain-text body with ``\\n`` line ends (``None`` when the message has only
        HTML)."""
        return self._body("plain")

    @property
    def html(self) -> str | None:
        """The HTML body (``None`` when the message is text only)."""
        return self._body("html")

    @property
    def attachments(self) -> list[tuple[str, str, bytes]]:
        """``(filename, content type, content)`` of each attachment."""
        out = []
        for part in self.message.iter_attachments():
            assert isinstance(part, EmailMessage)
            content = part.get_payload(decode=True)
            out.append((part.get_filename() or "", part.get_content_type(),
                        content if isinstance(content, bytes) else b""))
        return out

    def _header_addresses(self, name: str) -> list[str]:
        values = [str(v) for v in self.message.get_all(name, [])]
        return [addr for _, addr in getaddresses(values) if addr]

    def _body(self, subtype: str) -> str | None:
        part = self.message.get_body(preferencelist=(subtype,))
        if part is None or part.get_content_subtype() != subtype:
            return None
        return str(part.get_content()).replace("\r\n", "\n")  # as written, not as sent

    # -- bytes --------------------------------------------------------------------------------

    def as_bytes(self) -> bytes:
        """The message as sent on the wire and written to ``.eml`` files (CRLF lines)."""
        return self.message.as_bytes(policy=WIRE_POLICY)

    def to_job_args(self) -> dict[str, Any]:
        """What the ``DeliverMail`` job stores: the message's bytes and the envelope."""
        return {"message": self.as_bytes(), "sender": self.sender,
                "recipients": list(self.recipients)}

    @classmethod
    def from_job_args(cls, args: Any) -> Envelope:
        """The envelope :meth:`to_job_args` stored."""
        try:
            data, sender, recipients = args["message"], args["sender"], args["recipients"]
        except (KeyError, TypeError):
            raise ValueError(f"not a stored mail: expected message, sender and recipients, "
                             f"got {args!r:.200}") from None
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return cls(message, str(sender), tuple(str(r) for r in recipients))

    def __repr__(self) -> str:
        return (f"<Envelope {self.subject!r} from {self.sender} to "
                f"{', '.join(self.recipients)}>")

"""``Mail``: one message (addresses, subject, text and HTML bodies, attachments), checked when
it is made and built with the standard library's :mod:`email` package."""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rum_mail import delivery
from rum_mail.envelope import Envelope
from rum_mail.errors import InvalidAddress, MailError
from rum_mail.headers import addr_spec, address, addresses, header_name, one_line

if TYPE_CHECKING:
    from rum import App
    from rum_mail.backend import MailBackend

Addresses = str | tuple[str, str] | Iterable[str | tuple[str, str]] | None


@dataclass(frozen=True)
class Attachment:
    """A file attached to a mail: its ``filename``, ``content`` (bytes; a string is encoded
    as UTF-8) and ``mimetype`` (guessed from the filename when empty)."""

    filename: str
    content: bytes
    mimetype: str = ""

    def __post_init__(self) -> None:
        one_line("attachment filename", self.filename)
        if not self.filename or "/" in self.filename or "\\" in self.filename:
            raise MailError(f"attachment filename {self.filename!r} must be a plain file name "
                            f"(no directories)")
        if "=?" in self.filename:  # the email package would decode it: "../x" in disguise
            raise MailError(f"attachment filename {self.filename!r} holds an RFC 2047 encoded "
                            f"word (=?...?=); pass the plain name (Rum encodes non-ASCII names "
                            f"itself)")
        if isinstance(self.content, str):
            object.__setattr__(self, "content", self.content.encode("utf-8"))
        if not isinstance(self.content, bytes | bytearray | memoryview):
            raise MailError(f"attachment {self.filename!r}: content must be bytes or str, got "
                            f"{type(self.content).__name__}")
        mimetype = self.mimetype or mimetypes.guess_type(self.filename)[0] or \
            "application/octet-stream"
        if mimetype.count("/") != 1:
            raise MailError(f"attachment {self.filename!r}: {mimetype!r} is not a MIME type "
                            f"like 'application/pdf'")
        object.__setattr__(self, "mimetype", one_line("attachment type", mimetype))

    @classmethod
    def from_path(cls, path: str | Path, *, filename: str | None = None,
                  mimetype: str = "") -> Attachment:
        """An attachment read from ``path`` (blocking: call it from a worker thread for big
        files, or read the bytes yourself)."""
        path = Path(path)
        return cls(filename or path.name, path.read_bytes(), mimetype)


class Mail:
    """A message ready to deliver: ``await mail.deliver_now()`` or
    ``await mail.deliver_later()``.

    Made by :meth:`Mailer.mail <rum_mail.Mailer.mail>` (or directly). Every address and
    header is checked here: a line break in any of them is a
    :class:`~rum_mail.HeaderInjectionError`, a malformed address an
    :class:`~rum_mail.InvalidAddress`. ``Date`` and ``Message-ID`` are fixed when the mail is
    made; :attr:`message` builds the :class:`email.message.EmailMessage`:
    ``multipart/alternative`` when there are text and HTML bodies, inside
    ``multipart/mixed`` when there are attachments.
    """

    def __init__(self, *, to: Addresses = None, subject: str, from_: str,
                 cc: Addresses = None, bcc: Addresses = None, reply_to: Addresses = None,
                 text: str | None = None, html: str | None = None,
                 attachments: Iterable[Attachment] | Mapping[str, bytes | str] = (),
                 headers: Mapping[str, str] | None = None, app: App | None = None) -> None:
        if not from_:
            raise InvalidAddress("the mail has no sender: set default_from on the mailer "
                                 "class or [mail] default_from in Rum.toml, or pass from_=")
        self.from_ = address("From", from_)
        self.to = addresses("To", to)
        self.cc = addresses("Cc", cc)
        self.bcc = addresses("Bcc", bcc)
        self.reply_to = addresses("Reply-To", reply_to)
        if not (self.to or self.cc or self.bcc):
            raise InvalidAddress("the mail has no recipient: pass to= (or cc=/bcc=)")
        self.subject = one_line("Subject", subject)
        if text is None and html is None:
            raise MailError("the mail has no body: pass text= and/or html=, or a template=")
        self.text = text
        self.html = html
        self.headers = {header_name(k): one_line(k, v) for k, v in (headers or {}).items()}
        self.attachments: list[Attachment] = []
        items = attachments.items() if isinstance(attachments, Mapping) else attachments
        for item in items:
            if isinstance(item, Attachment):
                self.attachments.append(item)
            else:
                self.attach(*item)
        self.date = dt.datetime.now(dt.UTC)
        self.message_id = make_msgid(domain=addr_spec(self.from_).rpartition("@")[2])
        self.app = app

    def attach(self, filename: str, content: bytes | str, mimetype: str = "") -> Mail:
        """Add an attachment (returns the mail, so calls chain)."""
        self.attachments.append(Attachment(filename, content.encode("utf-8")
                                           if isinstance(content, str) else content, mimetype))
        return self

    @property
    def recipients(self) -> tuple[str, ...]:
        """Every envelope recipient (To, Cc, Bcc), bare and without duplicates."""
        seen: dict[str, str] = {}
        for formatted in (*self.to, *self.cc, *self.bcc):
            bare = addr_spec(formatted)
            seen.setdefault(bare.lower(), bare)
        return tuple(seen.values())

    @property
    def message(self) -> EmailMessage:
        """The :class:`~email.message.EmailMessage` (no ``Bcc`` header: blind copies are
        envelope recipients only)."""
        msg = EmailMessage()
        msg["From"] = self.from_
        if self.to:
            msg["To"] = ", ".join(self.to)
        if self.cc:
            msg["Cc"] = ", ".join(self.cc)
        if self.reply_to:
            msg["Reply-To"] = ", ".join(self.reply_to)
        msg["Subject"] = self.subject
        msg["Date"] = format_datetime(self.date)
        msg["Message-ID"] = self.message_id
        for name, value in self.headers.items():
            msg[name] = value
        if self.text is not None:
            msg.set_content(self.text, cte="quoted-printable")
            if self.html is not None:
                msg.add_alternative(self.html, subtype="html", cte="quoted-printable")
        else:
            msg.set_content(self.html or "", subtype="html", cte="quoted-printable")
        for item in self.attachments:
            # as bytes (base64), text files included: what arrives is byte for byte the file
            maintype, subtype = item.mimetype.split("/")
            msg.add_attachment(bytes(item.content), maintype=maintype, subtype=subtype,
                               filename=item.filename)
        # Boundaries derived from the Message-ID, so building twice gives the same bytes.
        # "=_" never occurs in quoted-printable or base64 text, the only encodings used here.
        token = hashlib.sha256(self.message_id.encode()).hexdigest()[:24]
        multiparts = [part for part in msg.walk() if part.is_multipart()]
        for number, part in enumerate(multiparts):
            part.set_boundary(f"=_{token}_{number}")
        return msg

    def envelope(self) -> Envelope:
        """The built message with its envelope sender and recipients."""
        return Envelope(self.message, addr_spec(self.from_), self.recipients)

    def as_bytes(self) -> bytes:
        """The message as it goes on the wire (CRLF lines)."""
        return self.envelope().as_bytes()

    async def deliver_now(self, *, backend: MailBackend | None = None) -> None:
        """Send it now through the app's ``[mail] backend`` (or ``backend``).

        Raises :class:`~rum_mail.MailDeliveryError` when the backend fails.
        """
        await delivery.deliver_now(self.envelope(), app=self.app, backend=backend)

    async def deliver_later(self, *, db: Any = None, **options: Any) -> int:
        """Enqueue it on the job queue (``[mail] queue``) and return the job's id.

        Inside ``async with db.transaction():`` the job is part of the transaction: if it
        rolls back, no mail is sent. ``options`` are ``Job.enqueue``'s (``run_in=60``,
        ``priority``, ``queue``, ``db``...). The stored job holds the built message, so what is
        sent is what was rendered now.
        """
        return await delivery.deliver_later(self.envelope(), app=self.app, db=db, **options)

    def __repr__(self) -> str:
        return f"<Mail {self.subject!r} to {', '.join(self.recipients)}>"

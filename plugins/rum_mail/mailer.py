"""``Mailer``: classes whose methods build mails from ERB templates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rum.context import current_app
from rum_mail.errors import MailError
from rum_mail.message import Addresses, Attachment, Mail
from rum_mail.state import MailState
from rum_templates import TemplateNotFound, Templates

if TYPE_CHECKING:
    from rum import App

#: Template extension of each body, in the order they are looked up.
BODY_EXTENSIONS = {"text": ".txt", "html": ".html"}


class Mailer:
    """Base class of mailers. A method per kind of mail returns :meth:`mail`'s result::

        class OrderMailer(Mailer):
            default_from = "Shop <shop@example.com>"

            def receipt(self, order) -> Mail:
                return self.mail(to=order.email, subject=f"Receipt #{order.id}",
                                 template="order_mailer/receipt", context={"order": order})

        await OrderMailer().receipt(order).deliver_later()

    Class attributes: ``default_from`` (else ``[mail] default_from``), ``default_reply_to``,
    ``default_headers``. ``template="order_mailer/receipt"`` renders
    ``order_mailer/receipt.txt`` (the text part; not HTML-escaped) and/or
    ``order_mailer/receipt.html`` (the HTML part; escaped) from the template directories
    with the templates plugin; at least one must exist.
    """

    default_from: ClassVar[str | None] = None
    default_reply_to: ClassVar[str | Iterable[str] | None] = None
    default_headers: ClassVar[Mapping[str, str]] = {}

    def __init__(self, app: App | None = None) -> None:
        #: the app whose settings, templates and backend the mails use (default: the running
        #: app; ``None`` outside one, for rendering with ``templates/`` of the current
        #: directory)
        self.app = app if app is not None else current_app()

    # -- building -------------------------------------------------------------------------------

    def mail(self, *, to: Addresses = None, subject: str, template: str | None = None,
             context: Mapping[str, Any] | None = None, text: str | None = None,
             html: str | None = None, from_: str | None = None, cc: Addresses = None,
             bcc: Addresses = None, reply_to: Addresses = None,
             attachments: Iterable[Attachment] | Mapping[str, bytes | str] = (),
             headers: Mapping[str, str] | None = None) -> Mail:
        """A :class:`~rum_mail.Mail` from this mailer.

        Bodies come from ``template`` (rendered with ``context``) or are given as ``text=``
        / ``html=`` (which win over the template's). Addresses are strings
        (``"a@x.com"``, ``"Ada <a@x.com>"``, ``"a@x.com, b@y.com"``), ``(name, address)``
        pairs (the safe way to use a name typed by a user) or lists of them.
        ``attachments`` are :class:`~rum_mail.Attachment` objects or ``{filename: bytes}``.
        """
        if template is not None:
            rendered = self.render(template, context)
            text = text if text is not None else rendered.get("text")
            html = html if html is not None else rendered.get("html")
        state = self._state()
        sender = from_ or self.default_from or (state.default_from if state else "")
        return Mail(to=to, subject=subject, from_=sender or "", cc=cc, bcc=bcc,
                    reply_to=reply_to if reply_to is not None else self.default_reply_to,
                    text=text, html=html, attachments=attachments,
                    headers={**self.default_headers, **(headers or {})}, app=self.app)

    def render(self, template: str, context: Mapping[str, Any] | None = None) -> dict[str, str]:
        """The bodies rendered from ``template``: ``{"text": ..., "html": ...}`` for the files
        that exist (``template`` without extension), or the one named (``x.txt``/``x.html``).

        Templates see ``context``, the template globals (``url_for``...), ``mailer`` (this
        object), ``base_url`` and ``absolute_url(path)`` (``[mail] base_url`` + path).
        """
        engine = self._engine()
        names = {"mailer": self, "base_url": self._base_url(), "absolute_url": self.absolute_url,
                 **(context or {})}
        suffixes = {kind: ext for kind, ext in BODY_EXTENSIONS.items()
                    if template.endswith(ext)}
        candidates = ({kind: template for kind in suffixes} if suffixes else
                      {kind: template + ext for kind, ext in BODY_EXTENSIONS.items()})
        bodies: dict[str, str] = {}
        for kind, name in candidates.items():
            try:
                compiled = engine.get(name)
            except TemplateNotFound:
                continue
            bodies[kind] = engine.render_template(compiled, names)
        if not bodies:
            tried = " or ".join(repr(n) for n in candidates.values())
            where = ", ".join(str(d) for d in engine.dirs) or str(engine.root)
            raise TemplateNotFound(f"mail template {template!r}: no {tried} in the template "
                                   f"directories ({where})", template)
        return bodies

    def absolute_url(self, path: str) -> str:
        """``path`` (e.g. from ``url_for``) prefixed with ``[mail] base_url``."""
        base = self._base_url()
        if not base:
            raise MailError("absolute_url() needs [mail] base_url (e.g. "
                            "\"https://shop.example.com\"): links in mail are never built from "
                            "a request's Host header, which a client chooses")
        return base + (path if path.startswith("/") else "/" + path)

    # -- the app's parts ------------------------------------------------------------------------

    def _state(self) -> MailState | None:
        state = self.app.extensions.get("mail") if self.app is not None else None
        return state if isinstance(state, MailState) else None

    def _base_url(self) -> str:
        state = self._state()
        return state.base_url if state else ""

    def _engine(self) -> Templates:
        if self.app is None:
            return Templates([Path.cwd() / "templates"], root=Path.cwd())
        engine = self.app.extensions.get("templates")
        if not isinstance(engine, Templates):
            raise MailError(f"template= needs the templates plugin: add \"templates\" to "
                            f"[plugins] enabled in {self.app.config.describe_file()}, or pass "
                            f"text=/html= bodies")
        return engine

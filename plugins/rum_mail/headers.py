"""Header values and addresses checked before they reach a message.

Every value must be one line: a ``\\r`` or ``\\n`` in a subject, an address or a custom header
would let user input add headers (``Bcc: everyone@...``) or start the body, so it is refused
with a :class:`~rum_mail.errors.HeaderInjectionError` naming the header.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.headerregistry import Address
from email.utils import getaddresses

from rum_mail.errors import HeaderInjectionError, InvalidAddress, MailError

# An address as the envelope sees it: no whitespace and none of the characters that separate
# or quote addresses in a header. Stricter than RFC 5322 on purpose (quoted local parts are
# refused); non-ASCII letters are allowed (SMTPUTF8 servers accept them).
_ADDR_SPEC = re.compile(r'[^\s@<>()\[\],;:\\"]+@[^\s@<>()\[\],;:\\"]+')
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # printable ASCII without ":" (RFC 5322 field-name)

#: Headers a :class:`~rum_mail.Mail` sets itself; ``headers=`` may not set them.
MANAGED_HEADERS = {
    "from": "from_=", "to": "to=", "cc": "cc=", "bcc": "bcc=", "reply-to": "reply_to=",
    "subject": "subject=", "date": None, "message-id": None, "mime-version": None,
    "content-type": None, "content-transfer-encoding": None,
}


def one_line(header: str, value: object) -> str:
    """``value`` as a header value: a string without line breaks, else a clear error."""
    if not isinstance(value, str):
        raise MailError(f"{header} must be a string, got {type(value).__name__} {value!r}")
    for char, shown in (("\r", "\\r"), ("\n", "\\n"), ("\0", "\\0")):
        if char in value:
            raise HeaderInjectionError(
                f"{header} contains a line break or NUL ({shown}) in {value!r}: a header "
                f"value must be one line (refused to prevent header injection; strip or "
                f"reject such input before building the mail)")
    return value


def header_name(name: object) -> str:
    """A custom header's name, checked (printable ASCII, no colon, not one Mail sets)."""
    if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
        raise HeaderInjectionError(f"invalid header name {name!r}: use letters, digits and "
                                   f"dashes, e.g. 'X-Campaign'")
    managed = MANAGED_HEADERS.get(name.lower(), "")
    if managed != "":
        how = f"pass {managed} to mail()" if managed else "the message sets it itself"
        raise MailError(f"headers= cannot set {name}: {how}")
    return name


def addresses(field: str, value: str | Iterable[str] | None) -> tuple[str, ...]:
    """The addresses in ``value`` (a string, possibly ``"a@x, B <b@y>"``, or a list of
    them), each formatted as ``Name <user@host>`` or ``user@host``."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        one_line(field, item)
        parsed = getaddresses([item])
        if not item.strip() or not parsed or (len(parsed) > 1 and "," not in item):
            raise _invalid(field, item)  # '<a@x> <b@y>': two addresses without a separator
        for name, addr in parsed:
            out.append(_format(field, item, name, addr))
    return tuple(out)


def address(field: str, value: str) -> str:
    """Exactly one address (for ``From``)."""
    found = addresses(field, value)
    if len(found) != 1:
        raise InvalidAddress(f"{field} must be one address, got {value!r}")
    return found[0]


def addr_spec(formatted: str) -> str:
    """The bare ``user@host`` of a formatted address (what the SMTP envelope uses)."""
    return getaddresses([formatted])[0][1]


def _format(field: str, item: str, name: str, addr: str) -> str:
    if not _ADDR_SPEC.fullmatch(addr) or addr.startswith(".") or ".." in addr:
        raise _invalid(field, item)
    local, _, domain = addr.rpartition("@")
    if not local.isascii():
        raise InvalidAddress(f"{field}: {item!r} has non-ASCII characters before the @, which "
                             f"only SMTPUTF8 servers accept; Rum sends ASCII addresses only")
    if not domain.isascii():  # an internationalized domain: its ASCII (punycode) form
        try:
            addr = f"{local}@{domain.encode('idna').decode('ascii')}"
        except UnicodeError:
            raise _invalid(field, item) from None
    try:
        return str(Address(display_name=name, addr_spec=addr))
    except (ValueError, IndexError):
        raise _invalid(field, item) from None


def _invalid(field: str, item: str) -> InvalidAddress:
    return InvalidAddress(f"{field}: {item!r} is not an email address (expected "
                          f"'user@example.com' or 'Name <user@example.com>')")

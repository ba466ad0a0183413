"""Header values and addresses checked before they reach a message.

Every value must be one line: a ``\\r`` or ``\\n`` in a subject, an address or a custom header
would let user input add headers (``Bcc: everyone@...``) or start the body, so it is refused
with a :class:`~rum_mail.errors.HeaderInjectionError` naming the header. So are the other line
separators (``\\v``, ``\\f``, U+0085, U+2028...) and RFC 2047 encoded words that decode to one
(``=?utf-8?q?a=0D=0ABcc:...?=``): the standard library decodes encoded words it is handed as
text and, on Python before 3.13, writes the decoded line break out as a new header line.
Display names are plain text: an encoded word in one (``=?utf-8?b?...?=``, which could decode
to ``<someone@else>,`` and show an extra recipient) is refused; Rum encodes non-ASCII names
itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.headerregistry import Address, HeaderRegistry
from email.utils import getaddresses

from rum_mail.errors import HeaderInjectionError, InvalidAddress, MailError

# An address as the envelope sees it: no whitespace and none of the characters that separate
# or quote addresses in a header. Stricter than RFC 5322 on purpose (quoted local parts are
# refused); non-ASCII letters are allowed (SMTPUTF8 servers accept them).
_ADDR_SPEC = re.compile(r'[^\s@<>()\[\],;:\\"]+@[^\s@<>()\[\],;:\\"]+')
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # printable ASCII without ":" (RFC 5322 field-name)
# What str.splitlines() (and so the email package's folding) takes for a line end, plus NUL.
_BREAKS = {"\r": "\\r", "\n": "\\n", "\0": "\\0", "\v": "\\v", "\f": "\\f",
           "\x1c": "\\x1c", "\x1d": "\\x1d", "\x1e": "\\x1e", "\x85": "\\x85",
           "\u2028": "\\u2028", "\u2029": "\\u2029"}
_UNSTRUCTURED = HeaderRegistry()  # to read a value as the email package will (encoded words)

#: Headers a :class:`~rum_mail.Mail` sets itself; ``headers=`` may not set them.
MANAGED_HEADERS = {
    "from": "from_=", "to": "to=", "cc": "cc=", "bcc": "bcc=", "reply-to": "reply_to=",
    "subject": "subject=", "date": None, "message-id": None, "mime-version": None,
    "content-type": None, "content-transfer-encoding": None,
}


def one_line(header: str, value: object) -> str:
    """``value`` as a header value: a string without line breaks, else a clear error.

    Encoded words in it are decoded as the email package will decode them, and the decoded
    text must be one line too.
    """
    if not isinstance(value, str):
        raise MailError(f"{header} must be a string, got {type(value).__name__} {value!r}")
    _refuse_breaks(header, value, value)
    if "=?" in value:
        try:
            decoded = str(_UNSTRUCTURED("x-rum-check", value))
        except Exception:  # the email parser's errors are not one type
            raise HeaderInjectionError(f"{header}: {value!r} holds an encoded word the email "
                                       f"package cannot read; send plain text") from None
        _refuse_breaks(header, decoded, value, " (once its encoded words are decoded)")
    return value


def _refuse_breaks(header: str, text: str, value: str, how: str = "") -> None:
    for char in text:
        if char in _BREAKS:
            raise HeaderInjectionError(
                f"{header} contains a line break or NUL ({_BREAKS[char]}){how} in {value!r}: "
                f"a header value must be one line (refused to prevent header injection; strip "
                f"or reject such input before building the mail)")


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


def addresses(field: str, value: str | tuple[str, str] | Iterable[str | tuple[str, str]] | None
              ) -> tuple[str, ...]:
    """The addresses in ``value`` (a string, possibly ``"a@x, B <b@y>"``, a ``(name,
    address)`` pair, or a list of them), each formatted as ``Name <user@host>`` or
    ``user@host``.

    A pair takes its name as plain text, quoted as needed: the way to put a name typed by a
    user in front of an address (``("Ada, <x@evil>", "ada@example.com")`` is one recipient,
    where the f-string ``f"{name} <{email}>"`` would have been two).
    """
    if value is None:
        return ()
    items = [value] if isinstance(value, str | tuple) else list(value)
    out: list[str] = []
    for item in items:
        if isinstance(item, tuple):
            out.append(_pair(field, item))
            continue
        one_line(field, item)
        try:
            parsed = getaddresses([item])
        except RecursionError:  # "((((...": nested comments past Python's recursion limit
            raise _invalid(field, item) from None
        if not item.strip() or not parsed or (len(parsed) > 1 and "," not in item):
            raise _invalid(field, item)  # '<a@x> <b@y>': two addresses without a separator
        for name, addr in parsed:
            out.append(_format(field, item, name, addr))
    return tuple(out)


def _pair(field: str, item: tuple[object, ...]) -> str:
    if len(item) != 2 or not all(isinstance(part, str) for part in item):
        raise InvalidAddress(f"{field}: {item!r} is not a (name, address) pair of strings")
    name, addr = item
    assert isinstance(name, str) and isinstance(addr, str)
    one_line(field, name)
    one_line(field, addr)
    return _format(field, repr(item), name.strip(), addr.strip())


def address(field: str, value: str | tuple[str, str]) -> str:
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
    if "=?" in name:
        raise InvalidAddress(f"{field}: the name in {item!r} holds an RFC 2047 encoded word "
                             f"(=?...?=); names are plain text (Rum encodes non-ASCII names "
                             f"itself), so pass the decoded name")
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

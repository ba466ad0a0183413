"""Request framing rules httptools does not enforce itself (RFC 9110 / RFC 9112).

httptools (llhttp, strict mode) already refuses bare LF line endings, obs-fold, control
bytes in field values, Content-Length together with Transfer-Encoding, duplicate or invalid
Content-Length values and malformed chunks. What it lets through is checked here, once per
request head, on values the parser callbacks collected: the HTTP version, ``Host``,
``Transfer-Encoding`` codings and the absolute-form request target. Each check raises
:class:`Reject` with the status to answer; the connection is closed after it.
"""

from __future__ import annotations

import re

import httptools

#: transfer codings a server may know but Rum does not decode (RFC 9110 §8.4.1 registry)
_KNOWN_CODINGS = frozenset({"gzip", "x-gzip", "deflate", "compress", "x-compress", "identity",
                            "br", "zstd"})
_OWS = " \t"
_AUTHORITY_END = re.compile(rb"[/?#]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: RFC 3986 authority without userinfo: IP-literal / IPv4 / reg-name, then an optional port
_HOST = re.compile(r"(?:\[[0-9A-Za-z:.\-_~!$&'()*+,;=]+\]|[0-9A-Za-z\-._~!$&'()*+,;=%]*)"
                   r"(?::[0-9]*)?")


class Reject(Exception):
    """A request the server refuses before the app sees it (400, 408, 413, 431, 501, 505)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def check_version(version: str) -> None:
    """Only HTTP/1.0 and HTTP/1.1 are served; anything else is 505 (RFC 9110 §15.6.6)."""
    if version != "1.1" and version != "1.0":
        raise Reject(505, f"HTTP/{version} is not supported; use HTTP/1.1")


def check_host(count: int, value: str | None, version: str) -> None:
    """RFC 9112 §3.2: 400 for an HTTP/1.1 request without ``Host``, for more than one
    ``Host`` line, and for a value that is not ``host[:port]`` (RFC 3986 §3.2.2)."""
    if count == 1:
        if value and _HOST.fullmatch(value) is None:
            raise Reject(400, f"invalid Host header {value!r}")
    elif count > 1:
        raise Reject(400, "more than one Host header")
    elif version == "1.1":
        raise Reject(400, "an HTTP/1.1 request needs a Host header")


def check_transfer_encoding(values: list[str], version: str) -> None:
    """Accept only ``chunked`` as the one transfer coding (RFC 9112 §6.1, §6.3).

    Empty list elements are ignored (RFC 9110 §5.6.1.2), names are case-insensitive.
    ``chunked`` anywhere but last, or twice, is 400 (the body length cannot be known);
    another coding before ``chunked`` is 501 (not implemented); Transfer-Encoding in an
    HTTP/1.0 request is 400 (its framing is faulty, §6.1).
    """
    if version == "1.0":
        raise Reject(400, "Transfer-Encoding is not allowed in an HTTP/1.0 request")
    codings = []
    for value in values:
        for item in value.split(","):
            coding = item.strip(_OWS).lower()
            if coding:
                codings.append(coding)
    if codings == ["chunked"]:
        return
    if not codings:
        raise Reject(400, "empty Transfer-Encoding header")
    for coding in codings:
        name = coding.split(";", 1)[0].strip(_OWS)
        if _TOKEN.fullmatch(name) is None:
            raise Reject(400, f"invalid transfer coding {coding!r}")
    if codings[-1] != "chunked" or codings.count("chunked") > 1:
        raise Reject(400, "chunked must be the final transfer coding, applied once "
                          f"(got {', '.join(codings)})")
    others = [c for c in codings[:-1] if c.split(";", 1)[0].strip(_OWS) not in _KNOWN_CODINGS]
    unknown = f" (unknown coding {others[0]!r})" if others else ""
    raise Reject(501, f"Transfer-Encoding {', '.join(codings)} is not implemented{unknown}; "
                      "only chunked is")


def absolute_authority(url: bytes) -> str:
    """The ``host[:port]`` of an absolute-form target (``http://a.example/x``).

    RFC 9112 §3.2.2: the server uses it instead of the ``Host`` header. Targets that do not
    parse, use another scheme or carry userinfo (RFC 9110 §4.2.4) are 400.
    """
    try:
        parsed = httptools.parse_url(url)
    except httptools.HttpParserInvalidURLError:
        raise Reject(400, "invalid absolute-form request target") from None
    scheme = (parsed.schema or b"").lower()
    if scheme not in (b"http", b"https") or not parsed.host:
        raise Reject(400, "the absolute-form request target must be an http(s) URL with a host")
    if parsed.userinfo is not None or b"@" in _AUTHORITY_END.split(url.partition(b"://")[2])[0]:
        raise Reject(400, "userinfo is not allowed in an http(s) request target")
    host = parsed.host.decode("latin-1")
    if b"[" + parsed.host + b"]" in url:
        host = f"[{host}]"
    authority = host if parsed.port is None else f"{host}:{parsed.port}"
    if _HOST.fullmatch(authority) is None:
        raise Reject(400, f"invalid host {authority!r} in the request target")
    return authority

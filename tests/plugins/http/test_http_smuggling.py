"""Request-smuggling regression corpus: raw requests in the shapes of published desync bugs,
each answered 400/501/505 with a closed connection, no second (smuggled) request answered,
and a normal request on a new connection served afterwards.

Sources of the shapes:

- CVE-2024-1135 (gunicorn < 22): several Transfer-Encoding lines, treated as chunked whatever
  the final coding.
- CVE-2024-6827 (gunicorn 21.2): a Transfer-Encoding value it did not understand made it fall
  back to Content-Length (TE.CL desync).
- CVE-2025-43859 (h11 < 0.16): the two bytes after chunk data were skipped without checking
  they were CRLF, so ``AAAAAXX2`` read as chunk data + a new chunk size.
- gunicorn #3364: control and Latin-1 whitespace bytes around ``chunked`` stripped, so
  ``\\x0b...chunked\\x85`` counted as chunked.
- gunicorn #3091: ``\\xa0`` stripped from header names (``Transfer-Encoding\\xa0``).
- The classic CL.TE / TE.CL pairs, duplicate and conflicting Content-Length, obs-fold,
  bare LF line endings, NUL/CR in values, malformed chunk sizes and extensions.
"""

from __future__ import annotations

import pytest
from framing_helpers import assert_refused, echo_app

from rum_http.testing import serve_app

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n"
HEAD = b"POST /echo HTTP/1.1\r\nHost: t\r\n"
TE = b"Transfer-Encoding: "
CHUNKED = HEAD + TE + b"chunked\r\n\r\n"


def case(name: str, raw: bytes, *statuses: int):
    return pytest.param(raw, statuses or (400,), id=name)


CORPUS = [
    # CVE-2024-1135: several Transfer-Encoding lines
    case("cve-2024-1135-chunked-then-gzip",
         HEAD + TE + b"chunked\r\n" + TE + b"gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + SMUGGLED),
    case("cve-2024-1135-chunked-then-identity",
         HEAD + TE + b"chunked\r\n" + TE + b"identity\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("cve-2024-1135-gzip-then-chunked",
         HEAD + TE + b"gzip\r\n" + TE + b"chunked\r\n\r\n0\r\n\r\n" + SMUGGLED, 501),
    case("cve-2024-1135-chunked-twice",
         HEAD + TE + b"chunked\r\n" + TE + b"chunked\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("cve-2024-1135-list-chunked-gzip",
         HEAD + TE + b"chunked, gzip\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("cve-2024-1135-with-content-length",
         HEAD + b"Content-Length: 4\r\n" + TE + b"chunked\r\n" + TE + b"identity\r\n\r\n"
         b"0\r\n\r\n" + SMUGGLED),
    # CVE-2024-6827: a Transfer-Encoding value not understood must not fall back to the length
    case("cve-2024-6827-xchunked-with-cl",
         HEAD + TE + b"xchunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("cve-2024-6827-chunked-suffix-with-cl",
         HEAD + TE + b"chunkedx\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("cve-2024-6827-space-inside-with-cl",
         HEAD + TE + b"chu nked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("cve-2024-6827-identity-with-cl",
         HEAD + TE + b"identity\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("cve-2024-6827-unknown-alone", HEAD + TE + b"xchunked\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("cve-2024-6827-parameter", HEAD + TE + b"chunked;q=1\r\n\r\n0\r\n\r\n" + SMUGGLED),
    # CVE-2025-43859: bytes after chunk data
    case("cve-2025-43859-xx-after-data",
         CHUNKED + b"5\r\nAAAAAXX2\r\n45\r\n0\r\n\r\n" + SMUGGLED),
    case("cve-2025-43859-lf-x-after-data", CHUNKED + b"1\r\nA\nX0\r\n\r\n" + SMUGGLED),
    case("cve-2025-43859-cr-cr-after-data", CHUNKED + b"1\r\nA\r\r0\r\n\r\n" + SMUGGLED),
    case("cve-2025-43859-no-crlf-after-data", CHUNKED + b"1\r\nAB0\r\n\r\n" + SMUGGLED),
    # gunicorn #3364: control / Latin-1 whitespace bytes around chunked
    case("gunicorn-3364-full",
         HEAD + TE + b"\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0chunked\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0"
         b"\r\n\r\n1\r\nZ\r\n0\r\n\r\n" + SMUGGLED),
    case("gunicorn-3364-vt-before", HEAD + TE + b"\x0bchunked\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("gunicorn-3364-ff-after", HEAD + TE + b"chunked\x0c\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("gunicorn-3364-fs-before", HEAD + TE + b"\x1cchunked\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("gunicorn-3364-nel-before", HEAD + TE + b"\x85chunked\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("gunicorn-3364-nbsp-after", HEAD + TE + b"chunked\xa0\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("gunicorn-3364-nbsp-with-cl",
         HEAD + TE + b"\xa0chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + SMUGGLED),
    # gunicorn #3091: bytes stripped from header names
    case("gunicorn-3091-nbsp-in-name",
         HEAD + b"Transfer-Encoding\xa0: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("space-before-colon", HEAD + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("tab-before-colon", HEAD + b"Content-Length\t: 5\r\n\r\n0\r\n\r\n" + SMUGGLED),
    # CL.TE and TE.CL
    case("cl-te", HEAD + b"Content-Length: 6\r\n" + TE + b"chunked\r\n\r\n0\r\n\r\nX" + SMUGGLED),
    case("te-cl", HEAD + TE + b"chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n"),
    case("cl-zero-te", HEAD + b"Content-Length: 0\r\n" + TE + b"chunked\r\n\r\n0\r\n\r\n"),
    case("cl-te-http-1.0", b"POST /echo HTTP/1.0\r\nContent-Length: 5\r\n" + TE
         + b"chunked\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("te-http-1.0", b"POST /echo HTTP/1.0\r\n" + TE + b"chunked\r\n\r\n0\r\n\r\n" + SMUGGLED),
    # Content-Length
    case("cl-duplicate-equal", HEAD + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
    case("cl-conflicting", HEAD + b"Content-Length: 3\r\nContent-Length: 40\r\n\r\nabc" + SMUGGLED),
    case("cl-list", HEAD + b"Content-Length: 3, 3\r\n\r\nabc"),
    case("cl-list-conflicting", HEAD + b"Content-Length: 3, 40\r\n\r\nabc" + SMUGGLED),
    case("cl-plus-sign", HEAD + b"Content-Length: +3\r\n\r\nabc"),
    case("cl-minus", HEAD + b"Content-Length: -1\r\n\r\n" + SMUGGLED),
    case("cl-hex", HEAD + b"Content-Length: 0x3\r\n\r\nabc"),
    case("cl-space-inside", HEAD + b"Content-Length: 1 0\r\n\r\n0123456789"),
    case("cl-empty", HEAD + b"Content-Length: \r\n\r\n" + SMUGGLED),
    case("cl-overflow", HEAD + b"Content-Length: 184467440737095516160\r\n\r\n" + SMUGGLED),
    # obs-fold
    case("obs-fold-plain", b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n"),
    case("obs-fold-te", HEAD + b"Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("obs-fold-te-tab", HEAD + TE + b"gzip,\r\n\tchunked\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("obs-fold-cl", HEAD + b"Content-Length:\r\n 3\r\n\r\nabc"),
    case("first-header-folded", b"GET / HTTP/1.1\r\n Host: t\r\n\r\n"),
    # bare LF
    case("bare-lf-request-line", b"GET / HTTP/1.1\nHost: t\r\n\r\n"),
    case("bare-lf-header", b"GET / HTTP/1.1\r\nHost: t\nX-A: 1\r\n\r\n"),
    case("bare-lf-end-of-head", b"GET / HTTP/1.1\r\nHost: t\r\n\n" + SMUGGLED),
    case("bare-lf-everywhere", b"GET / HTTP/1.1\nHost: t\n\n"),
    case("bare-lf-chunk-size", CHUNKED + b"3\nabc\r\n0\r\n\r\n" + SMUGGLED),
    case("bare-lf-chunk-data-end", CHUNKED + b"3\r\nabc\n0\r\n\r\n" + SMUGGLED),
    case("bare-lf-last-chunk", CHUNKED + b"0\n\r\n" + SMUGGLED),
    case("bare-lf-trailer", CHUNKED + b"0\r\nX-T: 1\n\r\n" + SMUGGLED),
    case("bare-cr-line-end", b"GET / HTTP/1.1\rHost: t\r\n\r\n"),
    # NUL / CR / controls in values
    case("nul-in-value", b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n"),
    case("nul-in-host", b"GET / HTTP/1.1\r\nHost: t\x00.example\r\n\r\n"),
    case("nul-in-te", HEAD + TE + b"chunked\x00\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("cr-in-value", b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n"),
    case("cr-in-te", HEAD + TE + b"chunked\r gzip\r\n\r\n0\r\n\r\n" + SMUGGLED),
    case("del-in-value", b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x7fb\r\n\r\n"),
    case("nul-in-name", b"GET / HTTP/1.1\r\nHost: t\r\nX-\x00A: 1\r\n\r\n"),
    case("nul-in-target", b"GET /a\x00b HTTP/1.1\r\nHost: t\r\n\r\n"),
    # chunk sizes
    case("chunk-size-0x", CHUNKED + b"0x3\r\nabc\r\n0\r\n\r\n"),
    case("chunk-size-plus", CHUNKED + b"+3\r\nabc\r\n0\r\n\r\n"),
    case("chunk-size-minus", CHUNKED + b"-3\r\nabc\r\n0\r\n\r\n"),
    case("chunk-size-leading-space", CHUNKED + b" 3\r\nabc\r\n0\r\n\r\n"),
    case("chunk-size-trailing-space", CHUNKED + b"3 \r\nabc\r\n0\r\n\r\n"),
    case("chunk-size-empty", CHUNKED + b"\r\nabc\r\n0\r\n\r\n"),
    case("chunk-size-not-hex", CHUNKED + b"g\r\nabc\r\n0\r\n\r\n"),
    case("chunk-size-underscore", CHUNKED + b"1_0\r\n0123456789abcdef\r\n0\r\n\r\n"),
    case("chunk-size-overflow", CHUNKED + b"10000000000000000\r\nabc\r\n0\r\n\r\n" + SMUGGLED),
    case("chunk-size-overflow-wraps-to-3", CHUNKED + b"10000000000000003\r\nabc\r\n0\r\n\r\n"),
    case("chunk-size-too-short", CHUNKED + b"2\r\nabc\r\n0\r\n\r\n" + SMUGGLED),
    case("chunk-size-too-long", CHUNKED + b"4\r\nabc\r\n0\r\n\r\n" + SMUGGLED),
    # chunk extensions
    case("chunk-ext-lf", CHUNKED + b"3;a\nb\r\nabc\r\n0\r\n\r\n" + SMUGGLED),
    case("chunk-ext-cr", CHUNKED + b"3;a\rb\r\nabc\r\n0\r\n\r\n" + SMUGGLED),
    case("chunk-ext-nul", CHUNKED + b"3;a=\x00\r\nabc\r\n0\r\n\r\n"),
    case("chunk-ext-ctl", CHUNKED + b"3;a\x01\r\nabc\r\n0\r\n\r\n"),
    case("chunk-ext-empty", CHUNKED + b"3;\r\nabc\r\n0\r\n\r\n"),
    case("chunk-ext-unterminated-quote", CHUNKED + b'3;a="b\r\nabc\r\n0\r\n\r\n' + SMUGGLED),
    case("chunk-ext-space-in-name", CHUNKED + b"3;a b\r\nabc\r\n0\r\n\r\n"),
    case("last-chunk-ext-lf", CHUNKED + b"0;a\n\r\n\r\n" + SMUGGLED),
    # request line and version
    case("http-2.0", b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
    case("http-1.2", b"GET / HTTP/1.2\r\nHost: t\r\n\r\n", 505),
    case("http-0.9-explicit", b"GET / HTTP/0.9\r\nHost: t\r\n\r\n", 505),
    case("http-0.9-line", b"GET /\r\n"),
    case("h2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, 505),
    case("lower-case-version", b"GET / http/1.1\r\nHost: t\r\n\r\n"),
    case("space-in-target", b"GET /a b HTTP/1.1\r\nHost: t\r\n\r\n"),
    # Host
    case("host-missing", b"GET / HTTP/1.1\r\n\r\n"),
    case("host-twice", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    case("host-invalid", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
    case("host-with-path", b"GET / HTTP/1.1\r\nHost: a/admin\r\n\r\n"),
]


@pytest.mark.parametrize(("raw", "statuses"), CORPUS)
async def test_smuggling_shape_is_refused_and_the_connection_closed(tmp_path, raw, statuses):
    async with serve_app(echo_app(tmp_path)) as url:
        result = await assert_refused(url, raw, statuses)
    assert b"smuggled" not in result.data


async def test_the_same_shapes_split_into_single_bytes_are_refused_too(tmp_path):
    """A few of the shapes sent one byte per packet (the head check must not depend on the
    whole head arriving at once)."""
    picks = [b"GET /\r\n", HEAD + TE + b"gzip, chunked\r\n\r\n0\r\n\r\n",
             b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", b"GET / HTTP/2.0\r\nHost: t\r\n\r\n",
             CHUNKED + b"0\r\nAuthorization: Bearer x\n\r\n"]
    async with serve_app(echo_app(tmp_path)) as url:
        for raw in picks:
            await assert_refused(url, [raw[i:i + 1] for i in range(len(raw))], (400, 501, 505),
                                 pause=0.002)

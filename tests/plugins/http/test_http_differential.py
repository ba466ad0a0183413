"""Differential fuzzing: the same raw bytes go to Rum's server (over a real socket, one
long-running server) and to h11 as a server-side parser. Both must agree on accept/reject,
and for a request both accept, on method, target, headers, body and trailers.

Where Rum is deliberately stricter or more lenient than h11, the difference must be one of
the documented ones (docs/http.md, "Differences from h11"), each recognised here from the
raw bytes or from what h11 parsed, independently of Rum's own code. Anything else fails the
test with the request that shows it.
"""

from __future__ import annotations

import json
import os
import re
import threading
from urllib.parse import urlsplit

import h11
import httptools
import pytest
import trio
from framing_helpers import blocking_exchange
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rum import App, Response, hookimpl
from rum_http.testing import serve_app

# -- the server: one for the module, in a thread with its own trio run -------------------------


class EchoEverything:
    """Answers every request (before routing, so any target works) with what the app got."""

    @hookimpl
    async def rum_request(self, request):
        return Response.json({
            "method": request.method,
            "path": request.raw_path,
            "query": request.query_string,
            "version": request.http_version,
            "headers": [[k, v] for k, v in request.headers.items()],
            "trailers": [[k, v] for k, v in request.trailers.items()],
            "body": request.body.decode("latin-1"),
        })


@pytest.fixture(scope="module")
def server_port(tmp_path_factory):
    app = App([], plugins=["http", EchoEverything()], root=tmp_path_factory.mktemp("diff"),
              config={"http": {"access_log": False}})
    started = threading.Event()
    box: dict = {}

    async def main() -> None:
        box["token"] = trio.lowlevel.current_trio_token()
        box["stop"] = trio.Event()
        async with serve_app(app, request_timeout=5) as url:
            box["port"] = int(url.rsplit(":", 1)[1])
            started.set()
            await box["stop"].wait()

    thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
    thread.start()
    assert started.wait(30), "the server did not start"
    yield box["port"]
    trio.from_thread.run_sync(box["stop"].set, trio_token=box["token"])
    thread.join(10)


# -- the two parsers ---------------------------------------------------------------------------


class Parsed:
    """An accepted request, as comparable values."""

    def __init__(self, method: str, target: str, version: str, headers: list[tuple[str, str]],
                 body: bytes, trailers: list[tuple[str, str]]) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.trailers = trailers

    def key(self) -> tuple:
        # h11 lower-cases Transfer-Encoding values (codings are case-insensitive)
        headers = [(k, v.lower() if k == "transfer-encoding" else v) for k, v in self.headers]
        return (self.method, self.target, self.version, headers, self.body, self.trailers)


def rum_parse_all(port: int, raw: bytes) -> list[Parsed | int]:
    """What Rum made of ``raw``, one item per answer in order: the request the app saw, or
    the refusal status. Empty when it closed without an answer (an incomplete request)."""
    data = blocking_exchange(port, raw)
    assert data is not None, f"Rum neither answered nor closed: {raw!r}"
    responses: list[tuple[int, bytes]] = []
    body = bytearray()

    class Collect:
        def on_body(self, chunk: bytes) -> None:
            body.extend(chunk)

        def on_message_complete(self) -> None:
            responses.append((parser.get_status_code(), bytes(body)))
            body.clear()

    parser = httptools.HttpResponseParser(Collect())
    try:
        parser.feed_data(data)
    except httptools.HttpParserError:
        pass
    results: list[Parsed | int] = []
    for status, content in responses:
        if status < 200:  # 100 Continue
            continue
        if status != 200:
            results.append(status)
            continue
        seen = json.loads(content)
        target = seen["path"] + ("?" + seen["query"] if seen["query"] else "")
        results.append(Parsed(seen["method"], target, seen["version"],
                              [(k, v) for k, v in seen["headers"]],
                              seen["body"].encode("latin-1"),
                              [(k, v) for k, v in seen["trailers"]]))
    return results


def rum_parse(port: int, raw: bytes) -> Parsed | int | None:
    """Rum's first answer to ``raw`` (see :func:`rum_parse_all`), ``None`` when none."""
    results = rum_parse_all(port, raw)
    return results[0] if results else None


def h11_parse_all(raw: bytes, limit: int = 2) -> list[tuple[Parsed | str, bytes]]:
    """What h11 makes of ``raw`` (then end of input), request by request (at most
    ``limit``): each parsed request or why not, with the bytes it was parsed from. A
    refusal, an incomplete request or a request that closes the connection ends the list."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(raw)
    conn.receive_data(b"")
    results: list[tuple[Parsed | str, bytes]] = []
    rest = raw
    while len(results) < limit:
        parsed = _h11_next(conn)
        remaining = conn.trailing_data[0] if isinstance(parsed, Parsed) else b""
        results.append((parsed, rest[:len(rest) - len(remaining)] if remaining else rest))
        rest = remaining
        if not isinstance(parsed, Parsed) or conn.their_state is not h11.DONE:
            break
        if not rest or conn.our_state is h11.MUST_CLOSE:
            break
        conn.send(h11.Response(status_code=200, headers=[("content-length", "0")]))
        conn.send(h11.EndOfMessage())
        if conn.our_state is not h11.DONE:
            break
        conn.start_next_cycle()
    return results


def h11_parse(raw: bytes) -> Parsed | str:
    """h11's first request in ``raw`` (see :func:`h11_parse_all`)."""
    return h11_parse_all(raw, limit=1)[0][0]


def _h11_next(conn: h11.Connection) -> Parsed | str:
    request = None
    body = b""
    try:
        while True:
            event = conn.next_event()
            if isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            else:  # NEED_DATA, ConnectionClosed, PAUSED
                return "incomplete"
    except h11.RemoteProtocolError as exc:
        return f"rejected: {exc}"
    assert request is not None
    target = request.target.decode("latin-1")
    headers = [(k.decode().lower(), v.decode("latin-1")) for k, v in request.headers.raw_items()]
    if "://" in target:  # absolute-form: the app sees its path, and its authority as Host
        parts = urlsplit(target)
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        headers = [(k, parts.netloc if k == "host" else v) for k, v in headers]
        if "host" not in [k for k, _ in headers]:
            headers.append(("host", parts.netloc))
    elif target.endswith("?"):
        target = target[:-1]
    trailers = [(k.decode().lower(), v.decode("latin-1")) for k, v in event.headers.raw_items()]
    return Parsed(request.method.decode("latin-1"), target,
                  request.http_version.decode(), headers, body, trailers)


# -- the documented differences (docs/http.md), recognised independently of Rum's code -------

#: methods llhttp knows (HTTP ones); h11 takes any token
LLHTTP_METHODS = {
    "DELETE", "GET", "HEAD", "POST", "PUT", "CONNECT", "OPTIONS", "TRACE", "COPY", "LOCK",
    "MKCOL", "MOVE", "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK", "BIND", "REBIND", "UNBIND",
    "ACL", "REPORT", "MKACTIVITY", "CHECKOUT", "MERGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE",
    "UNSUBSCRIBE", "PATCH", "PURGE", "MKCALENDAR", "LINK", "UNLINK", "SOURCE", "QUERY",
}
HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(:[0-9]*)?")
CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]+)((?:;[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
                        rb"(?:=(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|\"(?:[\t !#-\[\]-~\x80-\xff]"
                        rb"|\\[\t -~\x80-\xff])*\"))?)*)\r\n")
FIELD_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[ \t]*"
                        rb"(?:[!-~\x80-\xff](?:[ \t!-~\x80-\xff]*[!-~\x80-\xff])?)?[ \t]*\r\n")


def strict_chunked(body: bytes) -> bool:
    """Whether ``body`` (what follows the head) is RFC 9112 §7.1 chunked, strictly."""
    pos = 0
    while True:
        m = CHUNK_LINE.match(body, pos)
        if m is None or len(m.group(1)) > 16:
            return False
        size = int(m.group(1), 16)
        pos = m.end()
        if size == 0:
            break
        if body[pos + size:pos + size + 2] != b"\r\n":
            return False
        pos += size + 2
    while not body.startswith(b"\r\n", pos):  # trailer section
        m = FIELD_LINE.match(body, pos)
        if m is None:
            return False
        pos = m.end()
    return True


def head_of(raw: bytes) -> bytes:
    m = re.search(rb"\r?\n\r?\n", raw)
    return raw[:m.end()] if m else raw


def why_rum_refuses(raw: bytes, h: Parsed) -> str | None:
    """The documented rule under which Rum refuses what h11 accepted, if any."""
    head = head_of(raw)
    names = [k for k, _ in h.headers]
    if re.search(rb"(?<!\r)\n", head) or re.search(rb"\r(?!\n)", head):
        return "bare LF/CR line ending (RFC 9112 §2.2)"
    if re.search(rb"\n[ \t]", head):
        return "obs-fold (RFC 9112 §5.2)"
    if h.version not in ("1.0", "1.1"):
        return "HTTP version (RFC 9110 §15.6.6)"
    if h.method not in LLHTTP_METHODS:
        return "method llhttp does not know (RFC 9110 §9.1)"
    if "content-length" in names and "transfer-encoding" in names:
        return "Content-Length with Transfer-Encoding (RFC 9112 §6.3)"
    cl_lines = re.findall(rb"(?im)^content-length[ \t]*:([^\r\n]*)", head)
    if len(cl_lines) > 1 or any(b"," in v for v in cl_lines):
        return "repeated Content-Length (RFC 9110 §8.6)"
    if "transfer-encoding" in names and h.version == "1.0":
        return "Transfer-Encoding in HTTP/1.0 (RFC 9112 §6.1)"
    if any(CTL.search(v) for _, v in h.headers + h.trailers):
        return "control byte in a field value (RFC 9110 §5.5)"
    if any(k == "host" and HOST.fullmatch(v) is None for k, v in h.headers):
        return "invalid Host (RFC 9112 §3.2)"
    target = h11_target(raw)
    if target is not None and not target.startswith(b"/") and target != b"*":
        return "target form (RFC 9112 §3.2.2-3.2.3, RFC 9110 §4.2.4)"
    if "transfer-encoding" in names and not strict_chunked(raw[len(head):]):
        return "chunk line or trailer not RFC-strict (RFC 9112 §7.1)"
    return None


def why_rum_accepts(raw: bytes, reason: str) -> str | None:
    """The documented rule under which Rum accepts what h11 refused, if any."""
    if raw.startswith((b"\r", b"\n")) and "request line" in reason:
        return "CR/LF bytes before the request line are skipped (RFC 9112 §2.2)"
    line = raw.lstrip(b"\r\n").split(b"\r\n", 1)[0]
    if b"  " in line and "request line" in reason:
        return "several spaces between request-line parts (RFC 9112 §3)"
    te = re.findall(rb"(?im)^transfer-encoding[ \t]*:([^\r\n]*)", head_of(raw))
    if te and [c.strip().lower() for v in te for c in v.split(b",") if c.strip()] == [b"chunked"]:
        return "empty list elements in Transfer-Encoding (RFC 9110 §5.6.1.2)"
    return None


def h11_target(raw: bytes) -> bytes | None:
    line = raw.lstrip(b"\r\n").split(b"\n", 1)[0].rstrip(b"\r").split(b" ")
    return line[1] if len(line) == 3 else None


# -- generated requests -----------------------------------------------------------------------

TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
VCHAR = "".join(chr(c) for c in range(0x21, 0x7F))
tokens = st.text(alphabet=TCHAR, min_size=1, max_size=8)
values = st.text(alphabet=VCHAR + " \t", max_size=12)
paths = st.lists(st.text(alphabet="abcxyz019-._~%2F", min_size=1, max_size=4),
                 max_size=3).map(lambda parts: "/" + "/".join(parts))
targets = st.one_of(
    paths, paths.map(lambda p: p + "?q=1&r"), st.sampled_from([
        "*", "/a#frag", "/a?", "http://h.example/x?y=1", "https://h.example:8443", "//x",
        "http://u@h.example/", "h.example:80", "/a%zz", "/a|b", "/a{b}", "/é"]))
hosts = st.one_of(st.sampled_from(["t", "h.example:8000", "[::1]", "127.0.0.1:1", "", "a b",
                                   "a/b", "a:b:c"]), st.text(alphabet=VCHAR, max_size=8))


@st.composite
def requests(draw) -> bytes:
    """A request built from parts, mostly well-formed, with framing variations."""
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]))
    version = draw(st.sampled_from(["1.1", "1.1", "1.1", "1.0", "2.0"]))
    lines = [f"{method} {draw(targets)} HTTP/{version}"]
    host_count = draw(st.sampled_from([1, 1, 1, 1, 0, 2]))
    lines += [f"Host: {draw(hosts)}" for _ in range(host_count)]
    lines += [f"{draw(tokens)}: {draw(values)}" for _ in range(draw(st.integers(0, 3)))]
    body = draw(st.binary(max_size=24))
    framing = draw(st.sampled_from(["none", "cl", "cl", "chunked", "chunked", "te", "both"]))
    tail = b""
    if framing == "none":
        body = b""
    if framing in ("cl", "both"):
        lines.append(f"Content-Length: {len(body)}")
    if framing in ("chunked", "te", "both"):
        coding = "chunked" if framing != "te" else draw(st.sampled_from(
            ["Chunked", "gzip, chunked", "chunked, gzip", ", chunked", "chunked ", "identity",
             "chunked;a=1"]))
        lines.append(f"Transfer-Encoding: {coding}")
        cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=3)))
        pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True) if b > a]
        for piece in pieces:
            ext = draw(st.sampled_from(["", "", ";a", ";a=b", ';a="q d"']))
            tail += f"{len(piece):x}{ext}\r\n".encode() + piece + b"\r\n"
        tail += b"0\r\n"
        for _ in range(draw(st.integers(0, 2))):
            tail += f"{draw(tokens)}: {draw(values)}\r\n".encode("latin-1")
        tail += b"\r\n"
    else:
        tail = body
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + tail


INTERESTING = [b"\r", b"\n", b"\r\n", b"\x00", b" ", b"\t", b":", b",", b";", b"0", b"a",
               b"\x0b", b"\x7f", b"\xa0", b"\r\n ", b"\r\n\r\n", b"Content-Length: 2\r\n",
               b"Transfer-Encoding: chunked\r\n", b"Host: x\r\n", b"HTTP/1.1", b"\"", b"#"]


@st.composite
def mutated(draw) -> bytes:
    """A generated request with a few byte-level mutations."""
    raw = bytearray(draw(requests()))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["insert", "delete", "replace", "lf", "dup-line"]))
        at = draw(st.integers(0, max(0, len(raw) - 1)))
        if op == "insert":
            raw[at:at] = draw(st.sampled_from(INTERESTING))
        elif op == "delete" and raw:
            del raw[at:at + draw(st.integers(1, 3))]
        elif op == "replace" and raw:
            raw[at:at + 1] = draw(st.sampled_from(INTERESTING))
        elif op == "lf":
            crlf = [m.start() for m in re.finditer(rb"\r\n", raw)]
            if crlf:
                del raw[draw(st.sampled_from(crlf))]
        elif op == "dup-line":
            lines = bytes(raw).split(b"\r\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            raw = bytearray(b"\r\n".join(lines))
    return bytes(raw)


# -- the tests -----------------------------------------------------------------------------------


def agree(rum: Parsed | int | None, theirs: Parsed | str, raw: bytes) -> None:
    """Rum's and h11's reading of one request (``raw``: its bytes and what follows) agree,
    or differ in a documented way."""
    if isinstance(rum, Parsed) and isinstance(theirs, Parsed):
        assert rum.key() == theirs.key(), f"both accept {raw!r} but differ"
    elif isinstance(theirs, Parsed):
        reason = why_rum_refuses(raw, theirs)
        assert reason is not None, f"h11 accepts, Rum refuses ({rum}): {raw!r}"
    elif isinstance(rum, Parsed):
        reason = why_rum_accepts(raw, theirs)
        assert reason is not None, f"Rum accepts, h11 says {theirs}: {raw!r}"


def check_agreement(port: int, raw: bytes) -> None:
    agree(rum_parse(port, raw), h11_parse(raw), raw)


def check_pipelined_agreement(port: int, raw: bytes) -> None:
    """Requests sent back to back on one connection: each answer agrees with h11, as long as
    both went on reading (the first accepted by both and keeping the connection open)."""
    rum = rum_parse_all(port, raw)
    for i, (theirs, own) in enumerate(h11_parse_all(raw)):
        mine = rum[i] if i < len(rum) else None
        agree(mine, theirs, raw[raw.index(own):] if own else raw)
        if not (isinstance(mine, Parsed) and isinstance(theirs, Parsed)):
            break


#: RUM_HTTP_FUZZ_EXAMPLES=5000 RUM_HTTP_FUZZ_RANDOM=1 explores further than the fixed run
FUZZ = settings(max_examples=int(os.environ.get("RUM_HTTP_FUZZ_EXAMPLES", "100")),
                derandomize=not os.environ.get("RUM_HTTP_FUZZ_RANDOM"), deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@FUZZ
@given(raw=requests())
def test_generated_requests_agree_with_h11(server_port, raw):
    check_agreement(server_port, raw)


@FUZZ
@given(raw=mutated())
def test_mutated_requests_agree_with_h11(server_port, raw):
    check_agreement(server_port, raw)


@FUZZ
@given(first=requests(), second=st.one_of(requests(), mutated()))
def test_pipelined_requests_agree_with_h11(server_port, first, second):
    check_pipelined_agreement(server_port, first + second)


@pytest.mark.parametrize("raw", [
    b"GET / HTTP/1.1\r\nHost: t\r\n\r\n",
    b"POST /a?b=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc",
    b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
    b"GET http://a.example/x HTTP/1.1\r\nHost: b.example\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n",
])
def test_plain_requests_are_parsed_the_same(server_port, raw):
    """Known-good requests: both accept, and agree field by field (the fuzz would pass
    vacuously if everything were refused)."""
    rum, theirs = rum_parse(server_port, raw), h11_parse(raw)
    assert isinstance(rum, Parsed) and isinstance(theirs, Parsed)
    assert rum.key() == theirs.key()

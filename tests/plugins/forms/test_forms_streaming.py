"""Multipart bodies streamed from the socket into the parser (issue 14 item 6), on raw sockets.

The HTTP server leaves a multipart body on the socket; the forms plugin's parser reads it
chunk by chunk as it arrives. So ``[http] max_body_size`` no longer caps uploads (``[forms]``
limits do), a limit is answered with 413 while the client is still sending, a client that
leaves mid-upload leaves no spooled file open, and the connection stays usable (keep-alive,
``Expect: 100-continue``, an unread body drained or the connection closed).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from rum import App, Controller, Request, Response, RumError
from rum_http.testing import serve_app

BOUNDARY = "streamXYZ"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
SPOOL = 1024  # [forms] spool_threshold: files past 1 KiB go to disk
MAX_FILE = 1024 * 1024
MAX_FILES = 1536 * 1024


class Upload(Controller):
    async def post(self, request: Request) -> Response:
        form = await request.form()
        files = []
        for upload in form.files.all():
            digest = hashlib.sha256(await upload.read()).hexdigest()
            files.append({"field": upload.name, "filename": upload.filename,
                          "size": upload.size, "sha256": digest,
                          "in_memory": upload.in_memory})
        return Response.json({"fields": dict(form.items()), "files": files})


class Ignore(Controller):
    async def post(self, request: Request) -> Response:
        return Response.text("ignored")


class Raw(Controller):
    async def post(self, request: Request) -> Response:
        unread = ""
        try:
            request.body  # noqa: B018 - the body is still on the socket: a clear error
        except RumError as exc:
            unread = str(exc)
        body = await request.read_body()
        return Response.json({"unread": unread, "length": len(body),
                              "same": request.body is body})


class JsonOnly(Controller):
    async def post(self, request: Request) -> Response:
        return Response.json({"got": request.json()})


class Ping(Controller):
    async def get(self, request: Request) -> Response:
        return Response.text("pong")


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    path = tmp_path / "spool"
    path.mkdir()
    return path


@pytest.fixture
def app(tmp_path: Path, spool: Path) -> App:
    return App([Upload.route("/upload"), Ignore.route("/ignore"), Raw.route("/raw"),
                JsonOnly.route("/json"), Ping.route("/ping")], plugins=["http", "forms"],
               root=tmp_path, env="development",
               config={"forms": {"spool_threshold": SPOOL, "max_file_size": MAX_FILE,
                                 "max_files_size": MAX_FILES, "temp_dir": str(spool)}})


def file_part(name: str, filename: str, data: bytes) -> bytes:
    return (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode() + data + b"\r\n"


def field_part(name: str, value: str) -> bytes:
    return (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n").encode()


def multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def head(path: str, length: int, *extra: str, content_type: str = MULTIPART) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Accept: application/json",
             f"Content-Type: {content_type}", f"Content-Length: {length}", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def connect(base: str) -> trio.SocketStream:
    return await trio.open_tcp_stream("127.0.0.1", int(base.rsplit(":", 1)[1]))


class Reader:
    """Reads responses with a Content-Length off one connection, keeping what follows."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = b""

    async def _more(self) -> bool:
        try:
            chunk = await self.stream.receive_some(65536)
        except trio.BrokenResourceError:
            return False
        self.buffer += chunk
        return bool(chunk)

    async def response(self, timeout: float = 5) -> tuple[int, dict[str, str], bytes]:
        with trio.fail_after(timeout):
            while b"\r\n\r\n" not in self.buffer:
                assert await self._more(), f"connection closed; got {self.buffer!r}"
            raw, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            status_line, *lines = raw.decode("latin-1").split("\r\n")
            headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
            length = int(headers.get("content-length", "0"))
            while len(self.buffer) < length:
                assert await self._more(), "connection closed in a response body"
            body, self.buffer = self.buffer[:length], self.buffer[length:]
            return int(status_line.split()[1]), headers, body

    async def closed(self, timeout: float = 5) -> bool:
        """True once the server closes the connection (nothing more arrives)."""
        with trio.fail_after(timeout):
            return not await self._more() and not self.buffer


async def send_until_answered(base: str, data: bytes | Iterable[bytes],
                              chunk: int = 64 * 1024, pause: float = 0.001,
                              ) -> tuple[int, dict[str, str], bytes, int]:
    """Send ``data`` (or each piece it yields) in chunks while reading; stop sending once a
    response arrives.

    Returns the response and how many bytes had been sent by then.
    """
    stream = await connect(base)
    reader = Reader(stream)
    sent = 0
    answered = trio.Event()

    async def send() -> None:
        nonlocal sent
        pieces = [data] if isinstance(data, bytes) else data
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            for piece in pieces:
                for start in range(0, len(piece), chunk):
                    if answered.is_set():
                        return
                    await stream.send_all(piece[start:start + chunk])
                    sent += len(piece[start:start + chunk])
                    await trio.sleep(pause)

    async with stream, trio.open_nursery() as nursery:
        nursery.start_soon(send)
        status, headers, body = await reader.response(timeout=10)
        answered.set()
        nursery.cancel_scope.cancel()
    return status, headers, body, sent


def huge_upload(path: str, files: int, blocks: int, block: bytes) -> Iterator[bytes]:
    """A request whose body holds ``files`` files of ``blocks`` times ``block``, generated as
    it is sent.

    Far larger (90 MB and more) than the loopback's socket buffers could hold (32 MiB + 4 MiB
    here), so a client that gets its answer having sent less than :data:`NOT_ALL` was
    answered before the server read the body.
    """
    part = len(file_part("doc", "0000.bin", b"")) + blocks * len(block)
    yield head(path, files * part + len(f"--{BOUNDARY}--\r\n"))
    for i in range(files):
        yield file_part("doc", f"{i:04}.bin", b"")[:-2]  # the part's head
        for _ in range(blocks):
            yield block
        yield b"\r\n"
    yield f"--{BOUNDARY}--\r\n".encode()


#: far less than a :func:`huge_upload` body, more than the socket buffers between the two ends
NOT_ALL = 64 * 1024 * 1024


def open_spooled_files(spool: Path) -> list[str]:
    """This process's open files under ``spool`` (spooled uploads, deleted or not)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(str(spool)):
                found.append(target)
    return found


async def test_upload_larger_than_the_http_body_limit_streams_into_the_parser(
        app: App) -> None:
    big, other = os.urandom(1_000_000), os.urandom(400_000)
    body = multipart(field_part("title", "two files"), file_part("doc", "a.bin", big),
                     file_part("doc", "b.bin", other))
    assert len(body) > app.config.get_typed("http", "max_body_size", int, 1024 * 1024)
    async with serve_app(app) as base:
        status, _, answer, _ = await send_until_answered(base, head("/upload", len(body))
                                                            + body)
    assert status == 200, answer
    result = json.loads(answer)
    assert result["fields"] == {"title": "two files"}
    assert [(f["filename"], f["size"], f["sha256"], f["in_memory"]) for f in result["files"]] \
        == [("a.bin", len(big), hashlib.sha256(big).hexdigest(), False),
            ("b.bin", len(other), hashlib.sha256(other).hexdigest(), False)]


async def test_a_file_over_max_file_size_is_refused_mid_stream(app: App, spool: Path) -> None:
    async with serve_app(app) as base:
        status, headers, answer, sent = await send_until_answered(
            base, huge_upload("/upload", 1, 200, b"x" * 1_000_000))
        assert status == 413
        assert "max_file_size" in json.loads(answer)["detail"]
        assert headers["connection"] == "close"
        assert sent < NOT_ALL, f"the client sent {sent} bytes before the server refused"
        async with await connect(base) as stream:  # the server serves the next client
            await stream.send_all(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert (await Reader(stream).response())[2] == b"pong"
    assert open_spooled_files(spool) == []


async def test_files_over_max_files_size_together_are_refused_mid_stream(app: App) -> None:
    async with serve_app(app) as base:
        status, _, answer, sent = await send_until_answered(
            base, huge_upload("/upload", 100, 1, os.urandom(900_000)))
        assert status == 413
        assert "max_files_size" in json.loads(answer)["detail"]
        assert sent < NOT_ALL
        async with await connect(base) as stream:
            await stream.send_all(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert (await Reader(stream).response())[2] == b"pong"


async def test_a_slow_client_sending_small_chunks(app: App) -> None:
    data = os.urandom(30_000)
    body = multipart(field_part("note", "slow"), file_part("doc", "slow.bin", data))
    async with serve_app(app, request_timeout=2) as base:
        status, _, answer, sent = await send_until_answered(
            base, head("/upload", len(body)) + body, chunk=1500, pause=0.01)
    assert status == 200 and sent == len(head("/upload", len(body)) + body)
    result = json.loads(answer)
    assert result["fields"] == {"note": "slow"}
    assert result["files"][0]["sha256"] == hashlib.sha256(data).hexdigest()


async def test_a_client_leaving_mid_upload_leaves_no_temporary_file(app: App,
                                                                     spool: Path) -> None:
    body = file_part("doc", "gone.bin", b"y" * 900_000)
    async with serve_app(app) as base:
        stream = await connect(base)
        await stream.send_all(head("/upload", len(body)) + body[:300_000])
        with trio.fail_after(5):  # the upload is being spooled to disk
            while not open_spooled_files(spool):
                await trio.sleep(0.01)
        await stream.aclose()
        with trio.fail_after(5):
            while open_spooled_files(spool):
                await trio.sleep(0.01)
        assert list(spool.iterdir()) == []
        async with await connect(base) as stream:
            await stream.send_all(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert (await Reader(stream).response())[2] == b"pong"


async def test_keep_alive_after_streamed_uploads_and_unread_small_bodies(app: App) -> None:
    first, second = os.urandom(5000), os.urandom(70_000)
    body1 = multipart(file_part("doc", "1.bin", first))
    body2 = multipart(field_part("n", "2"), file_part("doc", "2.bin", second))
    async with serve_app(app) as base, await connect(base) as stream:
        reader = Reader(stream)
        await stream.send_all(head("/upload", len(body1)) + body1)
        status, headers, answer = await reader.response()
        assert status == 200 and headers.get("connection") != "close"
        assert json.loads(answer)["files"][0]["size"] == 5000
        # a body the app never reads: small, so the server drains it and keeps the connection
        await stream.send_all(head("/ignore", len(body2)) + body2)
        status, headers, answer = await reader.response()
        assert (status, answer) == (200, b"ignored") and headers.get("connection") != "close"
        # pipelined: an upload and a GET in one send
        await stream.send_all(head("/upload", len(body2)) + body2
                              + b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, _, answer = await reader.response()
        assert status == 200
        assert json.loads(answer)["files"][0]["sha256"] == hashlib.sha256(second).hexdigest()
        assert (await reader.response())[2] == b"pong"


async def test_a_large_unread_body_closes_the_connection(app: App) -> None:
    async with serve_app(app) as base:
        status, headers, answer, sent = await send_until_answered(
            base, huge_upload("/ignore", 1, 100, b"z" * 1_000_000))
    assert (status, answer) == (200, b"ignored")
    assert headers["connection"] == "close"
    assert sent < NOT_ALL


async def test_expect_100_continue_is_sent_when_the_parser_reads(app: App) -> None:
    data = os.urandom(50_000)
    body = multipart(file_part("doc", "e.bin", data))
    async with serve_app(app) as base, await connect(base) as stream:
        reader = Reader(stream)
        await stream.send_all(head("/upload", len(body), "Expect: 100-continue"))
        with trio.fail_after(5):
            while b"\r\n\r\n" not in reader.buffer:
                assert await reader._more()
        assert reader.buffer == b"HTTP/1.1 100 Continue\r\n\r\n"
        reader.buffer = b""
        await stream.send_all(body)
        status, headers, answer = await reader.response()
        assert status == 200 and headers.get("connection") != "close"
        assert json.loads(answer)["files"][0]["sha256"] == hashlib.sha256(data).hexdigest()
        # the app does not read this one: no 100 Continue, and the connection closes (the
        # client has not sent the body, so the server cannot know where the next request is)
        await stream.send_all(head("/ignore", len(body), "Expect: 100-continue"))
        status, headers, answer = await reader.response()
        assert (status, answer, headers["connection"]) == (200, b"ignored", "close")
        assert await reader.closed()


async def test_read_body_of_a_streamed_request_keeps_the_http_limit(app: App) -> None:
    small = multipart(file_part("doc", "s.bin", b"s" * 1000))
    async with serve_app(app, max_body_size=64 * 1024) as base:
        async with await connect(base) as stream:
            await stream.send_all(head("/raw", len(small)) + small)
            status, _, answer = await Reader(stream).response()
        assert status == 200
        result = json.loads(answer)
        assert result["length"] == len(small) and result["same"] is True
        assert "await request.read_body()" in result["unread"]
        big = multipart(file_part("doc", "b.bin", b"b" * 200_000))
        status, _, answer, _ = await send_until_answered(base, head("/raw", len(big)) + big)
        assert status == 413
        assert "[http] max_body_size" in json.loads(answer)["detail"]
        # without Content-Length (chunked) the limit is checked as the body arrives
        chunked = b"".join(b"%x\r\n%s\r\n" % (len(big[i:i + 8192]), big[i:i + 8192])
                           for i in range(0, len(big), 8192)) + b"0\r\n\r\n"
        request = (f"POST /raw HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
                   f"Content-Type: {MULTIPART}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
        status, _, answer, _ = await send_until_answered(base, request + chunked)
        assert status == 413
        assert "[http] max_body_size" in json.loads(answer)["detail"]


async def test_a_chunked_upload_streams_too(app: App) -> None:
    data = os.urandom(300_000)
    body = multipart(field_part("k", "v"), file_part("doc", "c.bin", data))
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 10_000]), body[i:i + 10_000])
                       for i in range(0, len(body), 10_000)) + b"0\r\n\r\n"
    request = (f"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
               f"Content-Type: {MULTIPART}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    async with serve_app(app) as base, await connect(base) as stream:
        reader = Reader(stream)
        await stream.send_all(request + chunked + b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, answer = await reader.response()
        assert status == 200
        result: dict[str, Any] = json.loads(answer)
        assert result["fields"] == {"k": "v"}
        assert result["files"][0]["sha256"] == hashlib.sha256(data).hexdigest()
        assert (await reader.response())[2] == b"pong"


async def test_a_client_stalling_mid_upload_gets_408_and_leaves_no_file(app: App,
                                                                        spool: Path) -> None:
    body = file_part("doc", "stall.bin", b"s" * 200_000)
    async with serve_app(app, request_timeout=0.5) as base, await connect(base) as stream:
        reader = Reader(stream)
        await stream.send_all(head("/upload", len(body)) + body[:100_000])
        with trio.fail_after(5):
            while not open_spooled_files(spool):
                await trio.sleep(0.01)
        status, headers, _ = await reader.response()  # no progress for request_timeout
        assert status == 408 and headers["connection"] == "close"
        assert open_spooled_files(spool) == [] and list(spool.iterdir()) == []


async def test_a_multipart_body_sent_to_a_json_endpoint_is_a_415(app: App) -> None:
    body = multipart(field_part("a", "1"))
    async with serve_app(app) as base, await connect(base) as stream:
        reader = Reader(stream)
        await stream.send_all(head("/json", len(body)) + body
                              + b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, headers, answer = await reader.response()
        assert status == 415, answer
        assert "await request.read_body()" in json.loads(answer)["detail"]
        assert headers.get("connection") != "close"  # the small unread body was drained
        assert (await reader.response())[2] == b"pong"

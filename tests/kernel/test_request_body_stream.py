"""The kernel's body-stream seam: a server may leave the body on the socket (``body_stream``);
``read_body()`` reads the rest, ``stream()`` yields it chunk by chunk, ``body`` says clearly
when it is not read yet. Buffered requests (test client, ASGI) behave as before."""

from __future__ import annotations

import pytest

from rum import RumError
from rum.errors import PayloadTooLarge, UnsupportedMediaType
from rum.request import BodyStream, Request


class Chunks:
    """A body stream over fixed chunks, counting reads (a server's stand-in)."""

    def __init__(self, *chunks: bytes, limit: int = 1 << 20) -> None:
        self.chunks = list(chunks)
        self.limit = limit
        self.receives = 0

    async def receive(self) -> bytes:
        self.receives += 1
        return self.chunks.pop(0) if self.chunks else b""

    async def read(self) -> bytes:
        data = b""
        while chunk := await self.receive():
            data += chunk
            if len(data) > self.limit:
                raise PayloadTooLarge("too big")
        return data


def streamed(*chunks: bytes, **kwargs: int) -> tuple[Request, Chunks]:
    source = Chunks(*chunks, **kwargs)
    stream: BodyStream = source
    return Request("POST", "/", body_stream=stream), source


async def test_a_buffered_body_is_unchanged() -> None:
    request = Request("POST", "/", body=b"a=1")
    assert request.body == b"a=1" and not request.body_pending
    assert await request.read_body() == b"a=1"
    assert [c async for c in request.stream()] == [b"a=1"]
    assert request.body == b"a=1"  # a buffered body stays after streaming
    assert [c async for c in Request("GET", "/").stream()] == []


async def test_body_of_a_streamed_request_says_how_to_read_it() -> None:
    request, source = streamed(b"ab", b"cd")
    assert request.body_pending
    with pytest.raises(UnsupportedMediaType, match=r"await request\.read_body\(\)") as info:
        request.body  # noqa: B018
    assert info.value.status == 415  # a client's multipart body sent to a JSON endpoint
    with pytest.raises(UnsupportedMediaType):
        request.json()
    assert source.receives == 0  # nothing read until asked
    assert await request.read_body() == b"abcd"
    assert request.body == b"abcd" and not request.body_pending
    assert await request.read_body() == b"abcd"  # read once


async def test_stream_yields_chunks_as_they_come_and_only_once() -> None:
    request, source = streamed(b"ab", b"cd", b"ef")
    seen = []
    async for chunk in request.stream():
        seen.append((chunk, source.receives))
    assert seen == [(b"ab", 1), (b"cd", 2), (b"ef", 3)]
    assert request.body == b"" and not request.body_pending
    request, _ = streamed(b"ab", b"cd")
    async for _chunk in request.stream():
        break
    with pytest.raises(RumError, match="once"):
        [c async for c in request.stream()]
    with pytest.raises(RumError, match="no copy is kept"):
        request.body  # noqa: B018


async def test_the_server_limit_applies_to_read_body_and_forms_read_the_rest() -> None:
    request, _ = streamed(b"x" * 10, b"x" * 10, limit=15)
    with pytest.raises(PayloadTooLarge):
        await request.read_body()
    request, _ = streamed(b"a=1&", b"b=2", limit=15)
    request.headers["content-type"] = "application/x-www-form-urlencoded"
    form = await request.form()
    assert dict(form.items()) == {"a": "1", "b": "2"}
    assert request.body == b"a=1&b=2"


def test_setting_body_replaces_a_pending_stream() -> None:
    request, _ = streamed(b"ab")
    request.body = b"new"
    assert request.body == b"new" and not request.body_pending

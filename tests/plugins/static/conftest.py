"""Fixtures for the static tests: ``raw_request``, a minimal HTTP/1.1 client over a raw trio
socket that sends the request target byte for byte (no client-side path normalisation), so
traversal attempts reach the server unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import h11
import pytest
import trio


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


async def raw_request(base_url: str, target: str | bytes, *, method: str = "GET",
                      headers: dict[str, str] | None = None) -> RawResponse:
    """Send one request with ``target`` verbatim and read the whole response."""
    url = urlsplit(base_url)
    conn = h11.Connection(h11.CLIENT)
    hdrs = [("host", url.netloc), ("connection", "close"), *(headers or {}).items()]
    target_bytes = target.encode("latin-1") if isinstance(target, str) else target
    stream = await trio.open_tcp_stream(url.hostname, url.port)
    async with stream:
        await stream.send_all(conn.send(h11.Request(method=method, target=target_bytes,
                                                    headers=hdrs)))
        await stream.send_all(conn.send(h11.EndOfMessage()))
        status, got, body = 0, {}, bytearray()
        with trio.fail_after(10):
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await stream.receive_some(65536))
                    continue
                if isinstance(event, h11.Response):
                    status = event.status_code
                    got = {k.decode().lower(): v.decode() for k, v in event.headers}
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                    break
    return RawResponse(status, got, bytes(body))


@pytest.fixture(name="raw_request")
def raw_request_fixture():
    """The :func:`raw_request` coroutine function."""
    return raw_request

"""Streamed responses that declare a content-length go out identity-encoded with that length;
a stream that breaks its declared length closes the connection (and is logged)."""

from __future__ import annotations

import logging

import httpx
from http_helpers import ROUTES, connect, read_responses, read_until_closed

from rum import App, Controller, Request, Response
from rum_http.testing import serve_app

PARTS = [b"a" * 1000, b"b" * 2000, b"c" * 3000]


class Sized(Controller):
    """Streams PARTS and declares ``?declare=N`` bytes (default: their real length)."""

    async def handle(self, request: Request) -> Response:
        async def chunks():
            for part in PARTS:
                yield part

        declared = request.query.get("declare", str(sum(map(len, PARTS))))
        return Response.streaming(chunks(), content_type="application/octet-stream",
                                  headers={"content-length": declared})


def app_with(tmp_path) -> App:
    return App([*ROUTES, Sized.route("/sized")], plugins=["http"], root=tmp_path)


def head_and_body(data: bytes) -> tuple[bytes, bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    return head.lower(), body


async def test_known_length_is_sent_identity_encoded_and_keeps_the_connection(tmp_path):
    async with serve_app(app_with(tmp_path)) as url:
        stream = await connect(url)
        await stream.send_all(b"GET /sized HTTP/1.1\r\nHost: t\r\n\r\n"
                              b"GET /echo HTTP/1.1\r\nHost: t\r\n\r\n")
        first, second = await read_responses(stream, 2)
        await stream.aclose()
        stream = await connect(url)
        await stream.send_all(b"GET /sized HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        head, body = head_and_body(await read_until_closed(stream))
    assert first == b"200 " + b"".join(PARTS)
    assert second.startswith(b"200 GET /echo")
    assert b"content-length: 6000\r\n" in head + b"\r\n"
    assert b"transfer-encoding" not in head
    assert body == b"".join(PARTS)


async def test_known_length_reaches_httpx_as_content_length(tmp_path):
    async with (serve_app(app_with(tmp_path)) as url, httpx.AsyncClient() as client,
                client.stream("GET", url + "/sized") as resp):
        assert resp.headers["content-length"] == "6000"
        assert "transfer-encoding" not in resp.headers
        assert await resp.aread() == b"".join(PARTS)


async def test_http10_client_gets_known_length_and_keep_alive(tmp_path):
    async with serve_app(app_with(tmp_path)) as url:
        stream = await connect(url)
        await stream.send_all(b"GET /sized HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                              b"GET /echo HTTP/1.0\r\n\r\n")
        data = await read_until_closed(stream)
    head, rest = head_and_body(data)
    assert b"content-length: 6000" in head and b"connection: keep-alive" in head
    assert rest.startswith(b"".join(PARTS) + b"HTTP/1.1 200 ")
    assert rest.endswith(b"GET /echo  0:")


async def test_head_of_known_length_stream_has_the_length_and_no_body(tmp_path):
    async with serve_app(app_with(tmp_path)) as url:
        stream = await connect(url)
        await stream.send_all(b"HEAD /sized HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        head, body = head_and_body(await read_until_closed(stream))
    assert b"content-length: 6000" in head and body == b""


async def test_stream_longer_than_declared_is_cut_and_closes(tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="rum.http")
    async with serve_app(app_with(tmp_path)) as url:
        stream = await connect(url)
        # a second request behind it must not be answered on the corrupt connection
        await stream.send_all(b"GET /sized?declare=2500 HTTP/1.1\r\nHost: t\r\n\r\n"
                              b"GET /echo HTTP/1.1\r\nHost: t\r\n\r\n")
        head, body = head_and_body(await read_until_closed(stream))
    assert b"content-length: 2500" in head
    assert body == (b"".join(PARTS))[:2500]
    assert "more than its content-length of 2500 bytes" in caplog.text
    assert "GET /sized" in caplog.text


async def test_stream_shorter_than_declared_closes(tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="rum.http")
    async with serve_app(app_with(tmp_path)) as url:
        stream = await connect(url)
        await stream.send_all(b"GET /sized?declare=9000 HTTP/1.1\r\nHost: t\r\n\r\n"
                              b"GET /echo HTTP/1.1\r\nHost: t\r\n\r\n")
        head, body = head_and_body(await read_until_closed(stream))
    assert b"content-length: 9000" in head
    assert body == b"".join(PARTS)  # the client sees a short body, then the close
    assert "ended after 6000 of its content-length of 9000 bytes" in caplog.text


async def test_invalid_declared_length_falls_back_to_chunked(tmp_path):
    async with serve_app(app_with(tmp_path)) as url:
        stream = await connect(url)
        await stream.send_all(b"GET /sized?declare=lots HTTP/1.1\r\nHost: t\r\n\r\n"
                              b"GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = await read_until_closed(stream)
    head, _ = head_and_body(data)
    assert b"transfer-encoding: chunked" in head and b"content-length" not in head
    assert data.count(b"HTTP/1.1 200 ") == 2

"""Basic requests over a real loopback socket: GET, keep-alive, pipelining, HEAD, bodies."""

from __future__ import annotations

import httpx
from http_helpers import connect, read_responses, read_until_closed

from rum_http.testing import serve_app


async def test_get_quick_start_page(make_app):
    async with serve_app(make_app()) as url, httpx.AsyncClient() as client:
        response = await client.get(url + "/")
    assert response.status_code == 200
    assert response.text == "<h1>Hey Rum!</h1>"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-length"] == "17"
    assert response.headers["server"] == "rum"
    assert "GMT" in response.headers["date"]


async def test_keep_alive_serves_several_requests_on_one_connection(make_app):
    async with serve_app(make_app()) as url:
        stream = await connect(url)
        for i in range(5):
            await stream.send_all(f"GET /echo?i={i} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            [resp] = await read_responses(stream, 1)
            assert resp == f"200 GET /echo i={i} 0:".encode()
        await stream.aclose()


async def test_pipelined_requests_are_answered_in_order(make_app):
    async with serve_app(make_app()) as url:
        stream = await connect(url)
        await stream.send_all(b"".join(
            f"POST /echo/{i} HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nab{i}".encode()
            for i in range(4)))
        responses = await read_responses(stream, 4)
        assert responses == [f"200 POST /echo/{i}  3:ab{i}".encode() for i in range(4)]


async def test_percent_decoded_path_and_raw_query(make_app):
    async with serve_app(make_app()) as url, httpx.AsyncClient() as client:
        response = await client.get(url + "/echo/a%20b?x=%20y")
    assert response.text == "GET /echo/a b x=%20y 0:"


async def test_http_1_0_closes_after_the_response(make_app):
    async with serve_app(make_app()) as url:
        stream = await connect(url)
        await stream.send_all(b"GET / HTTP/1.0\r\n\r\n")
        data = await read_until_closed(stream)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"connection: close\r\n" in data
    assert data.endswith(b"<h1>Hey Rum!</h1>")


async def test_http_1_0_keep_alive_when_asked(make_app):
    async with serve_app(make_app()) as url:
        stream = await connect(url)
        for _ in range(2):
            await stream.send_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            [resp] = await read_responses(stream, 1)
            assert resp == b"200 <h1>Hey Rum!</h1>"


async def test_head_has_headers_but_no_body(make_app):
    async with serve_app(make_app()) as url:
        stream = await connect(url)
        await stream.send_all(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n"
                              b"Connection: close\r\n\r\n")
        data = await read_until_closed(stream)
    head, rest = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"content-length: 17" in head
    # the next bytes are the second response, not a body for HEAD
    assert rest.startswith(b"HTTP/1.1 200 OK")
    assert rest.endswith(b"<h1>Hey Rum!</h1>")


async def test_chunked_request_body(make_app):
    async with serve_app(make_app()) as url:
        stream = await connect(url)
        await stream.send_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                              b"\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        [resp] = await read_responses(stream, 1)
    assert resp == b"200 POST /echo  11:hello world"


async def test_streaming_response_is_chunked(make_app):
    async with serve_app(make_app()) as url:
        stream = await connect(url)
        await stream.send_all(b"GET /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = await read_until_closed(stream)
    head, body = data.split(b"\r\n\r\n", 1)
    assert b"transfer-encoding: chunked" in head
    assert b"content-length" not in head
    assert body == b"6\r\npart0;\r\n6\r\npart1;\r\n6\r\npart2;\r\n0\r\n\r\n"
    async with serve_app(make_app()) as url, httpx.AsyncClient() as client:
        response = await client.get(url + "/stream")
    assert response.text == "part0;part1;part2;"

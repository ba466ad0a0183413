"""Limits and hostile clients: each gets a 4xx (or a closed connection) and the server
goes on serving the next client."""

from __future__ import annotations

import httpx
import trio
from http_helpers import connect, read_responses, read_until_closed

from rum_http.testing import serve_app


async def assert_still_serving(url: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(url + "/")
    assert response.text == "<h1>Hey Rum!</h1>"


async def test_malformed_request_line_gets_400_and_server_goes_on(make_app):
    async with serve_app(make_app()) as url:
        for garbage in (b"GARBAGE\r\n\r\n", b"GET / HTTP/9.Z\r\n\r\n",
                        b"\x00\x01\x02 / HTTP/1.1\r\n\r\n"):
            stream = await connect(url)
            await stream.send_all(garbage)
            data = await read_until_closed(stream)
            assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n"), data
            assert b"connection: close" in data
        await assert_still_serving(url)


async def test_malformed_header_gets_400(make_app):
    async with serve_app(make_app()) as url:
        stream = await connect(url)
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: t\r\nBad Header Line\r\n\r\n")
        data = await read_until_closed(stream)
        assert data.startswith(b"HTTP/1.1 400 "), data
        await assert_still_serving(url)


async def test_requests_before_a_bad_one_are_answered_first(make_app):
    async with serve_app(make_app()) as url:
        stream = await connect(url)
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\nNONSENSE\r\n\r\n")
        data = await read_until_closed(stream)
    first, _ = data.split(b"HTTP/1.1 400", 1)
    assert first.startswith(b"HTTP/1.1 200 OK") and first.endswith(b"<h1>Hey Rum!</h1>")


async def test_oversized_headers_get_431(make_app):
    async with serve_app(make_app(max_header_size=4096)) as url:
        stream = await connect(url)
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n")
        data = await read_until_closed(stream)
        assert data.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), data
        await assert_still_serving(url)


async def test_endless_header_without_line_end_gets_431(make_app):
    async with serve_app(make_app(max_header_size=1024)) as url:
        stream = await connect(url)
        await stream.send_all(b"GET / HTTP/1.1\r\nX-Endless: ")
        data = b""
        with trio.fail_after(5):
            for _ in range(40):
                try:
                    await stream.send_all(b"b" * 8192)
                except trio.BrokenResourceError:
                    break
                await trio.sleep(0.01)
            data = await read_until_closed(stream)
        assert data.startswith(b"HTTP/1.1 431 ") or data == b""
        await assert_still_serving(url)


async def test_too_many_headers_get_431(make_app):
    async with serve_app(make_app(max_headers=10)) as url:
        stream = await connect(url)
        extra = b"".join(b"X-H%d: v\r\n" % i for i in range(11))
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: t\r\n" + extra + b"\r\n")
        data = await read_until_closed(stream)
        assert data.startswith(b"HTTP/1.1 431 "), data
        assert b"more than 10 request headers" in data
        # exactly at the limit is fine
        async with httpx.AsyncClient() as client:
            ok = await client.get(url + "/", headers={f"x-h{i}": "v" for i in range(5)})
        assert ok.status_code == 200


async def test_oversized_body_gets_413(make_app):
    async with serve_app(make_app(max_body_size=100)) as url, httpx.AsyncClient() as client:
        response = await client.post(url + "/echo", content=b"x" * 101)
        assert response.status_code == 413
        assert response.headers["connection"] == "close"
        ok = await client.post(url + "/echo", content=b"x" * 100)
        assert ok.status_code == 200
        assert ok.text.endswith("100:" + "x" * 100)


async def test_oversized_chunked_body_gets_413(make_app):
    async with serve_app(make_app(max_body_size=10)) as url:
        stream = await connect(url)
        await stream.send_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                              b"\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n")
        data = await read_until_closed(stream)
        assert data.startswith(b"HTTP/1.1 413 "), data
        await assert_still_serving(url)


async def test_expect_100_continue(make_app):
    async with serve_app(make_app(max_body_size=100)) as url:
        stream = await connect(url)
        await stream.send_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                              b"Expect: 100-continue\r\n\r\n")
        with trio.fail_after(5):
            interim = await stream.receive_some(65536)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        await stream.send_all(b"hello")
        [resp] = await read_responses(stream, 1)
        assert resp == b"200 POST /echo  5:hello"


async def test_expect_100_continue_over_the_limit_gets_413_without_100(make_app):
    async with serve_app(make_app(max_body_size=100)) as url:
        stream = await connect(url)
        await stream.send_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n"
                              b"Expect: 100-continue\r\n\r\n")
        data = await read_until_closed(stream)
        assert data.startswith(b"HTTP/1.1 413 Content Too Large\r\n") or data.startswith(
            b"HTTP/1.1 413 Request Entity Too Large\r\n"), data
        assert b"100 Continue" not in data


async def test_slow_client_gets_408_within_request_timeout(make_app):
    async with serve_app(make_app(request_timeout=0.5, keep_alive_timeout=5)) as url:
        stream = await connect(url)
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: t\r\n")  # half a head, then nothing
        start = trio.current_time()
        data = await read_until_closed(stream)
        elapsed = trio.current_time() - start
        assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), data
        assert elapsed < 2
        await assert_still_serving(url)


async def test_slowloris_dripping_bytes_still_times_out(make_app):
    async with serve_app(make_app(request_timeout=0.6, keep_alive_timeout=5)) as url:
        stream = await connect(url)
        start = trio.current_time()
        with trio.move_on_after(4):
            try:
                for byte in b"GET / HTTP/1.1\r\nX-A: " + b"a" * 200:
                    await stream.send_all(bytes([byte]))
                    await trio.sleep(0.05)
            except trio.BrokenResourceError:
                pass
        data = await read_until_closed(stream)
        assert data.startswith(b"HTTP/1.1 408 ")
        assert trio.current_time() - start < 3


async def test_slow_body_gets_408(make_app):
    async with serve_app(make_app(request_timeout=0.5)) as url:
        stream = await connect(url)
        await stream.send_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        data = await read_until_closed(stream)
        assert data.startswith(b"HTTP/1.1 408 ")


async def test_idle_keep_alive_connection_is_closed(make_app):
    async with serve_app(make_app(keep_alive_timeout=0.3)) as url:
        stream = await connect(url)
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        [resp] = await read_responses(stream, 1)
        assert resp == b"200 <h1>Hey Rum!</h1>"
        start = trio.current_time()
        rest = await read_until_closed(stream)
        assert rest == b""  # closed without a response
        assert 0.2 < trio.current_time() - start < 2


async def test_connection_that_never_sends_is_closed(make_app):
    async with serve_app(make_app(keep_alive_timeout=0.3)) as url:
        stream = await connect(url)
        assert await read_until_closed(stream) == b""


async def test_overlong_request_target_gets_414(make_app):
    async with serve_app(make_app(max_header_size=2048)) as url:
        stream = await connect(url)
        await stream.send_all(b"GET /" + b"a" * 4000 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
        data = await read_until_closed(stream)
        assert data.startswith(b"HTTP/1.1 414 "), data[:100]
        await assert_still_serving(url)


async def test_expect_100_continue_is_ignored_for_http_1_0(make_app):
    async with serve_app(make_app()) as url:
        stream = await connect(url)
        await stream.send_all(b"POST /echo HTTP/1.0\r\nContent-Length: 2\r\n"
                              b"Expect: 100-continue\r\n\r\n")
        with trio.move_on_after(0.3):
            assert await stream.receive_some(1024) == b"", "no 100 for HTTP/1.0"
        await stream.send_all(b"ok")
        data = await read_until_closed(stream)
        assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"2:ok")

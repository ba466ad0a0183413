"""Edge cases: request smuggling shapes, absolute targets, big bodies, broken streams."""

from __future__ import annotations

import httpx
import trio
from http_helpers import ROUTES, connect, read_responses, read_until_closed

from rum import App, Controller, Request, Response
from rum_http.testing import serve_app


class Big(Controller):
    async def handle(self, request: Request) -> Response:
        size = int(float(request.query.get("mb", "3")) * 1_000_000)
        return Response(b"x" * size, content_type="application/octet-stream")


class Broken(Controller):
    async def handle(self, request: Request) -> Response:
        async def chunks():
            yield b"first;"
            raise RuntimeError("the stream broke")

        return Response.streaming(chunks())


class Closing(Controller):
    async def handle(self, request: Request) -> Response:
        return Response.text("bye", headers={"connection": "close"})


class Empty(Controller):
    async def handle(self, request: Request) -> Response:
        return Response.empty()


def app_with(tmp_path, **http) -> App:
    return App([*ROUTES, Big.route("/big"), Broken.route("/broken"),
                Closing.route("/closing"), Empty.route("/empty")],
               plugins=["http"], root=tmp_path, config={"http": http} if http else None)


async def test_content_length_with_transfer_encoding_is_refused(tmp_path):
    async with serve_app(app_with(tmp_path)) as url:
        stream = await connect(url)
        await stream.send_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
                              b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /x HTTP/1.1\r\n\r\n")
        data = await read_until_closed(stream)
    assert data.startswith(b"HTTP/1.1 400 ")
    assert data.count(b"HTTP/1.1") == 1


async def test_duplicate_content_length_is_refused(tmp_path):
    async with serve_app(app_with(tmp_path)) as url:
        stream = await connect(url)
        await stream.send_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
                              b"Content-Length: 2\r\n\r\nab")
        data = await read_until_closed(stream)
    assert data.startswith(b"HTTP/1.1 400 ")


async def test_absolute_form_target(tmp_path):
    async with serve_app(app_with(tmp_path)) as url:
        stream = await connect(url)
        await stream.send_all(b"GET http://example.com/echo/a?q=1 HTTP/1.1\r\nHost: t\r\n\r\n")
        [resp] = await read_responses(stream, 1)
    assert resp == b"200 GET /echo/a q=1 0:"


async def test_large_response_body_is_sent_whole(tmp_path):
    async with serve_app(app_with(tmp_path)) as url, httpx.AsyncClient() as client:
        response = await client.get(url + "/big")
        assert len(response.content) == 3_000_000
        again = await client.get(url + "/")  # same keep-alive connection goes on
        assert again.text == "<h1>Hey Rum!</h1>"


async def test_large_request_body(tmp_path):
    app = app_with(tmp_path, max_body_size=5_000_000)
    async with serve_app(app) as url, httpx.AsyncClient() as client:
        response = await client.post(url + "/echo", content=b"y" * 2_000_000)
    assert response.text.startswith("POST /echo  2000000:yyy")


async def test_stream_that_fails_midway_ends_the_connection_without_a_last_chunk(tmp_path):
    async with serve_app(app_with(tmp_path)) as url:
        stream = await connect(url)
        await stream.send_all(b"GET /broken HTTP/1.1\r\nHost: t\r\n\r\n")
        data = await read_until_closed(stream)
        assert data.startswith(b"HTTP/1.1 200 OK")
        assert data.endswith(b"6\r\nfirst;\r\n")  # no "0\r\n\r\n": the client sees it broke
        async with httpx.AsyncClient() as client:
            assert (await client.get(url + "/")).status_code == 200


async def test_streaming_to_http_1_0_is_unframed_and_closes(tmp_path):
    async with serve_app(app_with(tmp_path)) as url:
        stream = await connect(url)
        await stream.send_all(b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        data = await read_until_closed(stream)
    head, body = data.split(b"\r\n\r\n", 1)
    assert b"transfer-encoding" not in head and b"connection: close" in head
    assert body == b"part0;part1;part2;"


async def test_head_of_a_streaming_response_sends_no_body(tmp_path):
    async with serve_app(app_with(tmp_path)) as url:
        stream = await connect(url)
        await stream.send_all(b"HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n"
                              b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = await read_until_closed(stream)
    first, second = data.split(b"\r\n\r\n", 1)
    assert first.startswith(b"HTTP/1.1 200") and b"transfer-encoding" not in first
    assert second.startswith(b"HTTP/1.1 200 OK")


async def test_app_connection_close_header_closes(tmp_path):
    async with serve_app(app_with(tmp_path)) as url:
        stream = await connect(url)
        await stream.send_all(b"GET /closing HTTP/1.1\r\nHost: t\r\n\r\n")
        data = await read_until_closed(stream)
    assert data.endswith(b"bye") and data.count(b"connection: close") == 1


async def test_204_has_no_length_and_no_body(tmp_path):
    async with serve_app(app_with(tmp_path)) as url:
        stream = await connect(url)
        await stream.send_all(b"GET /empty HTTP/1.1\r\nHost: t\r\n\r\n"
                              b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = await read_until_closed(stream)
    first, second = data.split(b"\r\n\r\n", 1)
    assert first.startswith(b"HTTP/1.1 204 No Content") and b"content-length" not in first
    assert second.startswith(b"HTTP/1.1 200 OK")


async def test_upgrade_request_answered_normally_closes_the_connection(tmp_path):
    async with serve_app(app_with(tmp_path)) as url:
        stream = await connect(url)
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
                              b"Connection: Upgrade\r\n\r\n")
        data = await read_until_closed(stream)
    assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"<h1>Hey Rum!</h1>")
    assert b"connection: close" in data


async def test_many_concurrent_clients(tmp_path):
    async with serve_app(app_with(tmp_path)) as url:
        results: list[int] = []

        async def client() -> None:
            async with httpx.AsyncClient() as c:
                for _ in range(5):
                    results.append((await c.get(url + "/")).status_code)

        async with trio.open_nursery() as nursery:
            for _ in range(20):
                nursery.start_soon(client)
    assert results == [200] * 100


async def test_client_that_stops_reading_the_response_is_cut_off(tmp_path):
    app = app_with(tmp_path, request_timeout=0.5)
    async with serve_app(app) as url:
        server = app.extensions["http"]
        stream = await connect(url)
        await stream.send_all(b"GET /big?mb=64 HTTP/1.1\r\nHost: t\r\n\r\n")  # never read
        with trio.fail_after(5):
            while not server.connections:
                await trio.sleep(0.01)
            while server.connections:
                await trio.sleep(0.05)
        async with httpx.AsyncClient() as client:
            assert (await client.get(url + "/")).status_code == 200

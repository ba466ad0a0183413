"""Raw-socket helpers for the HTTP server tests."""

from __future__ import annotations

import trio

from rum import Controller, Request, Response


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def connect(url: str) -> trio.SocketStream:
    return await trio.open_tcp_stream("127.0.0.1", port_of(url))


async def read_until_closed(stream: trio.SocketStream, timeout: float = 5) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    with trio.fail_after(timeout):
        while True:
            try:
                chunk = await stream.receive_some(65536)
            except trio.BrokenResourceError:
                break
            if not chunk:
                break
            data += chunk
    return data


async def read_responses(stream: trio.SocketStream, count: int, timeout: float = 5) -> list[bytes]:
    """Read ``count`` complete responses (Content-Length or chunked) off a keep-alive stream."""
    import httptools

    done: list[bytes] = []

    class Proto:
        def __init__(self) -> None:
            self.status = 0
            self.body = b""

        def on_status(self, status: bytes) -> None:
            pass

        def on_body(self, body: bytes) -> None:
            self.body += body

        def on_message_complete(self) -> None:
            done.append(b"%d %s" % (parser.get_status_code(), self.body))
            self.body = b""

    parser = httptools.HttpResponseParser(Proto())
    with trio.fail_after(timeout):
        while len(done) < count:
            chunk = await stream.receive_some(65536)
            if not chunk:
                break
            parser.feed_data(chunk)
    return done


# -- the test app's controllers ------------------------------------------------------------


class Index(Controller):
    async def handle(self, request: Request) -> Response:
        return Response.html("<h1>Hey Rum!</h1>")


class Echo(Controller):
    async def handle(self, request: Request) -> Response:
        return Response.text(f"{request.method} {request.path} {request.query_string} "
                             f"{len(request.body)}:{request.body.decode()}")


class Slow(Controller):
    async def handle(self, request: Request) -> Response:
        import trio

        await trio.sleep(float(request.query.get("s", "0.5")))
        return Response.text("slow done")


class Stream(Controller):
    async def handle(self, request: Request) -> Response:
        async def chunks():
            for i in range(3):
                yield f"part{i};".encode()

        return Response.streaming(chunks())


ROUTES = [Index.route("/"), Echo.route("/echo"), Echo.route("/echo/<path:rest>"),
          Slow.route("/slow"), Stream.route("/stream")]

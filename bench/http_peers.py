"""The bare trio loops Rum is measured against in ``bench/http_plaintext.py``.

- ``python bench/http_peers.py trio-httptools PORT``: a bare trio + httptools loop answering
  a fixed response, the floor of what trio can do;
- ``python bench/http_peers.py trio-h11 PORT``: the same loop with h11 as the parser.
"""

from __future__ import annotations

import sys

PAGE = b"<h1>Hey Rum!</h1>"


FIXED = (b"HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\n"
         b"content-length: %d\r\n\r\n%s" % (len(PAGE), PAGE))


async def _bare_httptools(port: int) -> None:
    import httptools
    import trio

    async def handle(stream: trio.SocketStream) -> None:
        done: list[int] = []

        class Proto:
            def on_message_complete(self) -> None:
                done.append(1)

        parser = httptools.HttpRequestParser(Proto())
        try:
            while True:
                data = await stream.receive_some(65536)
                if not data:
                    return
                parser.feed_data(data)
                if done:
                    await stream.send_all(FIXED * len(done))
                    done.clear()
        except (trio.BrokenResourceError, httptools.HttpParserError):
            return

    await trio.serve_tcp(handle, port, host="127.0.0.1")


async def _bare_h11(port: int) -> None:
    import h11
    import trio

    async def handle(stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await stream.receive_some(65536))
                    continue
                if isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                    return
                if isinstance(event, h11.EndOfMessage):
                    out = conn.send(h11.Response(status_code=200, headers=[
                        ("content-type", "text/html; charset=utf-8"),
                        ("content-length", str(len(PAGE)))]))
                    out += conn.send(h11.Data(data=PAGE)) + conn.send(h11.EndOfMessage())
                    await stream.send_all(out)
                    if conn.our_state is h11.MUST_CLOSE:
                        return
                    conn.start_next_cycle()
        except (trio.BrokenResourceError, h11.RemoteProtocolError):
            return

    await trio.serve_tcp(handle, port, host="127.0.0.1")


if __name__ == "__main__":
    import trio

    kind, port = sys.argv[1], int(sys.argv[2])
    trio.run({"trio-httptools": _bare_httptools, "trio-h11": _bare_h11}[kind], port)

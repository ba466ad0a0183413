"""WebSocket controllers over real sockets: echo, binary, ping, limits, origins, sessions."""

from __future__ import annotations

import trio

from rum import Controller, Response
from rum_http.testing import serve_app
from rum_websockets import WebSocketController


class Echo(WebSocketController):
    async def websocket(self, ws):
        async for message in ws:
            await ws.send(message)


class Callbacks(WebSocketController):
    events: list = []

    async def connect(self, ws):
        await ws.send_text("welcome")

    async def receive(self, ws, message):
        if message == "bye":
            await ws.close(4000, "asked to leave")
            return
        await ws.send_text(f"got {message}")

    async def disconnect(self, ws, code):
        type(self).events.append(code)


class Small(WebSocketController):
    max_message_size = 1000

    async def websocket(self, ws):
        async for message in ws:
            await ws.send(message)


def make_app(rum_app_factory, toml=""):
    return rum_app_factory([Echo.route("/echo"), Callbacks.route("/cb"), Small.route("/small")],
                           plugins=["http", "websockets"], toml=toml)


async def test_echo_text_and_binary(rum_app_factory, ws_connect):
    app = make_app(rum_app_factory)
    async with serve_app(app) as url, ws_connect(url, "/echo") as ws:
        await ws.send("hello")
        assert await ws.receive() == "hello"
        await ws.send(b"\x00\x01\xff")
        assert await ws.receive() == b"\x00\x01\xff"
        big = "é" * 100_000  # several frames on the wire
        await ws.send(big)
        assert await ws.receive() == big
        await ws.close()


async def test_ping_is_answered(rum_app_factory, ws_connect):
    app = make_app(rum_app_factory)
    async with serve_app(app) as url, ws_connect(url, "/echo") as ws:
        assert await ws.ping(b"are you there") == b"are you there"


async def test_callbacks_and_server_close(rum_app_factory, ws_connect, Closed):
    Callbacks.events = []
    app = make_app(rum_app_factory)
    async with serve_app(app) as url, ws_connect(url, "/cb") as ws:
        assert await ws.receive() == "welcome"
        await ws.send("one")
        assert await ws.receive() == "got one"
        await ws.send("bye")
        try:
            await ws.receive()
        except Closed as closed:
            assert closed.code == 4000
            assert closed.reason == "asked to leave"
        else:
            raise AssertionError("the server did not close")
        with trio.fail_after(5):
            while not Callbacks.events:
                await trio.sleep(0.01)
    assert Callbacks.events == [4000]


async def test_oversized_message_closes_with_1009(rum_app_factory, ws_connect, Closed):
    app = make_app(rum_app_factory, toml="[websockets]\nmax_message_size = 5000\n")
    async with serve_app(app) as url:
        async with ws_connect(url, "/small") as ws:  # class attribute: 1000 bytes
            await ws.send("x" * 1000)
            assert await ws.receive() == "x" * 1000
            await ws.send("x" * 1001)
            try:
                await ws.receive()
            except Closed as closed:
                assert closed.code == 1009
            else:
                raise AssertionError("oversized message was accepted")
        async with ws_connect(url, "/echo") as ws:  # config: 5000 bytes
            await ws.send(b"y" * 5000)
            assert await ws.receive() == b"y" * 5000
            await ws.send(b"y" * 5001)
            try:
                await ws.receive()
            except Closed as closed:
                assert closed.code == 1009


async def test_origin_checks(rum_app_factory, ws_connect, Rejected):
    app = make_app(rum_app_factory,
                   toml='[websockets]\nallowed_origins = ["https://friend.example"]\n')
    async with serve_app(app) as url:
        host = url.removeprefix("http://")
        async with ws_connect(url, "/echo", headers={"origin": f"http://{host}"}) as ws:
            await ws.send("same origin")
            assert await ws.receive() == "same origin"
        async with ws_connect(url, "/echo", headers={"origin": "https://friend.example"}) as ws:
            await ws.send("listed")
            assert await ws.receive() == "listed"
        try:
            async with ws_connect(url, "/echo", headers={"origin": "https://evil.example"}):
                raise AssertionError("a foreign origin was accepted")
        except Rejected as rejected:
            assert rejected.status == 403
            assert b"allowed_origins" in rejected.body


async def test_plain_http_request_gets_426(rum_app_factory):
    import httpx

    app = make_app(rum_app_factory)
    async with serve_app(app) as url, httpx.AsyncClient() as client:
        r = await client.get(f"{url}/echo")
        post = await client.post(f"{url}/echo")
    assert r.status_code == 426
    assert "WebSocket endpoint" in r.text
    assert r.headers["upgrade"] == "websocket"
    assert post.status_code == 405


async def test_auth_runs_before_upgrade(rum_app_factory, ws_connect, Rejected):
    from rum import Authentication

    class TokenQuery(Authentication):
        async def authorize(self, request):
            return request.query.get("token") == "sesame"

    class Guarded(Echo):
        def auth(self):
            return TokenQuery()

    app = rum_app_factory([Guarded.route("/guarded")], plugins=["http", "websockets"])
    async with serve_app(app) as url:
        try:
            async with ws_connect(url, "/guarded"):
                raise AssertionError("upgrade without credentials")
        except Rejected as rejected:
            assert rejected.status in (401, 403)
        async with ws_connect(url, "/guarded?token=sesame") as ws:
            await ws.send("in")
            assert await ws.receive() == "in"


async def test_session_visible_on_socket(rum_app_factory, ws_connect):
    import httpx

    class Login(Controller):
        csrf_exempt = True  # a cookie-less post (login CSRF protection would refuse it)

        async def post(self, request):
            request.session["name"] = "ada"
            return Response.text("ok")

    class Whoami(WebSocketController):
        async def websocket(self, ws):
            await ws.send_text(str(ws.session.get("name")))

    app = rum_app_factory([Login.route("/login"), Whoami.route("/whoami")],
                          plugins=["http", "sessions", "websockets"],
                          toml='[general]\nsecret_key = "' + "ab" * 32 + '"\n')
    async with serve_app(app) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            r = await client.post("/login")
            assert r.status_code == 200
            cookie = r.headers["set-cookie"].split(";", 1)[0]
        async with ws_connect(url, "/whoami", headers={"cookie": cookie}) as ws:
            assert await ws.receive() == "ada"


async def test_shutdown_closes_with_1001(rum_app_factory, ws_connect, Closed):
    app = make_app(rum_app_factory)
    async with serve_app(app) as url:
        ws_cm = ws_connect(url, "/echo")
        ws = await ws_cm.__aenter__()
        await ws.send("still here")
        assert await ws.receive() == "still here"
        server = app.extensions["http"]
        server.shutdown()
        try:
            await ws.receive(timeout=5)
        except Closed as closed:
            assert closed.code == 1001
        else:
            raise AssertionError("no close frame on shutdown")
        await ws_cm.__aexit__(None, None, None)



class Quiet(WebSocketController):
    ping_interval = 0.3

    async def websocket(self, ws):
        async for message in ws:
            await ws.send(message)


async def test_keepalive_pings_and_timeout(rum_app_factory, ws_connect, Closed):
    app = rum_app_factory([Quiet.route("/quiet")], plugins=["http", "websockets"])
    async with serve_app(app) as url:
        async with ws_connect(url, "/quiet") as ws:
            # a client that keeps reading answers the pings and stays connected
            for _ in range(6):  # spans at least one ping, answered while reading
                await ws.send("tick")
                assert await ws.receive() == "tick"
                await trio.sleep(0.1)
        async with ws_connect(url, "/quiet") as ws:
            await trio.sleep(1.0)  # not reading: pings go unanswered
            try:
                while True:
                    await ws.receive()
            except Closed as closed:
                assert closed.code == 1011


async def test_subprotocol_negotiation(rum_app_factory, ws_connect):
    class Chat(Echo):
        subprotocols = ("chat.v2", "chat.v1")

    app = rum_app_factory([Chat.route("/chat")], plugins=["http", "websockets"])
    async with serve_app(app) as url:
        async with ws_connect(url, "/chat", subprotocols=["chat.v1", "chat.v2"]) as ws:
            assert ws.subprotocol == "chat.v2"
        async with ws_connect(url, "/chat") as ws:
            assert ws.subprotocol is None



async def raw_upgrade(url: str, path: str) -> trio.SocketStream:
    """A raw socket to the server at ``url``, upgraded to a WebSocket on ``path`` (the
    tests then write frames by hand)."""
    import base64
    import os

    port = int(url.rsplit(":", 1)[1])
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16))
    await stream.send_all(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                          b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key
                          + b"\r\n\r\n")
    assert (await stream.receive_some(4096)).startswith(b"HTTP/1.1 101 ")
    return stream

async def test_stuck_handler_is_cancelled_after_client_leaves(rum_app_factory, ws_connect,
                                                              monkeypatch):
    from rum_websockets import connection

    monkeypatch.setattr(connection, "HANDLER_GRACE", 0.2)
    finished = trio.Event()
    cancelled = []

    class Stuck(WebSocketController):
        async def websocket(self, ws):
            await ws.send_text("ready")
            try:
                await trio.sleep_forever()  # never reads: only the grace period ends this
            except trio.Cancelled:
                cancelled.append(True)
                raise
            finally:
                finished.set()

    app = rum_app_factory([Stuck.route("/stuck")], plugins=["http", "websockets"])
    async with serve_app(app) as url:
        async with ws_connect(url, "/stuck") as ws:
            assert await ws.receive() == "ready"
            await ws.close()
        with trio.fail_after(3):
            await finished.wait()
        assert cancelled == [True]
        with trio.fail_after(3):
            while app.extensions["websockets"].connections:
                await trio.sleep(0.01)


class Adder(WebSocketController):
    """Answers each JSON message ``{"a": .., "b": ..}`` with their sum."""

    async def websocket(self, ws):
        while True:
            data = await ws.receive_json()
            await ws.send_json({"sum": data["a"] + data["b"]})


async def test_json_messages(rum_app_factory, ws_connect, Closed):
    app = rum_app_factory([Adder.route("/add")], plugins=["http", "websockets"])
    async with serve_app(app) as url, ws_connect(url, "/add") as ws:
        await ws.send('{"a": 2, "b": 3}')
        assert await ws.receive() == '{"sum":5}'
        await ws.send("not json")
        try:
            await ws.receive()
        except Closed as closed:
            assert closed.code == 1007
        else:
            raise AssertionError("invalid JSON did not close the socket")


async def test_bad_handshakes_are_refused_with_reasons(rum_app_factory):
    import httpx

    app = make_app(rum_app_factory)
    base = {"upgrade": "websocket", "connection": "Upgrade"}
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        old = await client.get("/echo", headers={**base, "sec-websocket-version": "8",
                                                 "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="})
        nokey = await client.get("/echo", headers={**base, "sec-websocket-version": "13"})
    assert old.status_code == 426
    assert old.headers["sec-websocket-version"] == "13"
    assert nokey.status_code == 400
    assert "Sec-WebSocket-Key" in nokey.text


async def test_permessage_deflate_when_enabled(rum_app_factory, ws_connect, Closed):
    app = make_app(rum_app_factory,
                   toml="[websockets]\ncompression = true\nmax_message_size = 300000\n")
    async with serve_app(app) as url:
        async with ws_connect(url, "/echo", compression=True) as ws:
            assert ws.extensions == ["permessage-deflate"]
            text = "turbo stream " * 20_000  # 260 kB, compresses to a few kB
            await ws.send(text)
            assert await ws.receive() == text
            await ws.send("a" * 2_000_000)  # tiny on the wire, too big once inflated
            try:
                await ws.receive()
            except Closed as closed:
                assert closed.code == 1009
            else:
                raise AssertionError("an inflated message over the limit was accepted")
        async with ws_connect(url, "/echo") as ws:  # not offered: not used
            assert ws.extensions == []
    plain = make_app(rum_app_factory, toml="[websockets]\n")  # defaults (same tmp dir)
    async with serve_app(plain) as url, ws_connect(url, "/echo", compression=True) as ws:
        assert ws.extensions == []  # off by default
        await ws.send("still works")
        assert await ws.receive() == "still works"


async def _raw_handshake(url: str, headers: list[bytes]) -> bytes:
    """Send a handshake with exactly ``headers`` (bytes, so anything goes) on a raw socket;
    return the response head."""
    port = int(url.rsplit(":", 1)[1])
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port
                              + b"".join(h + b"\r\n" for h in headers) + b"\r\n")
        head = b""
        with trio.fail_after(5):
            while b"\r\n\r\n" not in head:
                chunk = await stream.receive_some(4096)
                if not chunk:
                    break
                head += chunk
    return head


async def test_hostile_handshakes_are_4xx_and_the_server_keeps_serving(rum_app_factory,
                                                                        ws_connect):
    upgrade = [b"Upgrade: websocket", b"Connection: Upgrade", b"Sec-WebSocket-Version: 13"]
    good_key = b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="
    cases = {
        # 24 characters, but not base64 of 16 bytes (RFC 6455 4.2.1)
        b"Sec-WebSocket-Key: " + "é".encode("latin-1") * 24: b"400",
        b"Sec-WebSocket-Key: " + b"!" * 24: b"400",
        b"Sec-WebSocket-Key: " + b"A" * 24: b"400",  # base64 of 18 bytes
        good_key + b"\r\n" + good_key.replace(b"dG", b"xG"): b"400",  # the key twice
        good_key + b"\r\nOrigin: http://[::1:99999": b"403",  # not a URL: not this origin
        good_key + b"\r\nOrigin: http://127.0.0.1:99999999": b"403",
    }
    app = make_app(rum_app_factory)
    async with serve_app(app) as url:
        for header, status in cases.items():
            head = await _raw_handshake(url, [*upgrade, header])
            assert head.split(b" ", 2)[1] == status, (header, head)
        head = await _raw_handshake(url, [*upgrade, good_key])
        assert head.startswith(b"HTTP/1.1 101 "), head
        async with ws_connect(url, "/echo") as ws:
            await ws.send("still serving")
            assert await ws.receive() == "still serving"


async def test_hostile_json_messages_close_with_1007_and_log_nothing(rum_app_factory, ws_connect,
                                                                     Closed, caplog):
    """``receive_json`` on a message nested 100,000 deep raised RecursionError (not a
    ValueError) out of the handler: logged as a server error, closed with 1011."""
    import logging

    app = rum_app_factory([Adder.route("/add")], plugins=["http", "websockets"])
    async with serve_app(app) as url:
        for message in ("[" * 100_000 + "]" * 100_000, '{"a": ' * 50_000 + "1" + "}" * 50_000,
                        '{"a": NaN, "b": 1}', '{"a": ' + "9" * 5000 + ', "b": 1}'):
            with caplog.at_level(logging.INFO):
                async with ws_connect(url, "/add") as ws:
                    await ws.send(message)
                    try:
                        await ws.receive()
                    except Closed as closed:
                        assert closed.code == 1007, (message[:20], closed.code)
                    else:
                        raise AssertionError(f"{message[:20]!r} did not close the socket")
            assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
        async with ws_connect(url, "/add") as ws:  # and the endpoint still adds
            await ws.send('{"a": 2, "b": 3}')
            assert await ws.receive() == '{"sum":5}'


async def test_a_client_that_outpaces_its_handler_is_held_back(rum_app_factory):
    """Messages wait for the handler in a queue bounded in bytes, after which the server stops
    reading (TCP pushes back). It held 64 messages: with 1 MiB messages a client that never
    read the echoes parked ~67 MiB in the server per connection (4 connections: +268 MiB)."""
    import struct

    class Stuck(WebSocketController):
        async def websocket(self, ws):
            await trio.sleep_forever()  # never reads: what a busy handler looks like

    app = rum_app_factory([Stuck.route("/stuck")], plugins=["http", "websockets"])
    payload = b"x" * ((1 << 20) - 16)
    frame = struct.pack("!BBQ", 0x82, 0xFF, len(payload)) + b"\0\0\0\0" + payload  # masked
    async with serve_app(app) as url:
        stream = await raw_upgrade(url, "/stuck")
        async with stream:
            sent = 0
            while sent < 80:
                with trio.move_on_after(1) as stalled:
                    await stream.send_all(frame)
                if stalled.cancelled_caught:
                    break
                sent += 1
    # the socket buffers on both sides hold ~10 MiB on loopback; the queue adds at most 4 MiB
    assert sent < 24, f"the server took {sent} MiB from a client whose handler reads nothing"


async def test_a_subscriber_that_never_reads_is_reported_once(rum_app_factory, caplog):
    """A socket whose client stops reading falls behind its subscription, whose newest
    messages are then dropped: that was one WARNING per dropped message, so a few idle sockets
    turned every broadcast into log lines. Now once when it falls behind."""
    import logging

    from rum_websockets import broadcast, pubsub_for

    class Room(WebSocketController):
        async def websocket(self, ws):
            await ws.subscribe("room")
            await trio.sleep_forever()

    app = rum_app_factory([Room.route("/room")], plugins=["http", "websockets"])
    async with serve_app(app) as url:
        stream = await raw_upgrade(url, "/room")
        async with stream:
            hub = pubsub_for(app)
            with trio.fail_after(5):
                while hub.subscriber_count("room") < 1:
                    await trio.sleep(0.01)
            with caplog.at_level(logging.INFO, logger="rum.websockets"):
                for _ in range(3000):  # 30 MB: more than the socket buffers and the queue
                    await broadcast("room", "x" * 10_000, app=app)
                    await trio.sleep(0)
    behind = [r for r in caplog.records if "behind" in r.getMessage()]
    assert len(behind) == 1, f"{len(behind)} warnings for one slow subscriber"


async def test_malformed_compression_offers_are_declined(rum_app_factory, ws_connect):
    """With compression on, wsproto's int() on a window-bits parameter raised ValueError for
    'abc' or the quoted form '"10"': a 500. RFC 7692 says to decline such an offer; a valid
    offer after it is still taken."""
    app = make_app(rum_app_factory, toml="[websockets]\ncompression = true\n")
    upgrade = [b"Upgrade: websocket", b"Connection: Upgrade", b"Sec-WebSocket-Version: 13",
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]
    async with serve_app(app) as url:
        for offer, agreed in [
                (b"permessage-deflate; server_max_window_bits=abc", False),
                (b'permessage-deflate; client_max_window_bits="10"', False),
                (b"permessage-deflate; server_max_window_bits=abc, permessage-deflate", True)]:
            head = await _raw_handshake(url, [*upgrade, b"Sec-WebSocket-Extensions: " + offer])
            assert head.startswith(b"HTTP/1.1 101 "), (offer, head)
            assert (b"permessage-deflate" in head) is agreed, (offer, head)
        async with ws_connect(url, "/echo", compression=True) as ws:
            assert ws.extensions == ["permessage-deflate"]
            await ws.send("still compressing")
            assert await ws.receive() == "still compressing"

"""Turbo helpers, the script route and Turbo Streams over WebSockets (real sockets)."""

from __future__ import annotations

import pytest
import trio
from markupsafe import Markup

from rum import Controller, Request, Response
from rum_http.testing import serve_app
from rum_turbo import (
    TURBO_STREAM_MIME,
    TurboStream,
    accepts_turbo_stream,
    broadcast_stream,
    is_turbo_frame_request,
    sign_stream_name,
    stream_source_url,
    turbo_frame,
    turbo_stream,
    turbo_stream_response,
    turbo_version,
    verify_stream_name,
)
from rum_websockets import pubsub_for

SECRET = '[general]\nsecret_key = "' + "0f" * 32 + '"\n'


def test_stream_tags_for_every_action():
    html = Markup("<li>one</li>")
    for action in ("append", "prepend", "replace", "update", "before", "after"):
        tag = getattr(turbo_stream, action)("items", html)
        assert tag == (f'<turbo-stream action="{action}" target="items"><template>'
                       "<li>one</li></template></turbo-stream>")
    assert turbo_stream.remove("item_1") == \
        '<turbo-stream action="remove" target="item_1"></turbo-stream>'
    assert turbo_stream.append(targets=".rows", content=html).startswith(
        '<turbo-stream action="append" targets=".rows">')


def test_plain_strings_are_escaped():
    tag = turbo_stream.update("name", "<script>alert(1)</script>")
    assert "<script>" not in tag
    assert "&lt;script&gt;" in tag
    frame = turbo_frame("f", "<b>x</b>", src="/a?b=1&c=2", loading="lazy")
    assert frame == ('<turbo-frame id="f" src="/a?b=1&amp;c=2" loading="lazy">'
                     "&lt;b&gt;x&lt;/b&gt;</turbo-frame>")


def test_bad_actions_and_targets_are_errors():
    with pytest.raises(AttributeError, match="no action 'explode'"):
        turbo_stream.explode("x")
    with pytest.raises(ValueError, match="exactly one of target"):
        turbo_stream.append()


def test_stream_response_has_the_turbo_content_type():
    r = TurboStream().append("list", Markup("<li>a</li>")).remove("empty").response()
    assert r.status == 200
    assert r.content_type == f"{TURBO_STREAM_MIME}; charset=utf-8"
    assert r.text_body().count("<turbo-stream") == 2
    r2 = turbo_stream_response(turbo_stream.update("n", "2"), status=422)
    assert r2.status == 422 and r2.text_body().startswith('<turbo-stream action="update"')


def test_detection_of_turbo_requests():
    frame = Request("GET", "/", headers={"turbo-frame": "cart"})
    stream = Request("POST", "/", headers={"accept": f"{TURBO_STREAM_MIME}, text/html"})
    plain = Request("GET", "/", headers={"accept": "text/html"})
    assert is_turbo_frame_request(frame) and not is_turbo_frame_request(plain)
    assert accepts_turbo_stream(stream) and not accepts_turbo_stream(plain)


def test_signed_stream_names(rum_app_factory):
    app = rum_app_factory(plugins=["turbo", "websockets"], toml=SECRET)
    signed = sign_stream_name(app, "orders")
    assert verify_stream_name(app, signed) == "orders"
    assert verify_stream_name(app, signed.replace("orders", "admins")) is None
    assert verify_stream_name(app, "orders") is None
    request = Request("GET", "/", headers={"host": "example.test"}, app=app)
    assert stream_source_url(request, "orders").startswith(
        "ws://example.test/_rum/turbo-streams?channel=orders--")


def test_production_needs_a_secret_key(rum_app_factory):
    from rum import ConfigError

    with pytest.raises(ConfigError, match="secret_key"):
        rum_app_factory(plugins=["turbo", "websockets"], env="production")


async def test_script_is_served_with_cache_validators(rum_app_factory, ws_connect):
    import httpx

    app = rum_app_factory(plugins=["http", "turbo", "websockets"], toml=SECRET)
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        r = await client.get("/_rum/turbo.js", headers={"accept-encoding": "identity"})
        again = await client.get("/_rum/turbo.js", headers={"if-none-match": r.headers["etag"],
                                                            "accept-encoding": "identity"})
        gz = await client.get("/_rum/turbo.js", headers={"accept-encoding": "gzip"})
    assert gz.headers["content-encoding"] == "gzip"
    assert int(gz.headers["content-length"]) < len(r.content) / 3
    assert gz.content == r.content  # httpx inflates it
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert f"Turbo {turbo_version()}" in r.text[:200]
    assert again.status_code == 304


async def test_broadcast_stream_reaches_subscribed_socket(rum_app_factory, ws_connect,
                                                          Rejected):
    class Page(Controller):
        async def get(self, request):
            from rum_turbo import turbo_stream_from

            return Response.html(str(turbo_stream_from(request, "orders")))

    app = rum_app_factory([Page.route("/")], plugins=["http", "turbo", "websockets"], toml=SECRET)
    async with serve_app(app) as url:
        import httpx

        async with httpx.AsyncClient(base_url=url) as client:
            page = (await client.get("/")).text
        src = page.split('src="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        assert src.startswith(f"ws://{url.removeprefix('http://')}/_rum/turbo-streams?channel=")
        path = src.split(url.removeprefix("http://"), 1)[1]
        async with ws_connect(url, path) as ws:
            hub = pubsub_for(app)
            with trio.fail_after(5):  # the socket subscribes right after the handshake
                while hub.subscriber_count("turbo-streams:orders") < 1:
                    await trio.sleep(0.01)
            await broadcast_stream("orders", turbo_stream.append("orders", Markup("<li>1</li>")),
                                   app=app)
            await broadcast_stream("other", turbo_stream.remove("x"), app=app)
            await broadcast_stream("orders", turbo_stream.remove("empty"), app=app)
            assert await ws.receive() == ('<turbo-stream action="append" target="orders">'
                                          "<template><li>1</li></template></turbo-stream>")
            assert await ws.receive() == \
                '<turbo-stream action="remove" target="empty"></turbo-stream>'
        forged = path.replace("orders--", "admins--")
        with pytest.raises(Rejected) as refused:
            async with ws_connect(url, forged):
                pass
        assert refused.value.status == 403


async def test_forged_stream_names_with_any_characters_are_403(rum_app_factory, ws_connect,
                                                               Rejected):
    """A signature holding non-ASCII characters used to reach ``hmac.compare_digest`` as a
    ``str``, which raises TypeError for them: a 500 instead of the 403."""
    app = rum_app_factory(plugins=["http", "turbo", "websockets"], toml=SECRET)
    signed = sign_stream_name(app, "orders")
    async with serve_app(app) as url:
        for channel in ("orders--%C3%A9", "%C3%A9--%C3%A9", "orders--%FF", "orders--%ED%A0%80",
                        "orders--" + "%E2%82%AC" * 43, "%00--%00"):
            with pytest.raises(Rejected) as refused:
                async with ws_connect(url, f"/_rum/turbo-streams?channel={channel}"):
                    pass
            assert refused.value.status == 403, channel
        async with ws_connect(url, f"/_rum/turbo-streams?channel={signed}"):
            pass  # the real one still opens


async def test_template_globals_in_rum_templates(rum_app_factory, tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text(
        "<%= turbo_script_tag() %>\n"
        "<%= turbo_stream_from(\"orders\") %>\n"
        "<%= turbo_frame(\"cart\", name) %>\n"
        "<%= turbo_stream.append(\"list\", name) %>\n"
        "frame=<%= turbo_frame_id %> stream=<%= turbo_stream_request %>\n")

    class Page(Controller):
        async def get(self, request):
            return await self.render("page.html", name="<i>x</i>")

    app = rum_app_factory([Page.route("/")], plugins=["templates", "turbo", "websockets"],
                          toml=SECRET)
    async with app.test_client() as client:
        r = await client.get("/", headers={"host": "shop.test", "turbo-frame": "cart",
                                           "accept": TURBO_STREAM_MIME})
    body = r.text_body()
    assert r.status == 200, body
    assert f'<script src="/_rum/turbo.js?v={turbo_version()}"></script>' in body
    assert '<turbo-stream-source src="ws://shop.test/_rum/turbo-streams?channel=orders--' in body
    assert '<turbo-frame id="cart">&lt;i&gt;x&lt;/i&gt;</turbo-frame>' in body
    assert ('<turbo-stream action="append" target="list"><template>&lt;i&gt;x&lt;/i&gt;'
            "</template></turbo-stream>") in body
    assert "frame=cart stream=true" in body  # Ruby prints true


@pytest.mark.parametrize(("trusted", "scheme"), [([], "ws"), (["127.0.0.1"], "wss")])
async def test_the_stream_url_believes_x_forwarded_proto_only_from_trusted_proxies(
        rum_app_factory, trusted: list[str], scheme: str):
    import httpx

    class Page(Controller):
        async def get(self, request: Request) -> Response:
            return Response.text(stream_source_url(request, "orders"))

    toml = SECRET + f"\n[http]\ntrusted_proxies = {trusted!r}\n".replace("'", '"')
    app = rum_app_factory(plugins=["http", "turbo", "websockets"], toml=toml,
                          routes=[Page.route("/")])
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        forged = await client.get("/", headers={"x-forwarded-proto": "https",
                                                "host": "shop.test"})
    assert forged.text.startswith(f"{scheme}://shop.test/_rum/turbo-streams?channel=orders--")

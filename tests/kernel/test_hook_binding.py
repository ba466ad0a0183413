"""The per-request hooks the app binds once: plain-function implementations of async hooks,
and re-binding when plugins register or unregister after the app was built."""

import logging

import pytest

from rum import App, Controller, Response, hookimpl


class Hello(Controller):
    async def handle(self, request):
        return Response.text(f"hello {request.user}")


def make_app(tmp_path, plugins=()):
    root = tmp_path / "project"
    root.mkdir(exist_ok=True)
    (root / "Rum.toml").write_text("[plugins]\nenabled = []\n")
    return App(routes=[Hello.route("/")], root=root, plugins=list(plugins))


class Plain:
    """Every per-request hook as a plain function (no ``async def``)."""

    name = "plain"

    def __init__(self, events):
        self.events = events

    @hookimpl
    def rum_request(self, request):
        self.events.append("plain request")
        if request.path == "/short":
            return Response.text("short-circuited")
        return None

    @hookimpl
    def rum_authenticate(self, request):
        self.events.append("plain authenticate")
        return "ada"

    @hookimpl
    def rum_response(self, request, response):
        self.events.append("plain response")
        response.headers["x-plain"] = "1"


class Async:
    name = "async"

    def __init__(self, events):
        self.events = events

    @hookimpl
    async def rum_request(self, request):
        self.events.append("async request")

    @hookimpl
    async def rum_authenticate(self, request):
        self.events.append("async authenticate")

    @hookimpl
    async def rum_response(self, request, response):
        self.events.append("async response")
        response.headers["x-async"] = "1"


async def test_plain_implementations_of_async_hooks_run_in_pluggys_order(tmp_path):
    events = []
    # registered plain then async: pluggy calls the last registered first
    app = make_app(tmp_path, [Plain(events), Async(events)])
    response = await app.test_client().get("/")
    assert response.text_body() == "hello ada"
    assert response.headers["x-plain"] == response.headers["x-async"] == "1"
    assert events == ["async request", "plain request", "async authenticate",
                      "plain authenticate", "plain response", "async response"]
    events.clear()
    response = await app.test_client().get("/short")
    assert response.text_body() == "short-circuited"
    assert events == ["async request", "plain request", "plain response", "async response"]


async def test_an_awaitable_a_plain_implementation_returns_is_awaited(tmp_path):
    class Deferred:
        @hookimpl
        def rum_request(self, request):
            if request.path != "/late":
                return None

            async def answer():
                return Response.text("answered later")
            return answer()

        @hookimpl
        def rum_authenticate(self, request):
            async def user():
                return "grace"
            return user()

        @hookimpl
        def rum_response(self, request, response):
            async def replace():
                return Response.text(response.text_body().upper())
            return replace()

    app = make_app(tmp_path, [Deferred()])
    assert (await app.test_client().get("/late")).text_body() == "ANSWERED LATER"
    assert (await app.test_client().get("/")).text_body() == "HELLO GRACE"


async def test_a_plain_response_hook_that_raises_gives_an_error_response(tmp_path):
    class Broken:
        @hookimpl
        def rum_response(self, request, response):
            raise RuntimeError("plain hook failed")

    app = make_app(tmp_path, [Broken()])
    response = await app.test_client().get("/")
    assert response.status == 500


async def test_plain_hooks_are_traced_and_stay_plain(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("RUM_TRACE_HOOKS", "1")
    events = []
    app = make_app(tmp_path, [Plain(events)])
    with caplog.at_level(logging.INFO, logger="rum.hooks"):
        response = await app.test_client().get("/")
    assert response.text_body() == "hello ada"
    assert any("hook rum_request [plain]" in r.getMessage() for r in caplog.records)
    assert events == ["plain request", "plain authenticate", "plain response"]


async def test_a_plain_shutdown_hook_runs_without_an_error(tmp_path, caplog):
    done = []

    class Closing:
        @hookimpl
        def rum_shutdown(self, app):
            done.append(app)

    app = make_app(tmp_path, [Closing()])
    with caplog.at_level(logging.ERROR, logger="rum.app"):
        async with app.running():
            pass
    assert done == [app]
    assert not caplog.records  # not "rum_shutdown hook ... failed" (None is not awaitable)


async def test_a_plugin_registered_after_the_app_was_built_sees_requests(tmp_path):
    events = []
    app = make_app(tmp_path)
    client = app.test_client()
    assert (await client.get("/")).text_body() == "hello None"
    app.plugins.register(Plain(events), "plain")
    response = await client.get("/")
    assert response.text_body() == "hello ada"
    assert response.headers["x-plain"] == "1"
    assert events == ["plain request", "plain authenticate", "plain response"]


async def test_an_unregistered_or_blocked_plugin_no_longer_sees_requests(tmp_path):
    events = []
    plain, other = Plain(events), Async(events)
    app = make_app(tmp_path, [plain, other])
    client = app.test_client()
    await client.get("/")
    assert "plain request" in events and "async request" in events
    events.clear()
    app.plugins.pm.unregister(plain)  # directly on pluggy's manager: noticed too
    response = await client.get("/")
    assert response.text_body() == "hello None"
    assert "x-plain" not in response.headers
    assert events == ["async request", "async authenticate", "async response"]
    events.clear()
    app.plugins.pm.set_blocked("async")
    await client.get("/")
    assert events == []


async def test_a_request_in_flight_keeps_the_hooks_it_started_with(tmp_path):
    events = []
    late = Plain(events)

    class Registers:
        @hookimpl
        async def rum_request(self, request):
            if request.path == "/register":
                request.app.plugins.register(late, "late")
            events.append("registers")

    app = make_app(tmp_path, [Registers()])
    client = app.test_client()
    response = await client.get("/register")
    assert response.status == 404
    # the new plugin's request hook did not run in the request that registered it, but its
    # response hook (bound before the response phase began) did
    assert events == ["registers", "plain response"]
    events.clear()
    assert (await client.get("/")).text_body() == "hello ada"
    assert events == ["plain request", "registers", "plain authenticate", "plain response"]


@pytest.mark.parametrize("reverse", [False, True])
def test_bind_lists_plain_and_async_implementations_alike(tmp_path, reverse):
    events = []
    app = make_app(tmp_path, [Plain(events), Async(events)])
    bound = app.plugins.bind("rum_request", reverse=reverse)
    names = [fn.__self__.name for fn in bound]
    assert names == (["plain", "async"] if reverse else ["async", "plain"])


class Reordered:
    """Implementations naming a subset of the spec's arguments, or all of them in another
    order: the kernel calls its bound hooks by position, in the spec's order."""

    name = "reordered"

    def __init__(self, events):
        self.events = events

    @hookimpl
    def rum_request(self):
        self.events.append("request hook with no argument")

    @hookimpl
    def rum_response(self, response, request):
        self.events.append(f"response {response.status} for {request.path}")
        response.headers["x-order"] = "kept"

    @hookimpl
    def rum_authenticate(self, request):
        return f"user of {request.path}"


class Wrapped:
    """A wrapper on rum_request: the bound list goes through pluggy with named arguments."""

    name = "wrapped"

    def __init__(self, events):
        self.events = events

    @hookimpl(wrapper=True)
    def rum_request(self, request):
        self.events.append(f"wrapper sees {request.path}")
        return (yield)


@pytest.mark.parametrize("tracing", [False, True])
async def test_bound_hooks_get_their_arguments_by_position_whatever_their_order(
        tmp_path, monkeypatch, tracing):
    if tracing:
        monkeypatch.setenv("RUM_TRACE_HOOKS", "1")
    events = []
    app = make_app(tmp_path, [Reordered(events), Wrapped(events)])
    if tracing:
        app.plugins.tracing = True
        app._bind_hooks()
    response = await app.test_client().get("/")
    assert response.text_body() == "hello user of /"
    assert response.headers["x-order"] == "kept"
    assert events == ["wrapper sees /", "request hook with no argument", "response 200 for /"]
    bound = app.plugins.bind("rum_response", reverse=True, positional=True)
    assert [fn(FakeRequest("/p"), Response.text("x", status=201)) for fn in bound] == [None]
    assert events[-1] == "response 201 for /p"


class FakeRequest:
    def __init__(self, path):
        self.path = path

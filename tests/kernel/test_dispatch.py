"""The request path: routing, auth, middleware order, errors and error pages."""

import uuid

import pytest

from rum import (
    App,
    Authentication,
    Controller,
    HTTPError,
    Middleware,
    NotFound,
    Outcome,
    Response,
    Router,
)


class Echo(Controller):
    async def get(self, request):
        return Response.json({"params": {k: repr(v) for k, v in request.path_params.items()},
                              "headers": dict(request.headers)})


class Boom(Controller):
    async def handle(self, request):
        raise ValueError("kaput")


class Teapot(Controller):
    async def handle(self, request):
        raise HTTPError("short and stout", status=418, headers={"x-tea": "earl grey"})


def make_app(tmp_path, routes, **kw):
    (tmp_path / "Rum.toml").write_text("[plugins]\nenabled = []\n")
    return App(routes, root=tmp_path, **kw)


def test_typed_path_parameters():
    router = Router([Echo.route("/users/<int:id>"), Echo.route("/files/<path:rest>"),
                     Echo.route("/items/<uuid:key>/<slug:name>")])
    assert router.match("GET", "/users/42")[1] == {"id": 42}
    assert router.match("GET", "/files/a/b/c.txt")[1] == {"rest": "a/b/c.txt"}
    key = uuid.uuid4()
    assert router.match("GET", f"/items/{key}/my-item")[1] == {"key": key, "name": "my-item"}
    with pytest.raises(NotFound):
        router.match("GET", "/users/abc")


def test_route_errors_are_explicit():
    with pytest.raises(ValueError, match=r"unknown path parameter type 'itn'.*did you mean 'int'"):
        Echo.route("/users/<itn:id>")
    with pytest.raises(ValueError, match="must start with '/'"):
        Echo.route("users")
    router = Router([Echo.route("/a", name="a")])
    with pytest.raises(ValueError, match="two routes are named 'a'"):
        router.add(Echo.route("/b", name="a"))


def test_url_for():
    router = Router([Echo.route("/users/<int:id>", name="user")])
    assert router.url_for("user", id=7) == "/users/7"
    with pytest.raises(KeyError, match="did you mean 'user'"):
        router.url_for("usr", id=7)


async def test_404_suggests_and_405_lists_allowed(tmp_path):
    app = make_app(tmp_path, [Echo.route("/users/<int:id>")])
    client = app.test_client()
    r = await client.get("/users/1")
    assert r.status == 200 and r.json_body()["params"] == {"id": "1"}
    r = await client.get("/userz/1", headers={"accept": "application/json"})
    assert r.status == 404 and "did you mean /users/<int:id>" in r.json_body()["detail"]
    r = await client.post("/users/1")
    assert r.status == 405 and r.headers["allow"] == "GET, HEAD"
    r = await client.head("/users/1")
    assert r.status == 200 and r.body == b""


async def test_error_pages_by_accept_and_debug(tmp_path, caplog):
    app = make_app(tmp_path, [Boom.route("/boom"), Teapot.route("/tea")])
    client = app.test_client()
    r = await client.get("/boom", headers={"accept": "text/html"})
    assert r.status == 500 and r.content_type.startswith("text/html")
    assert "kaput" in r.text_body() and "Traceback" in r.text_body()  # development
    assert "unhandled error in GET /boom" in caplog.text
    r = await client.get("/tea", headers={"accept": "application/json"})
    assert r.status == 418 and r.headers["x-tea"] == "earl grey"
    assert r.json_body()["detail"] == "short and stout" and r.json_body()["request_id"]


async def test_production_hides_tracebacks(tmp_path):
    (tmp_path / "Rum.toml").write_text("[plugins]\nenabled = []\n")
    app = App([Boom.route("/boom")], root=tmp_path, env="production")
    r = await app.test_client().get("/boom")
    assert r.status == 500 and "kaput" not in r.text_body() and "Traceback" not in r.text_body()


class Tag(Middleware):
    def __init__(self, name, log):
        self.name, self.log = name, log

    async def handle_request(self, request):
        self.log.append(f"req {self.name}")
        request.headers["x-seen"] = (request.headers.get("x-seen") or "") + self.name
        return Outcome.forward(request)

    async def handle_response(self, request, response):
        self.log.append(f"resp {self.name}")
        response.headers.add("x-order", self.name)
        return response


class StopHere(Middleware):
    async def handle_request(self, request):
        if request.headers.get("user-agent", "").find("Linux") < 0:
            return Outcome.stop(Response.redirect("https://archlinux.org"))
        return request


async def test_middleware_order_requests_first_to_last_responses_last_to_first(tmp_path):
    log = []

    class Wrapped(Echo):
        def middleware(self):
            return [Tag("b", log), Tag("c", log)]

    app = make_app(tmp_path, [Wrapped.route("/")], middleware=[Tag("a", log)])
    r = await app.test_client().get("/")
    assert r.json_body()["headers"]["x-seen"] == "abc"
    assert log == ["req a", "req b", "req c", "resp c", "resp b", "resp a"]
    assert r.headers.getall("x-order") == ["c", "b", "a"]


async def test_middleware_stop_skips_the_rest(tmp_path):
    log = []

    class Guarded(Echo):
        def middleware(self):
            return [Tag("a", log), StopHere(), Tag("z", log)]

    app = make_app(tmp_path, [Guarded.route("/")])
    client = app.test_client()
    r = await client.get("/", headers={"user-agent": "Windows"})
    assert r.status == 302 and r.headers["location"] == "https://archlinux.org"
    assert log == ["req a", "resp a"]
    r = await client.get("/", headers={"user-agent": "X11; Linux"})
    assert r.status == 200 and r.json_body()["headers"]["x-seen"] == "az"


class NoWorkSundays(Authentication):
    def __init__(self, today):
        self.today = today

    async def authorize(self, request):
        return self.today != 6 or "x-i-need-to-work-today" in request.headers

    async def denied(self, request):
        return Response.redirect("https://www.nps.gov")


async def test_controller_auth_allows_denies_and_custom_denied(tmp_path):
    class Sunday(Echo):
        def auth(self):
            return NoWorkSundays(today=6)

    class Default(Echo):
        def auth(self):
            class Never(Authentication):
                async def authorize(self, request):
                    return False
            return Never()

    app = make_app(tmp_path, [Sunday.route("/work"), Default.route("/never")])
    client = app.test_client()
    r = await client.get("/work")
    assert r.status == 302 and r.headers["location"] == "https://www.nps.gov"
    r = await client.get("/work", headers={"X-I-Need-To-Work-Today": "1"})
    assert r.status == 200
    r = await client.get("/never")
    assert r.status == 403


async def test_request_id_is_taken_or_generated(tmp_path):
    class Id(Controller):
        async def get(self, request):
            return Response.text(request.id)

    app = make_app(tmp_path, [Id.route("/")])
    client = app.test_client()
    assert (await client.get("/", headers={"x-request-id": "abc"})).text_body() == "abc"
    first, second = (await client.get("/")).text_body(), (await client.get("/")).text_body()
    assert first and second and first != second


async def test_a_clients_request_id_is_kept_to_safe_characters(tmp_path) -> None:
    """X-Request-Id is echoed into logs and error pages: it is kept as sent when it looks
    like an id (letters, digits, ``_-.@:/+=``, up to 200), cleaned otherwise, and replaced by a
    generated one when nothing is left."""
    from rum import App, Controller, Request, Response

    class Id(Controller):
        async def get(self, request: Request) -> Response:
            return Response.text(request.id)

    (tmp_path / "Rum.toml").write_text("[plugins]\nenabled = []\n")
    app = App([Id.route("/id")], root=tmp_path)
    async with app.test_client() as client:
        async def rid(value: str) -> str:
            return (await client.get("/id", headers={"x-request-id": value})).text_body()

        assert await rid("req-42") == "req-42"
        trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        assert await rid(trace) == trace
        assert await rid("a b<script>\u00e9") == "abscript"
        assert await rid("x" * 5000) == "x" * 200
        generated = await rid("<>\u00e9 ")
        assert generated and generated.startswith(f"{__import__('os').getpid():x}-")

"""What a request works out only when read: ``request.user`` from a :class:`rum.LazyUser` answer
of ``rum_authenticate`` (never for a request that does not read it, with the implementations
after it still asked for a fallback), and the attributes plugins add with
``Request.add_lazy_attribute``. The kernel's side; the sessions plugin's use of both is tested
over a socket in tests/plugins/sessions/test_session_read_on_use.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rum import App, Controller, LazyUser, Request, Response, RumError, hookimpl
from rum import request as request_module


class Reads(Controller):
    async def handle(self, request: Request) -> Response:
        return Response.json({"user": request.user, "again": request.user})


class Ignores(Controller):
    async def handle(self, request: Request) -> Response:
        return Response.text("no user read")


class Assigns(Controller):
    async def handle(self, request: Request) -> Response:
        request.user = "set by hand"
        return Response.json({"user": request.user})


class Lazy:
    """Answers a LazyUser that records each resolution."""

    name = "lazy"

    def __init__(self, answer: Any, log: list[str]) -> None:
        self.log = log
        self.user = LazyUser(self.resolve)
        self.answer = answer

    def resolve(self, request: Request) -> Any:
        self.log.append(f"resolved {request.path}")
        return self.answer

    @hookimpl(tryfirst=True)
    def rum_authenticate(self, request: Request) -> Any:
        self.log.append("lazy asked")
        return self.user


class Eager:
    """An ``async def`` implementation asked after the lazy one."""

    name = "eager"

    def __init__(self, answer: Any, log: list[str]) -> None:
        self.answer = answer
        self.log = log

    @hookimpl(trylast=True)
    async def rum_authenticate(self, request: Request) -> Any:
        self.log.append("eager asked")
        return self.answer


def make_app(tmp_path: Path, plugins: list[Any]) -> App:
    root = tmp_path / "project"
    root.mkdir(exist_ok=True)
    (root / "Rum.toml").write_text("[plugins]\nenabled = []\n")
    return App(routes=[Reads.route("/reads"), Ignores.route("/ignores"),
                       Assigns.route("/assigns")], root=root, plugins=plugins)


async def test_a_lazy_answer_is_resolved_once_and_only_when_read(tmp_path: Path) -> None:
    log: list[str] = []
    app = make_app(tmp_path, [Lazy("ada", log)])
    async with app.test_client() as client:
        assert (await client.get("/ignores")).text_body() == "no user read"
        assert log == ["lazy asked"]
        assert (await client.get("/reads")).json_body() == {"user": "ada", "again": "ada"}
        assert log == ["lazy asked", "lazy asked", "resolved /reads"]


async def test_later_implementations_still_run_and_give_the_fallback(tmp_path: Path) -> None:
    log: list[str] = []
    app = make_app(tmp_path, [Lazy(None, log), Eager("grace", log)])
    async with app.test_client() as client:
        assert (await client.get("/reads")).json_body() == {"user": "grace", "again": "grace"}
        assert log == ["lazy asked", "eager asked", "resolved /reads"]
    log.clear()
    app = make_app(tmp_path, [Lazy("ada", log), Eager("grace", log)])
    async with app.test_client() as client:  # a lazy user found wins over the fallback
        assert (await client.get("/reads")).json_body() == {"user": "ada", "again": "ada"}


async def test_a_second_lazy_answer_is_the_fallback(tmp_path: Path) -> None:
    log: list[str] = []

    class Second(Lazy):
        name = "second"

        @hookimpl(trylast=True)
        def rum_authenticate(self, request: Request) -> Any:
            return self.user

    first, second = Lazy(None, log), Second("linus", [])
    app = make_app(tmp_path, [first, second])
    async with app.test_client() as client:
        assert (await client.get("/reads")).json_body()["user"] == "linus"
        assert (await client.get("/ignores")).status == 200
        assert second.log == ["resolved /reads"]


async def test_assigning_the_user_replaces_the_lazy_answer(tmp_path: Path) -> None:
    log: list[str] = []
    app = make_app(tmp_path, [Lazy("ada", log)])
    async with app.test_client() as client:
        assert (await client.get("/assigns")).json_body() == {"user": "set by hand"}
        assert log == ["lazy asked"]


def test_a_request_outside_the_app_has_no_user() -> None:
    request = Request("GET", "/")
    assert request.user is None
    request.user = 5
    assert request.user == 5
    request.defer_user(LazyUser(lambda r: None), fallback=LazyUser(lambda r: r.path))
    assert request.user == "/"


def test_a_lazy_attribute_is_worked_out_once_on_first_read() -> None:
    calls: list[str] = []

    def load(request: Request) -> Any:
        calls.append(request.path)
        return {"for": request.path}

    Request.add_lazy_attribute("lazy_probe", load)
    try:
        request = Request("GET", "/a")
        assert not request.loaded("lazy_probe") and calls == []
        assert request.lazy_probe == {"for": "/a"}
        assert request.lazy_probe is request.lazy_probe and calls == ["/a"]
        assert request.loaded("lazy_probe")
        other = Request("GET", "/b")
        other.lazy_probe = "assigned"  # assigning skips the loader
        assert other.lazy_probe == "assigned" and other.loaded("lazy_probe")
        assert calls == ["/a"]
    finally:
        del Request.lazy_probe
        del Request._lazy_lazy_probe
        request_module._LAZY_SLOTS.pop("lazy_probe", None)


@pytest.mark.parametrize("name", ["path", "headers", "query", "user", "loaded", "_secret",
                                  "not an identifier"])
def test_a_lazy_attribute_may_not_shadow_what_a_request_has(name: str) -> None:
    with pytest.raises(RumError, match=rf"cannot add a lazy attribute '{name}' to rum.Request"):
        Request.add_lazy_attribute(name, lambda request: None)

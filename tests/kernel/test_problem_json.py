"""Errors for API clients: RFC 9457 ``application/problem+json`` over a real socket.

JSON when the client prefers it (``Accept``) or sends a JSON body, or when the route is an API
route (``Controller.api = True`` or ``route(..., api=True)``); HTML for browsers otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from rum import App, Controller, Request, Response
from rum.errors import HTTPError, PayloadTooLarge, UnprocessableEntity
from rum.negotiation import prefers_json
from rum_auth import BasicAuth, TokenAuth
from rum_http.testing import serve_app
from rum_ratelimit import RateLimiter

PROBLEM = "application/problem+json"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


class Echo(Controller):
    async def get(self, request: Request) -> Response:
        return Response.json({"ok": True})

    async def post(self, request: Request) -> Response:
        return Response.json(request.json())


class Invalid(Controller):
    async def post(self, request: Request) -> Response:
        raise UnprocessableEntity("1 field is invalid: qty", data={"qty": ["must be positive"]})


class Huge(Controller):
    async def post(self, request: Request) -> Response:
        raise PayloadTooLarge("the upload is over 10 bytes")


class Teapot(Controller):
    async def get(self, request: Request) -> Response:
        raise HTTPError("out of tea", status=418, type="https://example.com/problems/tea",
                        extra={"balance": 0})


class ApiItems(Controller):
    api = True

    async def get(self, request: Request) -> Response:
        return Response.json([])


class Tokened(Controller):
    def auth(self) -> TokenAuth:
        return TokenAuth(tokens=["t-1"])

    async def get(self, request: Request) -> Response:
        return Response.text("in")


class Admin(Controller):
    def auth(self) -> BasicAuth:
        return BasicAuth(user="admin", password="pw")

    async def get(self, request: Request) -> Response:
        return Response.text("in")


class Limited(Controller):
    def middleware(self) -> list[Any]:
        return [RateLimiter(rate=1, window=60)]

    async def get(self, request: Request) -> Response:
        return Response.text("in")


def make_app(tmp_path: Path) -> App:
    routes = [Echo.route("/echo"), Invalid.route("/invalid"), Huge.route("/huge"),
              Teapot.route("/tea"), ApiItems.route("/api/items"), Tokened.route("/tokened"),
              Admin.route("/admin"), Admin.route("/api/admin", api=True),
              Limited.route("/limited")]
    return App(routes, plugins=["http", "sessions", "auth"], root=tmp_path, env="production",
               config={"general": {"secret_key": "55" * 32},
                       "sessions": {"secure": False, "anonymous": True}})


@pytest.fixture
async def client(tmp_path: Path):
    async with serve_app(make_app(tmp_path)) as base, \
            httpx.AsyncClient(base_url=base) as client:
        yield client


def assert_problem(response: httpx.Response, status: int, *, detail: str | None = None,
                   instance: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "about:blank" or body["type"].startswith("https://")
    assert body["status"] == status and isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    if detail is not None:
        assert detail in body["detail"], body
    if instance is not None:
        assert body["instance"] == instance
    assert body["request_id"] and "traceback" not in body
    return body


async def test_json_clients_get_problem_details(client: httpx.AsyncClient) -> None:
    accept = {"accept": "application/json"}
    body = assert_problem(await client.get("/nowhere", headers=accept), 404,
                          detail="no route matches /nowhere", instance="/nowhere")
    assert body["title"] == "Not Found" and body["type"] == "about:blank"

    not_allowed = await client.delete("/echo", headers={"accept": PROBLEM})
    assert_problem(not_allowed, 405, detail="DELETE is not allowed")
    assert not_allowed.headers["allow"] == "GET, HEAD, POST"

    bad = await client.post("/echo", content=b'{"a": ', headers={
        "content-type": "application/json", "x-csrf-token": "x", "authorization": "Bearer z"})
    assert_problem(bad, 400, detail="invalid JSON body")  # a JSON body asks for JSON

    invalid = await client.post("/invalid", json={}, headers={**accept,
                                                               "authorization": "Bearer z"})
    assert assert_problem(invalid, 422)["errors"] == {"qty": ["must be positive"]}
    huge = await client.post("/huge", json={}, headers={"authorization": "Bearer z"})
    assert_problem(huge, 413, detail="over 10 bytes")

    tea = await client.get("/tea", headers=accept)
    assert tea.status_code == 418
    assert tea.json()["type"] == "https://example.com/problems/tea"
    assert tea.json()["title"] == "I'm a Teapot" and tea.json()["balance"] == 0


async def test_401_keeps_its_challenge(client: httpx.AsyncClient) -> None:
    token = await client.get("/tokened", headers={"accept": "application/json"})
    assert_problem(token, 401, detail="needs a token")
    assert token.headers["www-authenticate"] == 'Bearer realm="Rum"'
    wrong = await client.get("/tokened", headers={"accept": "application/json",
                                                  "authorization": "Bearer nope"})
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert_problem(wrong, 401, detail="not valid")

    basic = await client.get("/api/admin")  # an API route: JSON without asking
    assert_problem(basic, 401)
    assert basic.headers["www-authenticate"].startswith('Basic realm="Rum"')
    page = await client.get("/admin", headers={"accept": BROWSER_ACCEPT})
    assert page.status_code == 401 and page.headers["content-type"].startswith("text/html")
    assert page.headers["www-authenticate"].startswith("Basic ")


async def test_csrf_and_rate_limit_failures_are_problems(client: httpx.AsyncClient) -> None:
    await client.get("/echo")  # the browser-like client now holds a session cookie
    csrf = await client.post("/echo", json={"a": 1})
    body = assert_problem(csrf, 403, detail="CSRF token is missing", instance="/echo")
    assert body["code"] == "csrf_failed"

    assert (await client.get("/limited")).status_code == 200
    limited = await client.get("/limited", headers={"accept": "application/json"})
    assert_problem(limited, 429, detail="too many requests")
    assert int(limited.headers["retry-after"]) > 0


async def test_api_routes_always_answer_json(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"accept": BROWSER_ACCEPT}, {"accept": "*/*"}):
        wrong_method = await client.post("/api/items", headers=headers)  # 405 from the router
        assert_problem(wrong_method, 405, instance="/api/items")
        assert wrong_method.headers["allow"] == "GET, HEAD"


async def test_browsers_get_html(client: httpx.AsyncClient) -> None:
    for headers in ({"accept": BROWSER_ACCEPT}, {}, {"accept": "*/*"},
                    {"accept": "text/html, application/json"}):
        page = await client.get("/nowhere", headers=headers)
        assert page.status_code == 404
        assert page.headers["content-type"] == "text/html; charset=utf-8", headers
        assert "<h1>404 Not Found</h1>" in page.text


@pytest.mark.parametrize(("accept", "content_type", "expected"), [
    ("application/json", "", True),
    ("application/problem+json", "", True),
    ("application/vnd.api+json", "", True),
    ("application/json, text/plain, */*", "", True),          # axios
    ("text/html;q=0.9, application/json", "", True),
    ("application/json;q=0.5, text/html", "", False),
    ("text/html, application/json", "", False),               # a tie: the first listed wins
    ("application/json, text/html", "", True),
    (BROWSER_ACCEPT, "application/json", False),              # the browser asked for HTML
    ("*/*", "application/json", True),                        # fetch() posting JSON
    ("", "application/json", True),
    ("", "application/merge-patch+json", True),
    ("*/*", "application/x-www-form-urlencoded", False),
    ("", "", False),
    ("application/json;q=0", "", False),
    ("application/json;q=oops", "", False),
])
def test_accept_negotiation(accept: str, content_type: str, expected: bool) -> None:
    assert prefers_json(accept, content_type) is expected

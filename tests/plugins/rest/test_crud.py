"""REST CRUD over a real socket against the real PostgreSQL, with good and bad input."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from rum import App
from rum_http.testing import serve_app
from rum_orm import Database
from rum_rest import FieldSpec, ModelController, Resource

pytestmark = pytest.mark.postgres

SCHEMA = """
CREATE TABLE users (
    id bigserial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    name text,
    admin boolean NOT NULL DEFAULT false,
    score numeric(10, 2),
    token uuid NOT NULL DEFAULT gen_random_uuid(),
    born date,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""

USER = Resource("User", "users", {
    "id": FieldSpec("id", int, primary_key=True, has_default=True),
    "email": FieldSpec("email", str),
    "name": FieldSpec("name", str, nullable=True),
    "admin": FieldSpec("admin", bool, has_default=True),
    "score": FieldSpec("score", Decimal, nullable=True),
    "token": FieldSpec("token", uuid.UUID, has_default=True),
    "born": FieldSpec("born", dt.date, nullable=True),
    "created_at": FieldSpec("created_at", dt.datetime, has_default=True),
})


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with Database.open(database_url) as setup:
        await setup.execute(SCHEMA)
    app = App(ModelController(USER, read_only=["created_at"], max_limit=50).crud("/api/users"),
              plugins=["http", "orm", "rest"], root=tmp_path,
              config={"database": {"url": database_url}, "http": {"access_log": False}})
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        yield client


async def create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    r = await client.post("/api/users", json=fields)
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_retrieve_update_delete(api: httpx.AsyncClient) -> None:
    r = await api.post("/api/users", json={"email": "ada@example.com", "name": "Ada",
                                           "score": "12.50", "born": "1815-12-10"})
    assert r.status_code == 201
    ada = r.json()
    assert r.headers["location"] == f"/api/users/{ada['id']}"
    assert ada["email"] == "ada@example.com" and ada["admin"] is False
    assert ada["score"] == "12.50"  # decimals as strings, exact
    assert ada["born"] == "1815-12-10"
    uuid.UUID(ada["token"])  # UUIDs as strings
    created = dt.datetime.fromisoformat(ada["created_at"])
    assert created.tzinfo is not None
    assert abs(created - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)

    r = await api.get(f"/api/users/{ada['id']}")
    assert r.status_code == 200 and r.json() == ada

    # PATCH changes only what it names
    r = await api.patch(f"/api/users/{ada['id']}", json={"admin": True, "score": 99.5})
    assert r.status_code == 200
    assert r.json() == {**ada, "admin": True, "score": "99.50"}

    # PUT replaces: absent fields go back to their defaults (or null)
    r = await api.put(f"/api/users/{ada['id']}", json={"id": ada["id"],
                                                       "email": "lovelace@example.com"})
    assert r.status_code == 200
    replaced = r.json()
    assert replaced["email"] == "lovelace@example.com"
    assert replaced["name"] is None and replaced["score"] is None and replaced["admin"] is False
    assert replaced["created_at"] == ada["created_at"]  # read-only: untouched
    assert replaced["token"] != ada["token"]  # back to its default

    r = await api.delete(f"/api/users/{ada['id']}")
    assert r.status_code == 204 and r.content == b""
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        r = await api.request(method, f"/api/users/{ada['id']}", json={"email": "x@y.z"})
        assert r.status_code == 404, method
        assert r.json()["detail"] == f"no User with id {ada['id']}"


async def test_list_filters_order_and_pages(api: httpx.AsyncClient) -> None:
    for i in range(7):
        await create(api, email=f"u{i}@example.com", name=f"user {i}", admin=i % 3 == 0,
                     score=str(i * 10))
    r = await api.get("/api/users")
    page = r.json()
    assert page["total"] == 7 and page["limit"] == 25 and page["offset"] == 0
    assert page["next_offset"] is None
    assert [u["email"] for u in page["items"]] == [f"u{i}@example.com" for i in range(7)]

    r = await api.get("/api/users", params={"admin": "true"})
    assert [u["email"] for u in r.json()["items"]] == ["u0@example.com", "u3@example.com",
                                                       "u6@example.com"]
    r = await api.get("/api/users", params={"email": "u4@example.com"})
    assert [u["name"] for u in r.json()["items"]] == ["user 4"]
    r = await api.get("/api/users", params={"score__gte": "30", "admin": "false",
                                            "order": "-score"})
    assert [u["email"] for u in r.json()["items"]] == ["u5@example.com", "u4@example.com"]
    r = await api.get("/api/users", params={"email__in": "u1@example.com,u2@example.com"})
    assert r.json()["total"] == 2
    r = await api.get("/api/users", params={"name__contains": "USER 6"})
    assert [u["email"] for u in r.json()["items"]] == ["u6@example.com"]
    r = await api.get("/api/users", params={"born__isnull": "true", "order": "-id"})
    assert r.json()["items"][0]["email"] == "u6@example.com"

    r = await api.get("/api/users", params={"limit": 3, "offset": 3, "order": "-email"})
    page = r.json()
    assert page["total"] == 7 and page["next_offset"] == 6
    assert [u["email"] for u in page["items"]] == ["u3@example.com", "u2@example.com",
                                                   "u1@example.com"]
    r = await api.get("/api/users", params={"limit": 3, "offset": 6})
    assert r.json()["next_offset"] is None and len(r.json()["items"]) == 1


async def test_bad_input_gets_400_or_422_with_field_errors(api: httpx.AsyncClient) -> None:
    r = await api.post("/api/users", content=b'{"email": ', headers={
        "content-type": "application/json"})
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"  # RFC 9457
    body = r.json()
    assert body["detail"].startswith("invalid JSON body")
    assert body["type"] == "about:blank" and body["title"] == body["error"] == "Bad Request"
    assert body["instance"] == "/api/users" and body["status"] == 400

    r = await api.post("/api/users", json=["not", "an", "object"])
    assert r.status_code == 400 and "must be a JSON object, got list" in r.json()["detail"]

    r = await api.post("/api/users", json={"email": 42, "admin": "yes", "score": "lots",
                                           "born": "yesterday", "nickname": "x", "id": 5,
                                           "created_at": "2020-01-01T00:00:00Z"})
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert errors["email"] == ["must be a string, got an integer (42)"]
    assert errors["admin"] == ["must be a boolean, got a string ('yes')"]
    assert errors["score"] == ["must be a decimal number, got a string ('lots')"]
    assert errors["born"] == ["must be an ISO 8601 date, got a string ('yesterday')"]
    assert errors["nickname"][0].startswith("unknown field; known fields: id, email, name")
    assert errors["id"] == ["is read-only"]
    assert errors["created_at"] == ["is read-only"]

    r = await api.post("/api/users", json={"name": None})
    assert r.status_code == 422 and r.json()["errors"] == {"email": ["is required"]}
    r = await api.post("/api/users", json={"email": None})
    assert r.json()["errors"] == {"email": ["may not be null"]}

    ada = await create(api, email="ada@example.com")
    r = await api.patch(f"/api/users/{ada['id']}", json={"admin": 1})
    assert r.status_code == 422 and r.json()["errors"] == {
        "admin": ["must be a boolean, got an integer (1)"]}
    r = await api.put(f"/api/users/{ada['id']}", json={"name": "no email"})
    assert r.status_code == 422 and r.json()["errors"] == {"email": ["is required"]}
    r = await api.put(f"/api/users/{ada['id']}", json={"id": ada["id"] + 1, "email": "a@b.c"})
    assert r.status_code == 422 and r.json()["errors"] == {"id": ["is read-only"]}

    # the database's own constraints: unique email is a 409 naming the column
    r = await api.post("/api/users", json={"email": "ada@example.com"})
    assert r.status_code == 409
    assert "already exists" in r.json()["detail"]
    # a value too large for numeric(10, 2)
    r = await api.post("/api/users", json={"email": "big@example.com", "score": "1e12"})
    assert r.status_code == 422

    r = await api.get("/api/users", params={"admin": "maybe", "nope": "1", "order": "-height",
                                            "limit": "500", "offset": "-1",
                                            "email__like": "x"})
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert errors["admin"] == ["must be a boolean, got 'maybe'"]
    assert errors["nope"][0].startswith("unknown filter; filter on one of id, email")
    assert errors["order"][0].startswith("unknown field 'height'")
    assert errors["limit"] == ["must be between 1 and 50, got 500"]
    assert errors["offset"] == ["must be between 0 and 9223372036854775807, got -1"]
    assert errors["email__like"][0].startswith("unknown operator 'like'")

    r = await api.get("/api/users/not-a-number")
    assert r.status_code == 404


async def test_auth_guards_every_route(database_url: str, tmp_path: Path) -> None:
    from rum import Authentication, Request

    class ApiKey(Authentication):
        async def authorize(self, request: Request) -> bool:
            return request.headers.get("x-api-key") == "sesame"

    async with Database.open(database_url) as setup:
        await setup.execute(SCHEMA)
    app = App(ModelController(USER, auth=ApiKey()).crud("/api/users"),
              plugins=["http", "orm"], root=tmp_path,
              config={"database": {"url": database_url}, "http": {"access_log": False}})
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/api/users")).status_code == 403
        assert (await client.post("/api/users", json={"email": "a@b.c"})).status_code == 403
        r = await client.post("/api/users", json={"email": "a@b.c"},
                              headers={"x-api-key": "sesame"})
        assert r.status_code == 201
        assert (await client.delete(f"/api/users/{r.json()['id']}")).status_code == 403
        r = await client.get("/api/users", headers={"x-api-key": "sesame"})
        assert r.json()["total"] == 1


async def test_cursor_pages_follow_the_order(api: httpx.AsyncClient) -> None:
    for i in range(7):
        await create(api, email=f"u{i}@example.com", admin=i % 2 == 0)
    seen: list[str] = []
    cursor = ""
    pages = 0
    while cursor is not None:
        r = await api.get("/api/users", params={"cursor": cursor, "limit": 3,
                                                "order": "admin,-email"})
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["total"] == (7 if pages == 0 else 8) and "offset" not in page
        seen += [u["email"] for u in page["items"]]
        cursor = page["next_cursor"]
        pages += 1
        if pages == 1:  # a row added before the cursor position does not shift later pages
            await create(api, email="u9@example.com", admin=False)
    assert pages == 3
    assert seen == ["u5@example.com", "u3@example.com", "u1@example.com",  # admin = false
                    "u6@example.com", "u4@example.com", "u2@example.com", "u0@example.com"]

    r = await api.get("/api/users", params={"cursor": "bm9wZQ", "order": "email"})
    assert r.status_code == 400 and r.json()["errors"]["cursor"][0].startswith(
        "is not a cursor from this listing")
    r = await api.get("/api/users", params={"cursor": "", "order": "name"})
    assert r.status_code == 422 and "name may be null" in r.json()["errors"]["cursor"][0]
    r = await api.get("/api/users", params={"cursor": "", "offset": 3})
    assert r.json()["errors"] == {"offset": ["cannot be combined with cursor"]}


async def test_scope_limits_every_operation_to_the_callers_rows(database_url: str,
                                                                 tmp_path: Path) -> None:
    from rum import Request

    async with Database.open(database_url) as setup:
        await setup.execute("CREATE TABLE notes (id serial PRIMARY KEY, owner text NOT NULL, "
                            "body text NOT NULL DEFAULT '')")
    note = Resource("Note", "notes", {
        "id": FieldSpec("id", int, primary_key=True, has_default=True),
        "owner": FieldSpec("owner", str),
        "body": FieldSpec("body", str, has_default=True),
    })

    async def owner(request: Request) -> dict[str, Any]:
        return {"owner": request.headers.get("x-user") or "nobody"}

    app = App(ModelController(note, scope=owner).crud("/api/notes"),
              plugins=["http", "orm"], root=tmp_path,
              config={"database": {"url": database_url}, "http": {"access_log": False}})
    async with serve_app(app) as base, \
            httpx.AsyncClient(base_url=base, headers={"x-user": "alice"}) as alice, \
            httpx.AsyncClient(base_url=base, headers={"x-user": "bob"}) as bob:
        r = await alice.post("/api/notes", json={"body": "mine"})
        assert r.status_code == 201 and r.json()["owner"] == "alice"
        nid = r.json()["id"]
        assert (await alice.post("/api/notes", json={"owner": "alice"})).status_code == 201
        r = await alice.post("/api/notes", json={"owner": "bob", "body": "forged"})
        assert r.status_code == 422
        assert r.json()["errors"] == {"owner": ["is set by the server for this request"]}

        assert (await bob.get("/api/notes")).json()["total"] == 0
        assert (await alice.get("/api/notes")).json()["total"] == 2
        for method in ("GET", "PATCH", "PUT", "DELETE"):
            r = await bob.request(method, f"/api/notes/{nid}", json={"body": "hijack"})
            assert r.status_code == 404, method
        r = await alice.put(f"/api/notes/{nid}", json={"body": "still mine"})
        assert r.json() == {"id": nid, "owner": "alice", "body": "still mine"}
        assert (await alice.delete(f"/api/notes/{nid}")).status_code == 204

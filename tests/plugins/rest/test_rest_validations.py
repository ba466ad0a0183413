"""A model's validations in the REST API: over a real socket, a create or update the model
refuses is a 422 whose ``errors`` hold the model's messages beside the API's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from openapi_spec_validator import validate

from rum import App
from rum_http.testing import serve_app
from rum_orm import (
    Database,
    Model,
    ValidationError,
    length,
    matches,
    numericality,
    presence,
    uniqueness,
    validates,
)
from rum_rest import ModelController

pytestmark = pytest.mark.postgres


class Gadget(Model):
    sku: Annotated[str, presence(), matches(r"^[A-Za-z]+-\d+$"), uniqueness(case_sensitive=False)]
    title: Annotated[str, length(min=3, max=40)]
    stock: Annotated[int, numericality(ge=0)] = 0
    note: str | None = None

    @validates
    async def no_stock_for_drafts(self) -> str | None:
        if self.title and self.title.startswith("Draft") and self.stock:
            return "A draft gadget cannot be in stock"
        return None


SCHEMA = """
CREATE TABLE gadgets (
    id bigserial PRIMARY KEY,
    sku text NOT NULL,
    title text NOT NULL,
    stock integer NOT NULL DEFAULT 0,
    note text
)
"""


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with Database.open(database_url) as setup:
        await setup.execute(SCHEMA)
    app = App(ModelController(Gadget).crud("/api/gadgets"), plugins=["http", "orm", "rest"],
              root=tmp_path,
              config={"database": {"url": database_url}, "http": {"access_log": False}})
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        yield client


def problem(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == 422 and body["title"] == body["error"] == "Unprocessable Entity"
    return body


async def test_create_answers_422_with_the_models_errors(api: httpx.AsyncClient) -> None:
    body = problem(await api.post("/api/gadgets", json={"sku": "abc", "title": "ab"}))
    assert body["errors"] == {"sku": ["is invalid"],
                              "title": ["is too short (at least 3 characters)"]}
    assert body["detail"] == "2 fields are invalid: sku, title"

    # the API's own type errors and the model's errors in one answer; a field the API
    # refused keeps only the API's message
    body = problem(await api.post("/api/gadgets", json={"sku": "", "title": "ok!",
                                                        "stock": "many", "colour": "red"}))
    assert body["errors"] == {
        "stock": ["must be an integer, got a string ('many')"],
        "colour": ["unknown field; known fields: id, sku, title, stock, note"],
        "sku": ["can't be blank", "is invalid"],
    }
    body = problem(await api.post("/api/gadgets", json={"sku": "A-1"}))
    assert body["errors"] == {"title": ["is required"]}

    # record-wide errors are under "base" and in the detail
    body = problem(await api.post("/api/gadgets", json={"sku": "A-1", "title": "Draft one",
                                                        "stock": 3}))
    assert body["errors"] == {"base": ["A draft gadget cannot be in stock"]}
    assert body["detail"] == "A draft gadget cannot be in stock"

    r = await api.post("/api/gadgets", json={"sku": "A-1", "title": "First"})
    assert r.status_code == 201, r.text
    # uniqueness, checked against the row just written (case-insensitive)
    body = problem(await api.post("/api/gadgets", json={"sku": "a-1", "title": "Second",
                                                        "stock": -1}))
    assert body["errors"] == {"sku": ["is already taken"], "stock": ["must be at least 0"]}
    assert (await api.get("/api/gadgets")).json()["total"] == 1


async def test_updates_are_judged_as_the_whole_changed_record(api: httpx.AsyncClient) -> None:
    first = (await api.post("/api/gadgets", json={"sku": "A-1", "title": "First"})).json()
    second = (await api.post("/api/gadgets", json={"sku": "B-2", "title": "Second"})).json()

    # PATCH: the stored record with the change; its own sku is not a duplicate of itself
    r = await api.patch(f"/api/gadgets/{first['id']}", json={"title": "First!", "sku": "A-1"})
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "First!"
    body = problem(await api.patch(f"/api/gadgets/{second['id']}", json={"sku": "A-1"}))
    assert body["errors"] == {"sku": ["is already taken"]}
    # the stored title (not in the body) counts for the record-wide rule
    body = problem(await api.patch(f"/api/gadgets/{first['id']}", json={"stock": 2,
                                                                       "title": "Draft"}))
    assert body["errors"] == {"base": ["A draft gadget cannot be in stock"]}
    body = problem(await api.patch(f"/api/gadgets/{first['id']}", json={"stock": -5,
                                                                       "note": 7}))
    assert body["errors"] == {"note": ["must be a string, got an integer (7)"],
                              "stock": ["must be at least 0"]}

    # PUT: absent fields go back to their defaults before the model judges the record
    body = problem(await api.put(f"/api/gadgets/{second['id']}", json={"sku": "b-2",
                                                                      "title": "x"}))
    assert body["errors"] == {"title": ["is too short (at least 3 characters)"]}
    r = await api.put(f"/api/gadgets/{second['id']}", json={"sku": "B-2", "title": "Renamed"})
    assert r.status_code == 200 and r.json()["stock"] == 0 and r.json()["note"] is None

    stored = (await api.get(f"/api/gadgets/{second['id']}")).json()
    assert stored["sku"] == "B-2" and stored["title"] == "Renamed"
    assert (await api.get(f"/api/gadgets/{first['id']}")).json()["title"] == "First!"

    # a missing record is still a 404; with bad fields, the 422 of those
    assert (await api.patch("/api/gadgets/999", json={"title": "Whatever"})).status_code == 404
    body = problem(await api.patch("/api/gadgets/999", json={"stock": "x"}))
    assert body["errors"] == {"stock": ["must be an integer, got a string ('x')"]}


async def test_the_openapi_input_schemas_carry_the_validators(api: httpx.AsyncClient) -> None:
    doc = (await api.get("/api/openapi.json")).json()
    validate(doc)
    schemas = doc["components"]["schemas"]
    for name in ("GadgetCreate", "GadgetPatch"):
        props = schemas[name]["properties"]
        assert props["title"] == {"type": "string", "minLength": 3, "maxLength": 40}
        assert props["stock"] == {"type": "integer", "minimum": 0}
        assert props["sku"] == {"type": "string"}  # a Python regex is not given as a pattern
    # what is stored is described as it is (rows may predate a rule)
    assert schemas["Gadget"]["properties"]["title"] == {"type": "string"}


async def test_a_validation_error_escaping_a_controller_is_a_422(database_url: str,
                                                                 tmp_path: Path) -> None:
    from rum import Controller, Request, Response

    class Restock(Controller):
        api = True

        async def post(self, request: Request) -> Response:
            gadget = Gadget(sku="C-3", title="Third", stock=-1)
            await gadget.save()  # raises ValidationError
            return Response.json(gadget.to_dict())

    async with Database.open(database_url) as setup:
        await setup.execute(SCHEMA)
    app = App([Restock.route("/restock")], plugins=["http", "orm"], root=tmp_path,
              config={"database": {"url": database_url}, "http": {"access_log": False}})
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        r = await client.post("/restock")
        assert r.status_code == 422
        body = r.json()
        assert body["errors"] == {"stock": ["must be at least 0"]}
        assert body["detail"] == "Gadget is invalid: Stock must be at least 0"
    assert issubclass(ValidationError, Exception)

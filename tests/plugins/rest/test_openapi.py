"""The OpenAPI 3.1 document generated from the model controllers validates."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from rum import App, ConfigError
from rum_http.testing import serve_app
from rum_rest import FieldSpec, ModelController, Resource

USER = Resource("User", "users", {
    "id": FieldSpec("id", int, primary_key=True, has_default=True),
    "email": FieldSpec("email", str),
    "score": FieldSpec("score", Decimal, nullable=True),
    "created_at": FieldSpec("created_at", dt.datetime, has_default=True),
})
NOTE = Resource("Note", "notes", {
    "key": FieldSpec("key", uuid.UUID, primary_key=True, has_default=True),
    "body": FieldSpec("body", str),
    "meta": FieldSpec("meta", dict, nullable=True),
}, primary_key="key")


def make_app(tmp_path: Path, **config: object) -> App:
    routes = [*ModelController(USER, read_only=["created_at"]).crud("/api/users"),
              *ModelController(NOTE).crud("/api/notes/")]
    return App(routes, plugins=["http", "rest"], root=tmp_path, config=config or None)


async def test_openapi_document_validates_and_describes_models(tmp_path: Path) -> None:
    app = make_app(tmp_path, rest={"title": "Shop", "version": "2.1.0"})
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        r = await client.get("/api/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    validate(doc)  # raises on an invalid OpenAPI 3.1 document
    assert doc["openapi"] == "3.1.0"
    assert doc["info"] == {"title": "Shop", "version": "2.1.0"}
    assert set(doc["paths"]) == {"/api/users", "/api/users/{id}", "/api/notes",
                                 "/api/notes/{id}"}
    assert set(doc["paths"]["/api/users/{id}"]) == {"parameters", "get", "put", "patch",
                                                     "delete"}
    user = doc["components"]["schemas"]["User"]["properties"]
    assert user["id"] == {"type": "integer", "readOnly": True}
    assert user["score"]["type"] == ["string", "null"] and user["score"]["format"] == "decimal"
    assert user["created_at"] == {"type": "string", "format": "date-time", "readOnly": True}
    create = doc["components"]["schemas"]["UserCreate"]
    assert create["required"] == ["email"] and "id" not in create["properties"]
    assert doc["paths"]["/api/notes/{id}"]["parameters"][0]["schema"] == {
        "type": "string", "format": "uuid"}
    params = {p["name"] for p in doc["paths"]["/api/users"]["get"]["parameters"]}
    assert {"limit", "offset", "order", "email", "score"} <= params
    notes = {p["name"] for p in doc["paths"]["/api/notes"]["get"]["parameters"]}
    assert "meta" not in notes  # JSON columns are not filterable


def test_validator_would_catch_a_broken_document() -> None:
    with pytest.raises(OpenAPIValidationError):
        validate({"openapi": "3.1.0", "info": {"title": "x"}, "paths": {}})


def test_bad_rest_config_and_bad_field_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[rest\] needs 1 <= default_limit <= max_limit"):
        make_app(tmp_path, rest={"default_limit": 500})
    with pytest.raises(ValueError, match=r"read_only names unknown field\(s\) nmae"):
        ModelController(USER, read_only=["nmae"])
    with pytest.raises(ValueError, match="the primary key 'id' cannot be excluded"):
        ModelController(USER, exclude=["id"])

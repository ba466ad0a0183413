"""An OpenAPI 3.1 document for every model controller mounted in an app."""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from typing import TYPE_CHECKING, Any

from rum_rest.resource import FieldSpec, Resource

if TYPE_CHECKING:
    from rum.app import App

_PARAM = re.compile(r"<(?:[a-z]+:)?([A-Za-z_][A-Za-z0-9_]*)>")


def json_schema(kind: type) -> dict[str, Any]:
    """The JSON Schema of a field's Python type, as the API encodes it."""
    return {
        int: {"type": "integer"},
        float: {"type": "number"},
        decimal.Decimal: {"type": "string", "format": "decimal",
                          "pattern": r"^-?[0-9]+(\.[0-9]+)?$"},
        str: {"type": "string"},
        bool: {"type": "boolean"},
        dt.datetime: {"type": "string", "format": "date-time"},
        dt.date: {"type": "string", "format": "date"},
        dt.time: {"type": "string", "format": "time"},
        uuid.UUID: {"type": "string", "format": "uuid"},
        dict: {"type": "object"},
        list: {"type": "array"},
        bytes: {"type": "string", "contentEncoding": "base64"},
    }.get(kind, {})


def field_schema(spec: FieldSpec) -> dict[str, Any]:
    """One property: its type, nullable as ``[type, "null"]``, read-only marked."""
    schema = dict(json_schema(spec.type))
    if spec.nullable and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    if spec.read_only:
        schema["readOnly"] = True
    return schema


def _schemas(res: Resource) -> dict[str, Any]:
    props = {n: field_schema(f) for n, f in res.fields.items()}
    writable = {n: field_schema(f) for n, f in res.writable.items()}
    return {
        res.name: {"type": "object", "properties": props,
                   "required": list(res.fields)},
        f"{res.name}Create": {"type": "object", "properties": writable,
                              "required": [n for n, f in res.writable.items() if f.required],
                              "additionalProperties": False},
        f"{res.name}Patch": {"type": "object", "properties": writable,
                             "additionalProperties": False},
        f"{res.name}Page": {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{res.name}"}},
                "total": {"type": "integer"},
                "limit": {"type": "integer"},
                "offset": {"type": "integer"},
                "next_offset": {"type": ["integer", "null"],
                                "description": "offset pages (no ?cursor=)"},
                "next_cursor": {"type": ["string", "null"],
                                "description": "cursor pages (with ?cursor=)"},
            },
            "required": ["items", "total", "limit"],
        },
    }


ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {
            "type": "array", "items": {"type": "string"}}},
    },
    "required": ["error", "status", "detail"],
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {400: "Malformed request (bad JSON, not an object)", 404: "No such record",
            409: "Conflicts with an existing record",
            422: "Invalid fields or query parameters (per-field messages in `errors`)"}
    return {str(s): _json(_ref("Error"), text[s]) for s in statuses}


def _openapi_path(path: str) -> str:
    return _PARAM.sub(r"{\1}", path)


def _list_parameters(res: Resource, max_limit: int) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": max_limit},
         "description": f"page size (at most {max_limit})"},
        {"name": "offset", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 0}},
        {"name": "order", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "comma-separated fields, `-` for descending: `-created_at,id`"},
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "keyset pages: empty for the first page, then `next_cursor`"},
    ]
    for name, spec in res.fields.items():
        if not spec.filterable:
            continue
        params.append({"name": name, "in": "query", "required": False,
                       "schema": json_schema(spec.type),
                       "description": f"only rows whose {name} equals this; also "
                                      f"{name}__ne/lt/lte/gt/gte/in/contains/isnull"})
    return params


def build_document(app: App, *, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every ``ModelController`` route in ``app``."""
    from rum_rest.controller import CollectionController, ItemController

    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for route in app.router.routes:
        ctrl = route.controller
        if not isinstance(ctrl, CollectionController | ItemController):
            continue
        res = ctrl.resource
        schemas.update(_schemas(res))
        tag = res.name
        path = _openapi_path(route.path)
        if isinstance(ctrl, CollectionController):
            max_limit = ctrl.owner.max_limit or app.config.get_int("rest", "max_limit") or 100
            paths[path] = {
                "get": {"operationId": f"list{res.name}", "tags": [tag],
                        "summary": f"List {res.plural}",
                        "parameters": _list_parameters(res, max_limit),
                        "responses": {"200": _json(_ref(f"{res.name}Page"), "A page"),
                                      **_errors(422)}},
                "post": {"operationId": f"create{res.name}", "tags": [tag],
                         "summary": f"Create a {res.name}",
                         "requestBody": {"required": True, "content": {"application/json": {
                             "schema": _ref(f"{res.name}Create")}}},
                         "responses": {"201": _json(_ref(res.name), "Created"),
                                       **_errors(400, 409, 422)}},
            }
        else:
            pk_param = {"name": "id", "in": "path", "required": True,
                        "schema": json_schema(res.pk.type)}
            body = {"required": True, "content": {"application/json": {
                "schema": _ref(f"{res.name}Create")}}}
            paths[path] = {
                "parameters": [pk_param],
                "get": {"operationId": f"get{res.name}", "tags": [tag],
                        "summary": f"Get a {res.name}",
                        "responses": {"200": _json(_ref(res.name), "Found"), **_errors(404)}},
                "put": {"operationId": f"replace{res.name}", "tags": [tag],
                        "summary": f"Replace a {res.name} (absent fields reset to defaults)",
                        "requestBody": body,
                        "responses": {"200": _json(_ref(res.name), "Replaced"),
                                      **_errors(400, 404, 409, 422)}},
                "patch": {"operationId": f"update{res.name}", "tags": [tag],
                          "summary": f"Update some fields of a {res.name}",
                          "requestBody": {"required": True, "content": {"application/json": {
                              "schema": _ref(f"{res.name}Patch")}}},
                          "responses": {"200": _json(_ref(res.name), "Updated"),
                                        **_errors(400, 404, 409, 422)}},
                "delete": {"operationId": f"delete{res.name}", "tags": [tag],
                           "summary": f"Delete a {res.name}",
                           "responses": {"204": {"description": "Deleted"}, **_errors(404)}},
            }
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": schemas},
    }

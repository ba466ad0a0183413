"""An OpenAPI 3.1 document for every model controller mounted in an app."""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from typing import TYPE_CHECKING, Any

from rum_orm import INT64_MAX
from rum_rest.operations import documented, openapi_path, operation, path_parameters
from rum_rest.resource import FieldSpec, Resource
from rum_rest.validation import schema_constraints

if TYPE_CHECKING:
    from rum.app import App



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
    writable = {n: {**field_schema(f), **schema_constraints(res, n)}
                for n, f in res.writable.items()}
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
    "description": "RFC 9457 problem details: `detail` says what is wrong; `errors` lists "
                   "the messages of each invalid field or query parameter (422).",
    "properties": {
        "error": {"type": "string"},
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {
            "type": "array", "items": {"type": "string"}}},
    },
    "required": ["status", "detail"],
}


def words(name: str) -> str:
    """A class or table name as lower-case words: ``OrderLine``/``order_lines`` → ``order
    line``/``order lines``."""
    spaced = re.sub(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])", r" \1\2", name)
    parts = spaced.replace("_", " ").replace("-", " ").split()
    return " ".join(p if len(p) > 1 and p.isupper() else p.lower() for p in parts)


#: Words that start with a vowel letter but a consonant sound, and the reverse.
_CONSONANT_SOUND = re.compile(r"^(u[bcfhjkqrstn][aeiou]|u$|uni|use|usu|uti|eu|ewe|one|once)")
_VOWEL_SOUND = re.compile(r"^(hour|honest|honou?r|heir)")


def with_article(phrase: str) -> str:
    """``order`` → ``an order``, ``user`` → ``a user``, ``hour`` → ``an hour``, ``HTTP log``
    → ``an HTTP log`` (acronyms by the sound of their first letter)."""
    first = phrase.split(" ", 1)[0]
    if len(first) > 1 and first.isupper():
        return f"{'an' if first[0] in 'AEFHILMNORSX' else 'a'} {phrase}"
    low = phrase.lower()
    vowel = (low[:1] in "aeiou" and not _CONSONANT_SOUND.match(low)) or bool(
        _VOWEL_SOUND.match(low))
    return f"{'an' if vowel else 'a'} {phrase}"


def security_scheme(auth: Any, app: Any) -> tuple[str, dict[str, Any]] | None:
    """The OpenAPI security scheme of a route's authentication handler: bearer tokens, HTTP
    basic, or the session cookie; ``None`` for no or an unknown handler. A handler may give
    its own as an ``openapi_security = (name, scheme)`` attribute."""
    if auth is None:
        return None
    own = getattr(auth, "openapi_security", None)
    if own is not None:
        return own
    kind = type(auth).__name__
    if kind == "TokenAuth" or "Bearer" in kind:
        return "bearerAuth", {"type": "http", "scheme": "bearer",
                              "description": "`Authorization: Bearer <token>`"}
    if kind == "BasicAuth":
        return "basicAuth", {"type": "http", "scheme": "basic"}
    if kind == "SessionAuth":
        manager = app.extensions.get("sessions") if app is not None else None
        cookie = getattr(manager, "cookie_name", "rum_session")
        return "sessionCookie", {
            "type": "apiKey", "in": "cookie", "name": cookie,
            "description": "the session cookie set by logging in; requests that change "
                           "data also need the CSRF token (see docs/auth.md)"}
    return None


def _secure(op: dict[str, Any], scheme: tuple[str, dict[str, Any]] | None,
            schemes: dict[str, Any]) -> dict[str, Any]:
    if scheme is None:
        return op
    name, definition = scheme
    schemes[name] = definition
    op["security"] = [{name: []}]
    op["responses"].setdefault("401", _problem("Not authenticated"))
    op["responses"].setdefault("403", _problem("Not allowed"))
    return op


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/problem+json": {"schema": _ref("Error")}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {400: "Malformed request (bad JSON, nested too deep, a bad cursor)",
            404: "No such record",
            409: "Conflicts with an existing record",
            422: "Invalid fields or query parameters (per-field messages in `errors`)"}
    return {str(s): _problem(text[s]) for s in statuses}


def _list_parameters(res: Resource, max_limit: int) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": max_limit},
         "description": f"page size (at most {max_limit})"},
        {"name": "offset", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 0, "maximum": INT64_MAX}},
        {"name": "order", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "comma-separated fields, `-` for descending: `-created_at,id`"},
        {"name": "cursor", "in": "query", "required": False,
         "schema": {"type": "string", "maxLength": 4096},
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


def _model_paths(app: App, route: Any, schemas: dict[str, Any],
                 schemes: dict[str, Any]) -> dict[str, Any]:
    from rum_rest.controller import CollectionController

    ctrl = route.controller
    res = ctrl.resource
    schemas.update(_schemas(res))
    tag = res.name
    one = with_article(words(res.name))
    many = words(res.plural)
    scheme = security_scheme(route.auth, app)

    def op(**fields: Any) -> dict[str, Any]:
        return _secure({"tags": [tag], **fields}, scheme, schemes)

    if isinstance(ctrl, CollectionController):
        max_limit = ctrl.owner.max_limit or app.config.get_int("rest", "max_limit") or 100
        return {
            "get": op(operationId=f"list{res.name}", summary=f"List {many}",
                      parameters=_list_parameters(res, max_limit),
                      responses={"200": _json(_ref(f"{res.name}Page"), "A page"),
                                 **_errors(400, 422)}),
            "post": op(operationId=f"create{res.name}", summary=f"Create {one}",
                       requestBody={"required": True, "content": {"application/json": {
                           "schema": _ref(f"{res.name}Create")}}},
                       responses={"201": _json(_ref(res.name), "Created"),
                                  **_errors(400, 409, 422)}),
        }
    pk_param = {"name": "id", "in": "path", "required": True,
                "schema": json_schema(res.pk.type)}
    body = {"required": True, "content": {"application/json": {
        "schema": _ref(f"{res.name}Create")}}}
    return {
        "parameters": [pk_param],
        "get": op(operationId=f"get{res.name}", summary=f"Get {one}",
                  responses={"200": _json(_ref(res.name), "Found"), **_errors(404)}),
        "put": op(operationId=f"replace{res.name}",
                  summary=f"Replace {one} (absent fields reset to their defaults)",
                  requestBody=body,
                  responses={"200": _json(_ref(res.name), "Replaced"),
                             **_errors(400, 404, 409, 422)}),
        "patch": op(operationId=f"update{res.name}", summary=f"Update some fields of {one}",
                    requestBody={"required": True, "content": {"application/json": {
                        "schema": _ref(f"{res.name}Patch")}}},
                    responses={"200": _json(_ref(res.name), "Updated"),
                               **_errors(400, 404, 409, 422)}),
        "delete": op(operationId=f"delete{res.name}", summary=f"Delete {one}",
                     responses={"204": {"description": "Deleted"}, **_errors(404)}),
    }


_OWN_CONTROLLERS = ("OpenAPIController", "DocsPage", "DocsAssets")


def _handwritten_paths(app: App, route: Any, schemas: dict[str, Any],
                       schemes: dict[str, Any]) -> dict[str, Any]:
    ctrl = route.controller
    if type(ctrl).__name__ in _OWN_CONTROLLERS:
        return {}
    if not (route.api or documented(ctrl)):
        return {}
    scheme = security_scheme(route.auth, app)
    item: dict[str, Any] = {}
    params = path_parameters(route.path)
    if params:
        item["parameters"] = params
    for method in sorted(route.methods or ()):
        verb = method.lower()
        if method in ("HEAD", "OPTIONS"):
            continue
        op = operation(ctrl, verb, route.path, schemas, _ref("Error"))
        if op is not None:
            item[verb] = _secure(op, scheme, schemes)
    return item if set(item) - {"parameters"} else {}


def build_document(app: App, *, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the app's ``ModelController`` routes and of its
    hand-written API controllers (``api = True``, or methods marked ``@openapi``), with the
    security schemes their authentication handlers use."""
    from rum_rest.controller import CollectionController, ItemController

    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    schemes: dict[str, Any] = {}
    for route in app.router.routes:
        if isinstance(route.controller, CollectionController | ItemController):
            item = _model_paths(app, route, schemas, schemes)
        else:
            item = _handwritten_paths(app, route, schemas, schemes)
        if item:
            path = openapi_path(route.path)
            paths[path] = {**paths.get(path, {}), **item}
    components: dict[str, Any] = {"schemas": schemas}
    if schemes:
        components["securitySchemes"] = schemes
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": components,
    }

"""OpenAPI entries for hand-written controllers: the :func:`openapi` decorator, and what is
read from a route, a method's docstring and its annotations when there is no decorator.

::

    class Stats(Controller):
        api = True

        @openapi(summary="Show the shop's statistics", response=StatsBody, tags=["Stats"])
        async def get(self, request: Request) -> Response:
            ...

A controller appears in the document when it is an API controller (``api = True`` on the
class or the route) or when one of its methods carries ``@openapi``; ``@openapi(hidden=True)``
leaves a method out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import inspect
import re
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from typing import Any

#: Attribute the decorator sets on a method.
ATTRIBUTE = "__rum_openapi__"

_VERBS = {"get": "Get", "post": "Create", "put": "Replace", "patch": "Update",
          "delete": "Delete", "options": "Describe"}


def openapi(*, summary: str | None = None, description: str | None = None,
            tags: list[str] | None = None, operation_id: str | None = None,
            request: Any = None, response: Any = None, status: int = 200,
            responses: Mapping[int | str, Any] | None = None,
            parameters: list[dict[str, Any]] | None = None,
            deprecated: bool = False, hidden: bool = False) -> Callable[[Any], Any]:
    """Describe a controller method in the OpenAPI document.

    ``request`` and ``response`` are the JSON bodies: a Python type (``int``, ``str``,
    ``list[Item]``, a dataclass, a ``TypedDict``...) turned into a JSON Schema, or a JSON
    Schema ``dict`` used as is. ``status`` is the status of ``response``. ``responses`` adds
    other statuses: ``{404: "No such report"}`` (a description: an error body) or
    ``{201: SomeType}``. ``parameters`` are OpenAPI parameter objects added to the ones read
    from the route (path parameters). Without ``summary`` the first line of the docstring is
    used; without ``description``, the rest of it.
    """
    info = {"summary": summary, "description": description, "tags": tags,
            "operation_id": operation_id, "request": request, "response": response,
            "status": status, "responses": dict(responses or {}),
            "parameters": list(parameters or []), "deprecated": deprecated, "hidden": hidden}

    def mark(fn: Any) -> Any:
        setattr(fn, ATTRIBUTE, info)
        return fn

    return mark


def documented(controller: Any) -> bool:
    """Whether any method of ``controller`` carries :func:`openapi`."""
    return any(getattr(getattr(controller, m, None), ATTRIBUTE, None) is not None
               for m in _VERBS)


def docstring_parts(fn: Any) -> tuple[str | None, str | None]:
    """The first line of ``fn``'s docstring (a summary) and the rest (a description)."""
    doc = inspect.getdoc(fn)
    if not doc:
        return None, None
    first, _, rest = doc.partition("\n\n")
    return " ".join(first.split()), (rest.strip() or None)


# -- JSON Schema from Python types ---------------------------------------------------------------

_SIMPLE: dict[Any, dict[str, Any]] = {
    int: {"type": "integer"}, float: {"type": "number"}, str: {"type": "string"},
    bool: {"type": "boolean"}, type(None): {"type": "null"},
    decimal.Decimal: {"type": "string", "format": "decimal"},
    dt.datetime: {"type": "string", "format": "date-time"},
    dt.date: {"type": "string", "format": "date"}, dt.time: {"type": "string", "format": "time"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    bytes: {"type": "string", "contentEncoding": "base64"},
    dict: {"type": "object"}, list: {"type": "array"}, Any: {},
}


def schema_of(kind: Any, components: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of a Python type; dataclasses and TypedDicts become named components
    (``$ref``). A ``dict`` is taken as a schema already."""
    if isinstance(kind, dict):
        return kind
    if kind in _SIMPLE:
        return dict(_SIMPLE[kind])
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        options = [schema_of(a, components) for a in args]
        return {"anyOf": options}
    if origin in (list, set, frozenset, tuple) or origin is typing.Sequence:
        return {"type": "array", "items": schema_of(args[0], components) if args else {}}
    if origin in (dict, typing.Mapping) or origin is Mapping:
        return {"type": "object",
                "additionalProperties": schema_of(args[1], components) if len(args) == 2
                else {}}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if isinstance(kind, type) and (dataclasses.is_dataclass(kind) or typing.is_typeddict(kind)):
        name = kind.__name__
        if name not in components:
            components[name] = {}  # placeholder: recursive types
            hints = typing.get_type_hints(kind)
            if dataclasses.is_dataclass(kind):
                required = [f.name for f in dataclasses.fields(kind)
                            if f.default is dataclasses.MISSING
                            and f.default_factory is dataclasses.MISSING]
            else:
                required = sorted(getattr(kind, "__required_keys__", hints))
            components[name] = {
                "type": "object",
                "properties": {k: schema_of(v, components) for k, v in hints.items()},
                "required": required,
            }
            doc = inspect.getdoc(kind)
            if doc and not doc.startswith(f"{name}("):  # dataclasses' generated docstring
                components[name]["description"] = doc
        return {"$ref": f"#/components/schemas/{name}"}
    return {}


# -- path parameters ----------------------------------------------------------------------------

_PARAM = re.compile(r"<(?:(?P<kind>[a-z]+):)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)>")
_KIND_SCHEMA = {"int": {"type": "integer"}, "float": {"type": "number"},
                "uuid": {"type": "string", "format": "uuid"},
                "slug": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"}}


def path_parameters(path: str) -> list[dict[str, Any]]:
    """The OpenAPI path parameters of a route path (``<int:id>`` → integer ``id``)."""
    return [{"name": m.group("name"), "in": "path", "required": True,
             "schema": dict(_KIND_SCHEMA.get(m.group("kind") or "", {"type": "string"}))}
            for m in _PARAM.finditer(path)]


def openapi_path(path: str) -> str:
    """``/reports/<int:id>`` → ``/reports/{id}``."""
    return _PARAM.sub(r"{\g<name>}", path)


# -- operations ---------------------------------------------------------------------------------


def _default_summary(verb: str, path: str) -> str:
    words = [p for p in openapi_path(path).split("/") if p and not p.startswith("{")]
    thing = words[-1].replace("_", " ").replace("-", " ") if words else "the root"
    return f"{_VERBS.get(verb, verb.title())} {thing}"


def _response(kind: Any, description: str, components: dict[str, Any]) -> dict[str, Any]:
    if kind is None:
        return {"description": description}
    return {"description": description,
            "content": {"application/json": {"schema": schema_of(kind, components)}}}


def operation(controller: Any, verb: str, path: str, components: dict[str, Any],
              error_ref: dict[str, Any]) -> dict[str, Any] | None:
    """The OpenAPI operation of ``controller``'s method ``verb`` (``get``...) on ``path``, or
    ``None`` when the method is hidden or missing."""
    fn = getattr(controller, verb, None)
    if fn is None:
        return None
    info = getattr(fn, ATTRIBUTE, None) or {}
    if info.get("hidden"):
        return None
    doc_summary, doc_description = docstring_parts(fn)
    op: dict[str, Any] = {
        "summary": info.get("summary") or doc_summary or _default_summary(verb, path),
    }
    description = info.get("description") or doc_description
    if description:
        op["description"] = description
    name = type(controller).__name__
    op["operationId"] = info.get("operation_id") or f"{verb}{name}"
    op["tags"] = info.get("tags") or [re.sub(r"Controller$", "", name) or name]
    if info.get("parameters"):
        op["parameters"] = list(info["parameters"])
    if info.get("request") is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": schema_of(info["request"], components)}}}
    status = str(info.get("status", 200))
    responses: dict[str, Any] = {}
    if info.get("response") is not None or not info.get("responses"):
        responses[status] = _response(info.get("response"), "Success", components)
    for code, value in (info.get("responses") or {}).items():
        code = str(code)
        if isinstance(value, str):
            responses[code] = ({"description": value, "content": {
                "application/problem+json": {"schema": error_ref}}} if code[0] in "45"
                else {"description": value})
        else:
            responses[code] = _response(value, "Success", components)
    op["responses"] = responses
    if info.get("deprecated"):
        op["deprecated"] = True
    return op

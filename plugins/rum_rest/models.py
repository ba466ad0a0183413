"""Describe an ORM model (or take a ready :class:`Resource`) for the REST layer."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import types
import typing
import uuid
from typing import Any

from rum_rest.resource import MISSING, FieldSpec, Resource


def describe(model: Any, *, read_only: tuple[str, ...] = (), exclude: tuple[str, ...] = (),
             name: str | None = None) -> Resource:
    """The :class:`Resource` for ``model``: an ORM model class or a Resource.

    ``read_only`` fields are listed but cannot be set; ``exclude`` fields are left out
    entirely (they must be nullable or have a database default, since creates cannot set
    them). Unknown names in either are errors.
    """
    resource = model if isinstance(model, Resource) else _from_model(model)
    for label, names in (("read_only", read_only), ("exclude", exclude)):
        unknown = [n for n in names if n not in resource.fields]
        if unknown:
            raise ValueError(f"ModelController({resource.name}): {label} names unknown "
                             f"field(s) {', '.join(unknown)}; fields: "
                             f"{', '.join(resource.fields)}")
    if resource.primary_key in exclude:
        raise ValueError(f"ModelController({resource.name}): the primary key "
                         f"{resource.primary_key!r} cannot be excluded")
    fields = {}
    for fname, spec in resource.fields.items():
        if fname in exclude:
            continue
        if fname in read_only or spec.primary_key:
            spec = dataclasses.replace(spec, read_only=True)
        fields[fname] = spec
    return dataclasses.replace(resource, fields=fields, name=name or resource.name)


_BY_NAME: dict[str, type] = {
    "int": int, "float": float, "str": str, "bool": bool, "bytes": bytes, "dict": dict,
    "list": list, "Decimal": decimal.Decimal, "decimal.Decimal": decimal.Decimal,
    "datetime": dt.datetime, "dt.datetime": dt.datetime, "datetime.datetime": dt.datetime,
    "date": dt.date, "dt.date": dt.date, "datetime.date": dt.date,
    "time": dt.time, "dt.time": dt.time, "datetime.time": dt.time,
    "UUID": uuid.UUID, "uuid.UUID": uuid.UUID,
}


def python_type(annotation: Any) -> type:
    """The plain type behind a field annotation (``dict[str, Any]`` → ``dict``)."""
    if isinstance(annotation, str):
        text = annotation.replace(" ", "")
        for part in text.split("|"):
            if part not in ("None", "NoneType"):
                text = part
                break
        if text.startswith("Optional[") and text.endswith("]"):
            text = text[len("Optional["):-1]
        return _BY_NAME.get(text.split("[", 1)[0], str)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return python_type(args[0]) if len(args) == 1 else str
    if origin is not None:
        return origin if isinstance(origin, type) else str
    return annotation if isinstance(annotation, type) else str


def _no_default(value: Any) -> bool:
    """The ORM marks "no default" with a bare ``object()`` sentinel."""
    return type(value) is object


def _from_model(model: Any) -> Resource:
    fields = getattr(model, "__fields__", None)
    table = getattr(model, "__table__", None)
    if not isinstance(model, type) or not isinstance(fields, dict) or not table:
        raise TypeError(f"ModelController needs a rum_orm Model class or a rum_rest.Resource,"
                        f" got {model!r}")
    pk = getattr(model, "__primary_key__", "id")
    specs = {}
    for fname, f in fields.items():
        default = getattr(f, "default", None)
        nullable = bool(getattr(f, "optional", False)) and fname != pk
        specs[fname] = FieldSpec(
            fname, python_type(getattr(f, "annotation", str)), nullable=nullable,
            has_default=nullable or not _no_default(default),
            primary_key=fname == pk,
            default=MISSING if _no_default(default) else default)
    return Resource(model.__name__, table, specs, primary_key=pk, model=model,
                    plural=table)

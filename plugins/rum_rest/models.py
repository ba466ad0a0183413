"""Describe an ORM model (or take a ready :class:`Resource`) for the REST layer."""

from __future__ import annotations

import dataclasses
from typing import Any

from rum_rest.resource import Resource


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


def _from_model(model: Any) -> Resource:
    raise TypeError(f"ModelController needs a rum_orm Model class or a rum_rest.Resource, "
                    f"got {model!r}")

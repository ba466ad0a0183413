"""What the REST layer knows about a model: its table, primary key and typed fields."""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from rum_rest.coerce import JSON_TYPES

#: Python types a field may have; anything else is passed through as is.
SUPPORTED_TYPES = (int, float, decimal.Decimal, str, bool, dt.datetime, dt.date, dt.time,
                   uuid.UUID, dict, list, bytes)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: ``FieldSpec.default`` when the model declares no Python-side default.
MISSING: Any = _Missing()


@dataclass(frozen=True)
class FieldSpec:
    """One column as the API sees it.

    ``required``: a create (POST) or full update (PUT) must give it (not nullable, no
    default). ``read_only``: clients may not set it (the primary key, server-set columns).
    """

    name: str
    type: type
    nullable: bool = False
    has_default: bool = False
    read_only: bool = False
    primary_key: bool = False
    default: Any = MISSING

    @property
    def required(self) -> bool:
        """True when a create must give a value."""
        return not (self.nullable or self.has_default or self.read_only)

    @property
    def filterable(self) -> bool:
        """JSON columns cannot be filtered from the query string."""
        return self.type not in JSON_TYPES and self.type is not bytes


@dataclass
class Resource:
    """A table exposed over REST: ``name`` (e.g. ``User``), ``table``, ``fields`` in order."""

    name: str
    table: str
    fields: dict[str, FieldSpec]
    primary_key: str = "id"
    model: Any = None
    plural: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.primary_key not in self.fields:
            raise ValueError(f"resource {self.name}: primary key {self.primary_key!r} is not "
                             f"one of its fields ({', '.join(self.fields)})")
        if not self.plural:
            self.plural = snake(self.name) + "s"

    @property
    def pk(self) -> FieldSpec:
        """The primary-key field."""
        return self.fields[self.primary_key]

    @property
    def writable(self) -> dict[str, FieldSpec]:
        """Fields clients may set."""
        return {n: f for n, f in self.fields.items() if not f.read_only}


def snake(name: str) -> str:
    """``OrderLine`` → ``order_line``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()

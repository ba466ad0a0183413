"""Field lists of ``rum generate``: ``title:str body:text published:bool price:decimal?``.

Each kind maps to the model's annotation, the PostgreSQL column type (the types
``rum migrate make`` gives those annotations, so a generated migration and its model agree),
and the form input the generated views use.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from rum.errors import RumError


@dataclass(frozen=True)
class Kind:
    """What one field kind becomes in the model, the migration and the form."""

    annotation: str
    sql: str
    input: str          # text, textarea, number, checkbox, date, datetime-local
    sample: str         # a valid form value, for generated tests
    imports: tuple[str, ...] = ()


KINDS: dict[str, Kind] = {
    "str": Kind("str", "text", "text", "Sample {name}"),
    "text": Kind("str", "text", "textarea", "Some {name} text"),
    "int": Kind("int", "bigint", "number", "42"),
    "float": Kind("float", "double precision", "number", "1.5"),
    "decimal": Kind("decimal.Decimal", "numeric", "number", "9.99", ("import decimal",)),
    "bool": Kind("bool", "boolean", "checkbox", "true"),
    "date": Kind("dt.date", "date", "date", "2026-01-02", ("import datetime as dt",)),
    "datetime": Kind("dt.datetime", "timestamp with time zone", "datetime-local",
                     "2026-01-02T03:04", ("import datetime as dt",)),
    "uuid": Kind("uuid.UUID", "uuid", "text", "12345678-1234-5678-1234-567812345678",
                 ("import uuid",)),
    "json": Kind("dict", "jsonb", "textarea", '{{"{name}": 1}}'),
}
ALIASES = {"string": "str", "integer": "int", "boolean": "bool", "timestamp": "datetime"}
_IDENT = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class FieldSpec:
    """One ``name:kind`` (``?`` at the end: nullable)."""

    name: str
    kind: str
    optional: bool = False

    @property
    def info(self) -> Kind:
        """The :class:`Kind`."""
        return KINDS[self.kind]

    @property
    def annotation(self) -> str:
        """``str``, ``int | None``..."""
        return self.info.annotation + (" | None" if self.optional else "")

    @property
    def default(self) -> str:
        """The Python default in the model (``""`` for none)."""
        if self.optional:
            return " = None"
        return " = False" if self.kind == "bool" else ""

    @property
    def column_sql(self) -> str:
        """The column definition in ``CREATE TABLE``/``ADD COLUMN``."""
        out = f"{sql_name(self.name)} {self.info.sql}"
        if not self.optional:
            out += " NOT NULL"
        if self.kind == "bool" and not self.optional:
            out += " DEFAULT false"
        return out

    def sample(self) -> str:
        """A valid form value."""
        return self.info.sample.format(name=self.name)


_RESERVED = frozenset([
    "all", "and", "any", "as", "asc", "both", "case", "check", "column", "constraint",
    "create", "current_user", "default", "desc", "distinct", "do", "else", "end", "false",
    "for", "foreign", "from", "grant", "group", "having", "in", "is", "limit", "not", "null",
    "offset", "on", "only", "or", "order", "primary", "references", "select", "session_user",
    "some", "table", "then", "to", "true", "union", "unique", "user", "using", "when", "where",
    "window", "with",
])


def sql_name(name: str) -> str:
    """``name`` as a SQL identifier: quoted when it is a reserved word (``"order"``)."""
    return f'"{name}"' if name in _RESERVED else name


def parse_fields(specs: list[str]) -> list[FieldSpec]:
    """``["title:str", "body:text"]`` → field specs; a bad one is an error naming it."""
    out: list[FieldSpec] = []
    seen: set[str] = set()
    for spec in specs:
        name, _, kind = spec.partition(":")
        kind = kind or "str"
        optional = kind.endswith("?")
        kind = ALIASES.get(kind.rstrip("?").lower(), kind.rstrip("?").lower())
        if not _IDENT.fullmatch(name) or keyword.iskeyword(name) or name == "id":
            raise RumError(f"field {spec!r}: the name must be a lower-case identifier other "
                           f"than id, e.g. title:str")
        if kind not in KINDS:
            raise RumError(f"field {spec!r}: unknown type {kind!r}; use one of "
                           f"{', '.join(KINDS)} (add ? for nullable, e.g. subtitle:str?)")
        if name in seen:
            raise RumError(f"field {name!r} is given twice")
        seen.add(name)
        out.append(FieldSpec(name, kind, optional))
    return out

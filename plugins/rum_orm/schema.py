"""Schemas as data: what the models declare (:func:`model_schema`) and what a live PostgreSQL
database holds (:func:`read_schema`, from ``pg_catalog``), in the same shape so that
:mod:`rum_orm.autodiff` can compare them.

A model declares, beyond its annotated fields:

- ``__indexes__ = ["created_at", ("user_id", "created_at")]``: plain indexes;
- ``__unique__ = ["email", ("order_id", "name")]``: unique constraints;
- ``belongs_to(...)`` relations: a foreign key (``REFERENCES target (id)``) and an index on
  the foreign-key column.

Field types map to PostgreSQL types as the ORM reads and writes them (:data:`TYPES`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sys
import typing
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rum_orm.errors import ModelDefinitionError

if TYPE_CHECKING:
    from rum import App
    from rum_orm.database import Connection, Database
    from rum_orm.model import Model

#: Python field type → the PostgreSQL type a new column gets.
TYPES: dict[Any, str] = {
    int: "bigint",
    str: "text",
    bool: "boolean",
    float: "double precision",
    decimal.Decimal: "numeric",
    dt.datetime: "timestamp with time zone",
    dt.date: "date",
    dt.time: "time without time zone",
    dt.timedelta: "interval",
    uuid.UUID: "uuid",
    bytes: "bytea",
    dict: "jsonb",
    list: "jsonb",
    typing.Any: "jsonb",
}

#: PostgreSQL types an existing column may have and still match the field type (no retype).
COMPATIBLE: dict[str, set[str]] = {
    "bigint": {"bigint", "integer", "smallint"},
    "text": {"text", "character varying", "character", "citext"},
    "double precision": {"double precision", "real"},
    "numeric": {"numeric"},
    "jsonb": {"jsonb", "json"},
}

#: Spellings accepted in field lists (``rum generate model Post title:str``) and what they map to.
TYPE_NAMES: dict[str, Any] = {
    "int": int, "integer": int, "bigint": int, "str": str, "string": str, "text": str,
    "bool": bool, "boolean": bool, "float": float, "decimal": decimal.Decimal,
    "datetime": dt.datetime, "timestamp": dt.datetime, "date": dt.date, "time": dt.time,
    "uuid": uuid.UUID, "bytes": bytes, "binary": bytes, "json": dict, "dict": dict,
    "list": list,
}


def base_kind(pg_type: str) -> str:
    """``character varying(20)`` → ``character varying``; ``numeric(10,2)`` → ``numeric``."""
    return pg_type.split("(", 1)[0].strip()


def pg_type_for(annotation: Any, *, where: str = "") -> str:
    """The PostgreSQL type for a field's (non-``None``) type."""
    origin = typing.get_origin(annotation) or annotation
    if origin in TYPES:
        return TYPES[origin]
    name = getattr(annotation, "__name__", None) or str(annotation)
    if name in ("JSON", "Json", "JSONValue"):
        return "jsonb"
    raise ModelDefinitionError(f"{where}: no PostgreSQL type for {name!r}; use one of int, str, "
                               f"bool, float, Decimal, datetime, date, UUID, bytes, dict/list "
                               f"(jsonb), or X | None")


def types_match(wanted: str, actual: str) -> bool:
    """Whether a column of type ``actual`` serves a field that wants ``wanted``."""
    kind = base_kind(actual)
    return kind == wanted or kind in COMPATIBLE.get(wanted, set())


def sql_literal(value: Any) -> str | None:
    """``value`` as a SQL literal for a column default; ``None`` when it cannot be one."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | decimal.Decimal):
        text = str(value)
        return text if not text.startswith("-") else f"({text})"
    if isinstance(value, str | dt.date | dt.time | uuid.UUID):
        text = value.isoformat() if isinstance(value, dt.date | dt.time) else str(value)
        return "'" + text.replace("'", "''") + "'"
    if isinstance(value, dict | list):
        return "'" + json.dumps(value).replace("'", "''") + "'::jsonb"
    return None


def q(name: str) -> str:
    """A quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class ColumnDef:
    """A column: PostgreSQL type, nullability, default expression (SQL), primary key."""

    name: str
    type: str
    nullable: bool
    default: str | None = None
    primary_key: bool = False
    #: ``True`` for a model column whose default the model does not decide (no Python default)
    default_free: bool = False

    def ddl(self) -> str:
        """The column's definition in ``CREATE TABLE`` / ``ADD COLUMN``."""
        if self.primary_key and self.type == "bigint":
            return f"{q(self.name)} bigserial PRIMARY KEY"
        if self.primary_key:
            return f"{q(self.name)} {self.type} PRIMARY KEY"
        out = f"{q(self.name)} {self.type}"
        if not self.nullable:
            out += " NOT NULL"
        if self.default is not None:
            out += f" DEFAULT {self.default}"
        return out


@dataclass(frozen=True)
class ForeignKey:
    """``column REFERENCES target (target_column)``."""

    column: str
    target: str
    target_column: str = "id"
    name: str = ""


@dataclass
class TableDef:
    """A table's columns (in order), indexes, unique constraints and foreign keys.

    ``indexes`` and ``unique`` map a tuple of column names to the index's or constraint's
    name (empty for model tables: the generator names them).
    """

    name: str
    columns: dict[str, ColumnDef] = field(default_factory=dict)
    indexes: dict[tuple[str, ...], str] = field(default_factory=dict)
    unique: dict[tuple[str, ...], str] = field(default_factory=dict)
    #: unique constraints that are unique indexes, not constraints (dropped with DROP INDEX)
    unique_indexes: set[tuple[str, ...]] = field(default_factory=set)
    foreign_keys: dict[str, ForeignKey] = field(default_factory=dict)
    model: str = ""


Schema = dict[str, TableDef]


# -- the models' side ---------------------------------------------------------------------------


def _column_tuple(spec: str | Sequence[str], where: str) -> tuple[str, ...]:
    cols = (spec,) if isinstance(spec, str) else tuple(spec)
    if not cols or not all(isinstance(c, str) and c for c in cols):
        raise ModelDefinitionError(f"{where}: expected a column name or a tuple of names, "
                                   f"got {spec!r}")
    return cols


def model_table(model: type[Model]) -> TableDef:
    """The table ``model`` declares (see the module documentation)."""
    from rum_orm.model import belongs_to

    where = f"{model.__module__}.{model.__name__}"
    table = TableDef(model.__table__, model=where)
    pk = model.__primary_key__
    for name, fld in model.__fields__.items():
        annotation = fld.base_type
        if isinstance(annotation, str):
            raise ModelDefinitionError(f"{where}.{name}: cannot resolve the annotation "
                                       f"{annotation!r}; import its type at module level")
        pg_type = pg_type_for(annotation, where=f"{where}.{name}")
        default = None
        free = True
        raw = fld.default
        if name != pk and raw is not None and not _is_unset(raw):
            default = sql_literal(raw)
            free = default is None
        table.columns[name] = ColumnDef(name, pg_type, nullable=fld.optional and name != pk,
                                        default=default, primary_key=name == pk,
                                        default_free=free)
    for spec in getattr(model, "__indexes__", ()) or ():
        cols = _column_tuple(spec, f"{where}.__indexes__")
        _check_columns(table, cols, f"{where}.__indexes__")
        table.indexes[cols] = ""
    for spec in getattr(model, "__unique__", ()) or ():
        cols = _column_tuple(spec, f"{where}.__unique__")
        _check_columns(table, cols, f"{where}.__unique__")
        table.unique[cols] = ""
    for relation in model.__relations__.values():
        if not isinstance(relation, belongs_to):
            continue
        column = relation.foreign_key
        if column not in table.columns:
            raise ModelDefinitionError(f"{where}.{relation.name}: belongs_to needs the column "
                                       f"{column!r}; declare it (e.g. `{column}: int`)")
        target = relation.target
        table.foreign_keys[column] = ForeignKey(column, target.__table__,
                                                target.__primary_key__)
        if (column,) not in table.unique and not any(c[0] == column for c in table.indexes):
            table.indexes[(column,)] = ""
    return table


def _is_unset(value: Any) -> bool:
    from rum_orm import model

    return value is model._UNSET


def _check_columns(table: TableDef, cols: Iterable[str], where: str) -> None:
    for col in cols:
        if col not in table.columns:
            raise ModelDefinitionError(f"{where}: no field {col!r} (fields: "
                                       f"{', '.join(table.columns)})")


def model_schema(models: Iterable[type[Model]]) -> Schema:
    """The tables ``models`` declare; two models on one table is an error naming both."""
    out: Schema = {}
    for model in models:
        table = model_table(model)
        if table.name in out:
            raise ModelDefinitionError(f"{out[table.name].model} and {table.model} both map to "
                                       f"the table {table.name!r}; set __table__ on one")
        out[table.name] = table
    return out


def app_models(app: App | None = None, root: Path | None = None) -> list[type[Model]]:
    """The model classes of the app: every ``Model`` subclass defined in a module under the
    app's root directory (the modules the app imports, e.g. ``models.py``), by class name."""
    from rum_orm.model import Model, _all_models

    base = Path(root if root is not None else app.root if app is not None else ".").resolve()
    found: list[type[Model]] = []
    for model in _all_models(Model):
        module = sys.modules.get(model.__module__)
        path = getattr(module, "__file__", None)
        if not path:
            continue
        try:
            Path(path).resolve().relative_to(base)
        except ValueError:
            continue
        if "<locals>" in model.__qualname__:
            continue
        found.append(model)
    return sorted(found, key=lambda m: (m.__table__, m.__module__))


# -- the database's side ------------------------------------------------------------------------

_COLUMNS = """
SELECT c.relname AS table_name, a.attname AS column_name,
       format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
       pg_get_expr(d.adbin, d.adrelid) AS default_sql
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""

_INDEXES = """
SELECT c.relname AS table_name, i.relname AS index_name, ix.indisunique AS is_unique,
       ix.indisprimary AS is_primary,
       ix.indpred IS NOT NULL OR ix.indexprs IS NOT NULL AS special,
       con.conname AS constraint_name,
       ARRAY(SELECT a.attname FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(num, ord)
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.num
             ORDER BY k.ord) AS columns
FROM pg_index ix
JOIN pg_class c ON c.oid = ix.indrelid
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_constraint con ON con.conindid = ix.indexrelid AND con.conrelid = c.oid
     AND con.contype IN ('p', 'u', 'x')
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
ORDER BY c.relname, i.relname
"""

_FOREIGN_KEYS = """
SELECT c.relname AS table_name, con.conname AS name, a.attname AS column_name,
       t.relname AS target, ta.attname AS target_column
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class t ON t.oid = con.confrelid
JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
JOIN pg_attribute ta ON ta.attrelid = con.confrelid AND ta.attnum = con.confkey[1]
WHERE con.contype = 'f' AND n.nspname = current_schema() AND cardinality(con.conkey) = 1
ORDER BY c.relname, con.conname
"""


async def read_schema(db: Database | Connection) -> Schema:
    """The tables of the database's current schema (``public``, usually)."""
    out: Schema = {}
    rows: list[Any] = list(await db.fetch(_COLUMNS))
    for row in rows:
        table = out.setdefault(row["table_name"], TableDef(row["table_name"]))
        table.columns[row["column_name"]] = ColumnDef(row["column_name"], row["type"],
                                                      row["nullable"], row["default_sql"])
    rows = list(await db.fetch(_INDEXES))
    for row in rows:
        table = out.get(row["table_name"])  # type: ignore[assignment]
        if table is None:
            continue
        cols = tuple(row["columns"])
        if row["is_primary"]:
            for col in cols:
                if col in table.columns:
                    table.columns[col].primary_key = True
            continue
        if row["special"]:
            continue  # partial and expression indexes are not the models' business
        if row["is_unique"]:
            table.unique[cols] = row["constraint_name"] or row["index_name"]
            if not row["constraint_name"]:
                table.unique_indexes.add(cols)
        else:
            table.indexes[cols] = row["index_name"]
    rows = list(await db.fetch(_FOREIGN_KEYS))
    for row in rows:
        found = out.get(row["table_name"])
        if found is not None:
            found.foreign_keys[row["column_name"]] = ForeignKey(
                row["column_name"], row["target"], row["target_column"], row["name"])
    return out

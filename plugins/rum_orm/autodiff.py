"""Compare the models with the live schema and write the SQL that closes the gap.

:func:`diff` returns :class:`Change` objects, each with its ``up`` and ``down`` statements;
:func:`render` turns them into the text of a ``.up.sql`` and a ``.down.sql`` file, and
:func:`make_migration` writes those files (what ``rum migrate make NAME`` does).

What is compared, per model table (tables without a model are left alone):

- a table missing from the database → ``CREATE TABLE``;
- columns: added, dropped, renamed (only when asked: ``renames`` or the ``ask`` callback;
  never guessed), retyped (``ALTER COLUMN ... TYPE ... USING``), nullability, and defaults of
  fields that have a Python default (a field without one leaves the column's default alone:
  ``DEFAULT now()`` stays);
- plain indexes (``__indexes__``, and one per ``belongs_to`` column), unique constraints
  (``__unique__``) and foreign keys (``belongs_to``); partial and expression indexes of the
  database are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rum_orm.schema import (
    ColumnDef,
    ForeignKey,
    Schema,
    TableDef,
    base_kind,
    model_schema,
    q,
    read_schema,
    types_match,
)

if TYPE_CHECKING:
    from rum_orm.database import Connection, Database
    from rum_orm.model import Model

#: ``ask(table, old, new)`` → whether column ``old`` was renamed to ``new``.
AskRename = Callable[[str, str, str], bool]

# phases: the order statements run in (down runs in reverse)
_DROP_FK, _DROP_INDEX, _CREATE, _RENAME, _ADD, _ALTER, _DROP, _INDEX, _FK = range(9)


@dataclass
class Change:
    """One difference and the statements that apply (``up``) and undo (``down``) it."""

    phase: int
    table: str
    description: str
    up: list[str]
    down: list[str]
    notes: list[str] = field(default_factory=list)


@dataclass
class Diff:
    """The changes, plus remarks for the user (e.g. a possible rename that was not asked)."""

    changes: list[Change]
    remarks: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def describe(self) -> list[str]:
        """One line per change, e.g. ``add column posts.title (text NOT NULL)``."""
        return [c.description for c in self.changes]


def parse_renames(specs: Iterable[str]) -> dict[tuple[str | None, str], str]:
    """``["old:new", "posts.old:new"]`` → ``{(None, "old"): "new", ("posts", "old"): "new"}``."""
    out: dict[tuple[str | None, str], str] = {}
    for spec in specs:
        match = re.fullmatch(r"(?:(\w+)\.)?(\w+):(\w+)", spec.strip())
        if match is None:
            raise ValueError(f"--rename {spec!r}: expected OLD:NEW or TABLE.OLD:NEW, "
                             f"e.g. --rename posts.name:title")
        out[(match[1], match[2])] = match[3]
    return out


def _index_name(table: str, cols: Sequence[str], suffix: str) -> str:
    name = f"{table}_{'_'.join(cols)}_{suffix}"
    return name[:63]


def _fk_name(table: str, column: str) -> str:
    return f"{table}_{column}_fkey"[:63]


def _cols(cols: Sequence[str]) -> str:
    return ", ".join(q(c) for c in cols)


def _describe_column(col: ColumnDef) -> str:
    text = col.type + ("" if col.nullable or col.primary_key else " NOT NULL")
    if col.primary_key:
        text += " PRIMARY KEY"
    if col.default is not None:
        text += f" DEFAULT {col.default}"
    return text


_CALL = re.compile(r"[A-Za-z_]\w*\s*\(")


async def _same_default(db: Database | Connection, wanted: str, actual: str,
                        pg_type: str) -> bool:
    if wanted.strip() == actual.strip():
        return True
    if _CALL.search(actual) or _CALL.search(wanted):
        return False  # nextval(), now(): not something a Python default equals
    try:
        return bool(await db.fetchval(f"SELECT (({actual}))::text IS NOT DISTINCT FROM "
                                      f"(({wanted})::{pg_type})::text"))
    except Exception:
        return False


async def diff(db: Database | Connection, models: Iterable[type[Model]], *,
               renames: Mapping[tuple[str | None, str], str] | None = None,
               ask: AskRename | None = None) -> Diff:
    """The changes that make the database's schema match ``models``."""
    return await diff_schemas(db, model_schema(models), await read_schema(db),
                              renames=renames, ask=ask)


async def diff_schemas(db: Database | Connection, wanted: Schema, actual: Schema, *,
                       renames: Mapping[tuple[str | None, str], str] | None = None,
                       ask: AskRename | None = None) -> Diff:
    """Like :func:`diff`, from two schemas (``db`` compares default expressions)."""
    out = Diff([])
    for name, table in wanted.items():
        live = actual.get(name)
        if live is None:
            _create_table(out, table)
        else:
            await _alter_table(db, out, table, live, renames or {}, ask)
    out.changes.sort(key=lambda c: c.phase)
    return out


def _create_table(out: Diff, table: TableDef) -> None:
    t = q(table.name)
    body = ",\n    ".join(col.ddl() for col in table.columns.values())
    out.changes.append(Change(_CREATE, table.name, f"create table {table.name}",
                              [f"CREATE TABLE {t} (\n    {body}\n)"], [f"DROP TABLE {t}"]))
    for cols in table.unique:
        _add_unique(out, table.name, cols)
    for cols in table.indexes:
        _add_index(out, table.name, cols)
    for fk in table.foreign_keys.values():
        _add_fk(out, table.name, fk)


def _add_unique(out: Diff, table: str, cols: Sequence[str]) -> None:
    name = _index_name(table, cols, "key")
    out.changes.append(Change(
        _INDEX, table, f"add unique constraint {table} ({', '.join(cols)})",
        [f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(name)} UNIQUE ({_cols(cols)})"],
        [f"ALTER TABLE {q(table)} DROP CONSTRAINT {q(name)}"]))


def _add_index(out: Diff, table: str, cols: Sequence[str]) -> None:
    name = _index_name(table, cols, "idx")
    out.changes.append(Change(
        _INDEX, table, f"add index {table} ({', '.join(cols)})",
        [f"CREATE INDEX {q(name)} ON {q(table)} ({_cols(cols)})"],
        [f"DROP INDEX {q(name)}"]))


def _add_fk(out: Diff, table: str, fk: ForeignKey) -> None:
    name = _fk_name(table, fk.column)
    out.changes.append(Change(
        _FK, table, f"add foreign key {table}.{fk.column} → {fk.target}.{fk.target_column}",
        [f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(name)} FOREIGN KEY ({q(fk.column)}) "
         f"REFERENCES {q(fk.target)} ({q(fk.target_column)})"],
        [f"ALTER TABLE {q(table)} DROP CONSTRAINT {q(name)}"]))


def _find_renames(table: TableDef, live: TableDef,
                  renames: Mapping[tuple[str | None, str], str],
                  ask: AskRename | None) -> dict[str, str]:
    """old → new for the columns of this table that were renamed."""
    added = [c for c in table.columns if c not in live.columns]
    dropped = [c for c in live.columns if c not in table.columns]
    found: dict[str, str] = {}
    for old in dropped:
        new = renames.get((table.name, old)) or renames.get((None, old))
        if new is not None and new in added and new not in found.values():
            found[old] = new
    if ask is not None:
        for old in dropped:
            if old in found:
                continue
            for new in added:
                if new in found.values():
                    continue
                if not types_match(table.columns[new].type, live.columns[old].type):
                    continue
                if ask(table.name, old, new):
                    found[old] = new
                    break
    return found


async def _alter_table(db: Database | Connection, out: Diff, table: TableDef, live: TableDef,
                       renames: Mapping[tuple[str | None, str], str],
                       ask: AskRename | None) -> None:
    t = q(table.name)
    renamed = _find_renames(table, live, renames, ask)
    for old, new in renamed.items():
        out.changes.append(Change(
            _RENAME, table.name, f"rename column {table.name}.{old} to {new}",
            [f"ALTER TABLE {t} RENAME COLUMN {q(old)} TO {q(new)}"],
            [f"ALTER TABLE {t} RENAME COLUMN {q(new)} TO {q(old)}"]))
    # the live table as it is after the renames
    live_cols = {renamed.get(n, n): c for n, c in live.columns.items()}

    def live_tuple(cols: Sequence[str]) -> tuple[str, ...]:
        return tuple(renamed.get(c, c) for c in cols)

    added = [c for c in table.columns if c not in live_cols]
    dropped = [c for c in live_cols if c not in table.columns]
    if added and dropped and not renamed:
        out.remarks.append(f"{table.name}: dropping {', '.join(dropped)} and adding "
                           f"{', '.join(added)}; if that is a rename, pass e.g. --rename "
                           f"{table.name}.{dropped[0]}:{added[0]} (data of dropped columns "
                           f"is lost)")
    for name in added:
        col = table.columns[name]
        note = ([] if col.nullable or col.default is not None else
                [f"fails when {table.name} has rows: give {name} a default or fill it "
                 f"in steps"])
        out.changes.append(Change(
            _ADD, table.name, f"add column {table.name}.{name} ({_describe_column(col)})",
            [f"ALTER TABLE {t} ADD COLUMN {col.ddl()}"],
            [f"ALTER TABLE {t} DROP COLUMN {q(name)}"], note))
    for name in dropped:
        col = live_cols[name]
        restored = ColumnDef(name, col.type, col.nullable,
                             None if col.default and "nextval(" in col.default else col.default)
        out.changes.append(Change(
            _DROP, table.name, f"drop column {table.name}.{name} ({col.type})",
            [f"ALTER TABLE {t} DROP COLUMN {q(name)}"],
            [f"ALTER TABLE {t} ADD COLUMN {restored.ddl()}"],
            [f"the data of {table.name}.{name} is lost; revert restores the column empty"]))
    for name, col in table.columns.items():
        have = live_cols.get(name)
        if have is None or col.primary_key:
            continue
        c = q(name)
        if not types_match(col.type, have.type):
            out.changes.append(Change(
                _ALTER, table.name,
                f"change type of {table.name}.{name} from {have.type} to {col.type}",
                [f"ALTER TABLE {t} ALTER COLUMN {c} TYPE {col.type} USING {c}::{col.type}"],
                [f"ALTER TABLE {t} ALTER COLUMN {c} TYPE {have.type} USING {c}::{have.type}"]))
        if col.nullable != have.nullable:
            if col.nullable:
                out.changes.append(Change(
                    _ALTER, table.name, f"allow NULL in {table.name}.{name}",
                    [f"ALTER TABLE {t} ALTER COLUMN {c} DROP NOT NULL"],
                    [f"ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL"]))
            else:
                out.changes.append(Change(
                    _ALTER, table.name, f"make {table.name}.{name} NOT NULL",
                    [f"ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL"],
                    [f"ALTER TABLE {t} ALTER COLUMN {c} DROP NOT NULL"],
                    [f"fails while {table.name}.{name} holds NULLs: fill them first"]))
        if col.default_free:
            continue
        if col.default is None and have.default is not None:
            out.changes.append(Change(
                _ALTER, table.name, f"drop default of {table.name}.{name}",
                [f"ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT"],
                [f"ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {have.default}"]))
        elif col.default is not None and (
                have.default is None
                or not await _same_default(db, col.default, have.default, col.type)):
            back = (f"SET DEFAULT {have.default}" if have.default is not None
                    else "DROP DEFAULT")
            out.changes.append(Change(
                _ALTER, table.name, f"set default of {table.name}.{name} to {col.default}",
                [f"ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {col.default}"],
                [f"ALTER TABLE {t} ALTER COLUMN {c} {back}"]))
    # unique constraints, indexes, foreign keys (on the renamed names)
    live_unique = {live_tuple(cols): name for cols, name in live.unique.items()}
    unique_index = {live_tuple(cols) for cols in live.unique_indexes}
    for cols, name in live_unique.items():
        if cols not in table.unique:
            orig = next(c for c in live.unique if live_tuple(c) == cols)
            down = (f"CREATE UNIQUE INDEX {q(name)} ON {t} ({_cols(orig)})"
                    if cols in unique_index else
                    f"ALTER TABLE {t} ADD CONSTRAINT {q(name)} UNIQUE ({_cols(orig)})")
            up = (f"DROP INDEX {q(name)}" if cols in unique_index else
                  f"ALTER TABLE {t} DROP CONSTRAINT {q(name)}")
            out.changes.append(Change(
                _DROP_INDEX, table.name,
                f"drop unique constraint {table.name} ({', '.join(cols)})", [up], [down]))
    for cols in table.unique:
        if cols not in live_unique:
            _add_unique(out, table.name, cols)
    live_indexes = {live_tuple(cols): name for cols, name in live.indexes.items()}
    for cols, name in live_indexes.items():
        if cols not in table.indexes:
            orig = next(c for c in live.indexes if live_tuple(c) == cols)
            out.changes.append(Change(
                _DROP_INDEX, table.name, f"drop index {name} on {table.name} "
                                         f"({', '.join(cols)})",
                [f"DROP INDEX {q(name)}"],
                [f"CREATE INDEX {q(name)} ON {t} ({_cols(orig)})"]))
    for cols in table.indexes:
        if cols not in live_indexes:
            _add_index(out, table.name, cols)
    live_fks = {renamed.get(fk_col, fk_col): fk for fk_col, fk in live.foreign_keys.items()}
    for fk_col, fk in live_fks.items():
        want = table.foreign_keys.get(fk_col)
        if want is None or (want.target, want.target_column) != (fk.target, fk.target_column):
            orig_col = next((o for o, n in renamed.items() if n == fk_col), fk_col)
            out.changes.append(Change(
                _DROP_FK, table.name, f"drop foreign key {fk.name} ({table.name}.{fk_col} → "
                                      f"{fk.target}.{fk.target_column})",
                [f"ALTER TABLE {t} DROP CONSTRAINT {q(fk.name)}"],
                [f"ALTER TABLE {t} ADD CONSTRAINT {q(fk.name)} FOREIGN KEY ({q(orig_col)}) "
                 f"REFERENCES {q(fk.target)} ({q(fk.target_column)})"]))
    for fk_col, want in table.foreign_keys.items():
        have_fk = live_fks.get(fk_col)
        if have_fk is None or ((want.target, want.target_column)
                               != (have_fk.target, have_fk.target_column)):
            _add_fk(out, table.name, want)


def render(changes: Sequence[Change], label: str) -> tuple[str, str]:
    """The text of the ``.up.sql`` and ``.down.sql`` files for ``changes``."""
    up = [f"-- {label}: written by `rum migrate make` from the models; review it, then "
          f"`rum migrate run`.\n"]
    for change in changes:
        up.append(f"-- {change.description}")
        up.extend(f"-- note: {n}" for n in change.notes)
        up.extend(s + ";" for s in change.up)
        up.append("")
    down = [f"-- {label}: undoes the .up.sql file (`rum migrate revert`).\n"]
    for change in reversed(changes):
        down.append(f"-- undo: {change.description}")
        down.extend(s + ";" for s in reversed(change.down))
        down.append("")
    return "\n".join(up), "\n".join(down)


def make_migration(directory: Path, name: str, changes: Sequence[Change]) -> list[Path]:
    """Write ``<now>_<name>.up.sql``/``.down.sql`` in ``directory`` holding ``changes``."""
    from rum_orm.migrations import new_migration

    up, down = new_migration(directory, name)
    label = up.name.removesuffix(".up.sql")
    up_text, down_text = render(changes, label)
    up.write_text(up_text, encoding="utf-8")
    down.write_text(down_text, encoding="utf-8")
    return [up, down]


__all__ = ["AskRename", "Change", "Diff", "base_kind", "diff", "diff_schemas",
           "make_migration", "parse_renames", "render"]

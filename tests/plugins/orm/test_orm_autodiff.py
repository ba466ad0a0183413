"""``rum migrate make``'s engine: models vs the live schema, for each kind of change.

Each test generates the migration, applies it, checks the models then match (nothing left to
change), reverts it (the same differences again) and applies it once more.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest

from rum_orm import Database, Model, belongs_to
from rum_orm.autodiff import diff, make_migration, parse_renames
from rum_orm.errors import ModelDefinitionError
from rum_orm.migrations import Migrator
from rum_orm.schema import read_schema


class Counter:
    n = 0


async def migrate(db: Database, tmp_path: Path, models: Sequence[type[Model]],
                  **kwargs: object) -> list[str]:
    """Make, run, verify, revert, verify and re-run the migration for ``models``."""
    changes = await diff(db, models, **kwargs)  # type: ignore[arg-type]
    described = changes.describe()
    Counter.n += 1
    directory = tmp_path / "migrations"
    make_migration(directory, f"step_{Counter.n}", changes.changes)
    migrator = Migrator(db, [directory])
    await migrator.run()
    assert not (await diff(db, models)).describe(), "differences left after applying"
    await migrator.revert()
    again = await diff(db, models, **kwargs)  # type: ignore[arg-type]
    assert again.describe() == described, "revert did not restore the schema"
    await migrator.run()
    return described


async def columns(db: Database, table: str) -> dict[str, tuple[str, bool, str | None]]:
    schema = await read_schema(db)
    return {n: (c.type, c.nullable, c.default) for n, c in schema[table].columns.items()}


async def test_new_tables_with_every_type_unique_index_and_foreign_key(
        db: Database, tmp_path: Path) -> None:
    class Writer(Model):
        __table__ = "writers"
        __unique__ = ["email"]
        email: str
        admin: bool = False
        score: float = 0.5
        balance: decimal.Decimal = decimal.Decimal("1.5")
        born: dt.date | None
        token: uuid.UUID | None
        avatar: bytes | None
        prefs: dict = {}
        tags: list | None
        joined_at: dt.datetime
        visits: int = 0

    class Essay(Model):
        __table__ = "essays"
        __indexes__ = [("writer_id", "title")]
        writer_id: int
        title: str = ""
        writer = belongs_to(Writer)

    done = await migrate(db, tmp_path, [Writer, Essay])
    assert done == ["create table writers", "create table essays",
                    "add unique constraint writers (email)",
                    "add index essays (writer_id, title)",
                    "add foreign key essays.writer_id → writers.id"]
    cols = await columns(db, "writers")
    assert cols["email"] == ("text", False, None)
    assert cols["admin"] == ("boolean", False, "false")
    assert cols["score"][0] == "double precision"
    assert cols["balance"][0] == "numeric"
    assert cols["born"] == ("date", True, None)
    assert cols["token"][0] == "uuid" and cols["avatar"][0] == "bytea"
    assert cols["prefs"][0] == "jsonb" and cols["tags"][:2] == ("jsonb", True)
    assert cols["joined_at"] == ("timestamp with time zone", False, None)
    assert cols["id"][0] == "bigint" and "nextval" in (cols["id"][2] or "")
    # the ORM reads and writes through the generated tables
    writer = await Writer.create(email="a@b.c", joined_at=dt.datetime.now(dt.UTC),
                                 prefs={"x": 1})
    assert writer.admin is False and writer.balance == decimal.Decimal("1.5")
    await Essay.create(writer_id=writer.id, title="t")
    with pytest.raises(Exception, match="foreign key"):
        await Essay.create(writer_id=writer.id + 99, title="u")
    with pytest.raises(Exception, match="unique"):
        await Writer.create(email="a@b.c", joined_at=dt.datetime.now(dt.UTC))


async def test_added_dropped_retyped_nullability_and_defaults(db: Database,
                                                              tmp_path: Path) -> None:
    await db.execute("CREATE TABLE gadgets (id bigserial PRIMARY KEY, name text NOT NULL, "
                     "code integer NOT NULL, colour text DEFAULT 'red', weight text, "
                     "legacy text, made_at timestamptz NOT NULL DEFAULT now())")
    await db.execute("INSERT INTO gadgets (name, code, weight) VALUES ('g', 7, '1.5')")

    class Gadget(Model):
        __table__ = "gadgets"
        name: str | None                 # nullable now
        code: int                        # integer serves int: no retype
        colour: str = "blue"             # new default, and NOT NULL
        weight: float | None             # text → double precision
        active: bool = True              # new column
        made_at: dt.datetime             # no Python default: now() stays

    done = await migrate(db, tmp_path, [Gadget])
    assert sorted(done) == sorted([
        "add column gadgets.active (boolean NOT NULL DEFAULT true)",
        "allow NULL in gadgets.name",
        "make gadgets.colour NOT NULL",
        "set default of gadgets.colour to 'blue'",
        "change type of gadgets.weight from text to double precision",
        "drop column gadgets.legacy (text)",
    ])
    row = await db.fetchrow("SELECT * FROM gadgets")
    assert row["weight"] == 1.5 and row["active"] is True and row["code"] == 7
    cols = await columns(db, "gadgets")
    assert cols["made_at"][2] == "now()" and cols["code"][0] == "integer"


async def test_renames_only_when_asked(db: Database, tmp_path: Path) -> None:
    await db.execute("CREATE TABLE notes (id bigserial PRIMARY KEY, name text NOT NULL, "
                     "body text NOT NULL DEFAULT '')")
    await db.execute("CREATE INDEX notes_name_idx ON notes (name)")
    await db.execute("INSERT INTO notes (name) VALUES ('kept')")

    class Note(Model):
        __table__ = "notes"
        __indexes__ = ["title"]
        title: str
        text: str = ""

    guessed = await diff(db, [Note])
    assert "rename column notes.name to title" not in guessed.describe()
    assert "drop column notes.name (text)" in guessed.describe()
    assert any("--rename notes.name:title" in r for r in guessed.remarks)

    asked: list[tuple[str, str, str]] = []

    def ask(table: str, old: str, new: str) -> bool:
        asked.append((table, old, new))
        return (old, new) == ("body", "text")

    done = await migrate(db, tmp_path, [Note], renames=parse_renames(["name:title"]), ask=ask)
    assert "rename column notes.name to title" in done
    assert "rename column notes.body to text" in done
    assert not any("drop column" in d or "index" in d for d in done), done
    assert ("notes", "body", "text") in asked
    assert await db.fetchval("SELECT title FROM notes") == "kept"
    with pytest.raises(ValueError, match="OLD:NEW"):
        parse_renames(["nonsense"])


async def test_index_unique_and_foreign_key_changes(db: Database, tmp_path: Path) -> None:
    await db.execute("CREATE TABLE shelves (id bigserial PRIMARY KEY, label text NOT NULL "
                     "UNIQUE)")
    await db.execute("CREATE TABLE books (id bigserial PRIMARY KEY, shelf_id bigint NOT NULL "
                     "REFERENCES shelves (id), isbn text NOT NULL, title text NOT NULL)")
    await db.execute("CREATE INDEX books_title_idx ON books (title)")
    await db.execute("CREATE INDEX books_lower_title ON books (lower(title))")  # ignored

    class Shelf(Model):
        __table__ = "shelves"
        label: str

    class Book(Model):
        __table__ = "books"
        __unique__ = ["isbn"]
        shelf_id: int
        isbn: str
        title: str
        owner_id: int | None
        owner = belongs_to(Shelf, foreign_key="owner_id")

    done = await migrate(db, tmp_path, [Shelf, Book])
    assert sorted(done) == sorted([
        "drop unique constraint shelves (label)",
        "drop foreign key books_shelf_id_fkey (books.shelf_id → shelves.id)",
        "drop index books_title_idx on books (title)",
        "add column books.owner_id (bigint)",
        "add unique constraint books (isbn)",
        "add index books (owner_id)",
        "add foreign key books.owner_id → shelves.id",
    ])


async def test_model_definition_errors_name_the_model(db: Database) -> None:
    class Odd(Model):
        __table__ = "odds"
        __indexes__ = ["nope"]
        name: str

    with pytest.raises(ModelDefinitionError, match="__indexes__: no field 'nope'"):
        await diff(db, [Odd])

    class Strange(Model):
        __table__ = "stranges"
        thing: complex

    with pytest.raises(ModelDefinitionError, match="no PostgreSQL type for 'complex'"):
        await diff(db, [Strange])

"""``rum migrate make|check`` from the command line, pending migrations at start-up, and
migration files marked ``-- rum: no-transaction``."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rum import App
from rum_orm import Database
from rum_orm.migrations import MigrationError, Migrator, split_statements


def write(directory: Path, label: str, up: str, down: str | None = None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{label}.up.sql").write_text(up)
    if down is not None:
        (directory / f"{label}.down.sql").write_text(down)


# -- no-transaction files -------------------------------------------------------------------


def test_split_statements_respects_quotes_comments_and_dollar_bodies() -> None:
    sql = ("-- a; comment\nCREATE TABLE t (a text DEFAULT ';');\n"
           "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n"
           "/* x; */ SELECT \"a;b\" FROM t")
    parts = [s for _, s in split_statements(sql)]
    assert parts[0].endswith("DEFAULT ';')")
    assert parts[1].startswith("CREATE FUNCTION") and parts[1].endswith("LANGUAGE sql")
    assert parts[2].startswith("/* x; */ SELECT")


async def test_no_transaction_file_runs_create_index_concurrently(db: Database,
                                                                  tmp_path: Path) -> None:
    path = tmp_path / "migrations"
    write(path, "20260101000000_create_items",
          "CREATE TABLE items (id bigserial PRIMARY KEY, name text);", "DROP TABLE items;")
    write(path, "20260102000000_index_items",
          "-- rum: no-transaction\n"
          "CREATE INDEX CONCURRENTLY items_name_idx ON items (name);\n"
          "CREATE INDEX CONCURRENTLY items_id_name_idx ON items (id, name);\n",
          "-- rum: no-transaction\nDROP INDEX CONCURRENTLY items_name_idx;\n"
          "DROP INDEX CONCURRENTLY items_id_name_idx;\n")
    migrator = Migrator(db, [path])
    assert [m.name for m in await migrator.run()] == ["create_items", "index_items"]
    indexes = {r["indexname"] for r in await db.fetch(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'items'")}
    assert {"items_name_idx", "items_id_name_idx"} <= indexes
    assert [m.name for m in await migrator.revert()] == ["index_items"]
    assert await db.fetchval("SELECT count(*) FROM pg_indexes WHERE tablename = 'items'") == 1

    # without the mark, PostgreSQL refuses it (inside the migration's transaction)
    write(path, "20260103000000_unmarked",
          "CREATE INDEX CONCURRENTLY items_other_idx ON items (name);")
    (path / "20260102000000_index_items.up.sql").unlink()
    (path / "20260102000000_index_items.down.sql").unlink()
    with pytest.raises(MigrationError, match="cannot run inside a transaction block"):
        await migrator.run()


async def test_no_transaction_failure_names_the_line_and_is_not_recorded(
        db: Database, tmp_path: Path) -> None:
    path = tmp_path / "migrations"
    write(path, "20260101000000_half",
          "-- rum: no-transaction\nCREATE TABLE first_half (id int);\n\nSELEC 1;\n")
    migrator = Migrator(db, [path])
    with pytest.raises(MigrationError, match=r"20260101000000_half.up.sql:4: .*without a "
                                             r"transaction.*not recorded as applied"):
        await migrator.run()
    assert await db.fetchval("SELECT to_regclass('first_half') IS NOT NULL")
    assert [s.state for s in await migrator.status()] == ["pending"]


# -- start-up -------------------------------------------------------------------------------


def app_with_pending(tmp_path: Path, url: str, env: str, **database: object) -> App:
    write(tmp_path / "migrations", "20260101000000_create_things",
          "CREATE TABLE things (id int);", "DROP TABLE things;")
    return App(plugins=["orm"], root=tmp_path, env=env,
               config={"database": {"url": url, "pool_max": 2, **database}})


async def test_startup_warns_about_pending_migrations_in_development(
        tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    app = app_with_pending(tmp_path, database_url, "development")
    with caplog.at_level(logging.WARNING, logger="rum.orm"):
        async with app.running():
            pass
    assert "1 pending migration(s): 20260101000000_create_things; apply them with `rum " \
           "migrate run`" in caplog.text
    async with app.running():
        await Migrator.for_app(app).run()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rum.orm"):
        async with app.running():
            pass
    assert "pending" not in caplog.text


def _messages(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return " | ".join(_messages(e) for e in exc.exceptions)
    return str(exc)


async def test_startup_refuses_pending_migrations_in_production(tmp_path: Path,
                                                               database_url: str) -> None:
    app = app_with_pending(tmp_path, database_url, "production")
    with pytest.raises(BaseException) as info:
        async with app.running():
            pass
    text = _messages(info.value)
    assert "refusing to start: 1 pending migration(s)" in text, text
    assert "`rum migrate run`" in text and "allow_pending_migrations = true" in text

    allowed = app_with_pending(tmp_path, database_url, "production",
                               allow_pending_migrations=True)
    async with allowed.running():
        assert await allowed.storage.fetchval("SELECT 1") == 1


# -- the CLI, end to end ----------------------------------------------------------------------


def rum(root: Path, *args: str, url: str, stdin: str | None = None) -> tuple[int, str]:
    env = {**os.environ, "DATABASE_URL": url}
    proc = subprocess.run([sys.executable, "-m", "rum.cli", "--root", str(root), *args],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120,
                          input=stdin)
    return proc.returncode, proc.stdout + proc.stderr


MODELS_V1 = """
    import datetime as dt

    from rum_orm import Model, belongs_to


    class Author(Model):
        __unique__ = ["email"]
        email: str
        name: str
        created_at: dt.datetime


    class Post(Model):
        author_id: int
        title: str
        published: bool = False
        author = belongs_to(Author)
"""

MODELS_V2 = """
    import datetime as dt

    from rum_orm import Model, belongs_to


    class Author(Model):
        __unique__ = ["email"]
        email: str
        display_name: str
        created_at: dt.datetime


    class Post(Model):
        __indexes__ = ["published"]
        author_id: int
        title: str
        published: bool = True
        views: int = 0
        author = belongs_to(Author)
"""


@pytest.mark.slow
def test_cli_make_run_check(tmp_path: Path, database_url: str) -> None:
    (tmp_path / "Rum.toml").write_text('[general]\napp = "app:app"\n'
                                       '[plugins]\nenabled = ["http", "orm"]\n')
    (tmp_path / "app.py").write_text("from pathlib import Path\n\nfrom rum import App\n\n"
                                     "import models  # noqa: F401\n\n"
                                     "app = App(routes=[], root=Path(__file__).parent)\n")
    (tmp_path / "models.py").write_text(textwrap.dedent(MODELS_V1))
    code, out = rum(tmp_path, "migrate", "check", url=database_url)
    assert code == 1 and "differs  create table authors" in out, out
    code, out = rum(tmp_path, "migrate", "make", "create blog", url=database_url)
    assert code == 0 and "created" in out, out
    code, out = rum(tmp_path, "migrate", "check", url=database_url)
    assert code == 1 and "pending  " in out and "`rum migrate run`" in out, out
    assert rum(tmp_path, "migrate", "run", url=database_url)[0] == 0
    code, out = rum(tmp_path, "migrate", "check", url=database_url)
    assert code == 0 and out.startswith("ok: no pending migrations"), out
    code, out = rum(tmp_path, "migrate", "make", "nothing", url=database_url)
    assert code == 0 and "no changes" in out, out

    (tmp_path / "models.py").write_text(textwrap.dedent(MODELS_V2))
    code, out = rum(tmp_path, "migrate", "check", url=database_url)
    assert code == 1 and "differs  drop column authors.name" in out, out
    code, out = rum(tmp_path, "migrate", "make", "v2", "--rename", "authors.name:display_name",
                    url=database_url)
    assert code == 0 and "rename column authors.name to display_name" in out, out
    up = next((tmp_path / "migrations").glob("*_v2.up.sql")).read_text()
    assert 'RENAME COLUMN "name" TO "display_name"' in up and "DROP COLUMN" not in up
    assert 'ADD COLUMN "views" bigint NOT NULL DEFAULT 0' in up
    assert 'SET DEFAULT true' in up and 'CREATE INDEX "posts_published_idx"' in up
    assert rum(tmp_path, "migrate", "run", url=database_url)[0] == 0
    code, out = rum(tmp_path, "migrate", "check", url=database_url)
    assert code == 0, out
    code, out = rum(tmp_path, "migrate", "make", "x", "--rename", "bad", url=database_url)
    assert code == 2 and "expected OLD:NEW" in out, out


@pytest.mark.slow
def test_cli_make_asks_about_renames_on_a_terminal(tmp_path: Path, database_url: str) -> None:
    import pexpect

    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["orm"]\n')
    (tmp_path / "models.py").write_text("from rum_orm import Model\n\n\nclass Tag(Model):\n"
                                        "    label: str\n    colour: str\n")
    write(tmp_path / "migrations", "20260101000000_create_tags",
          "CREATE TABLE tags (id bigserial PRIMARY KEY, name text NOT NULL, "
          "hue text NOT NULL);", "DROP TABLE tags;")
    assert rum(tmp_path, "migrate", "run", url=database_url)[0] == 0
    child = pexpect.spawn(sys.executable, ["-m", "rum.cli", "--root", str(tmp_path), "migrate",
                                           "make", "rename_tag_columns"],
                          cwd=str(tmp_path), env={**os.environ, "DATABASE_URL": database_url},
                          encoding="utf-8", timeout=120)
    child.expect(r"Was tags\.name renamed to tags\.label\? \[y/N\] ")
    child.sendline("y")
    child.expect(r"Was tags\.hue renamed to tags\.colour\? \[y/N\] ")
    child.sendline("n")
    child.expect(pexpect.EOF)
    out = child.before
    child.close()
    assert child.exitstatus == 0, out
    assert "rename column tags.name to label" in out
    assert "drop column tags.hue" in out and "add column tags.colour" in out
    assert rum(tmp_path, "migrate", "run", url=database_url)[0] == 0
    code, out = rum(tmp_path, "migrate", "check", url=database_url)
    assert code == 0, out

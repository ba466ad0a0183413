"""Migrations: files, run/revert/status, failures, the advisory lock, plugins, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import trio

from rum_orm import Database
from rum_orm.migrations import MigrationError, Migrator, discover, new_migration


def write(directory: Path, label: str, up: str, down: str | None = None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{label}.up.sql").write_text(up)
    if down is not None:
        (directory / f"{label}.down.sql").write_text(down)


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    path = tmp_path / "migrations"
    write(path, "20260101000000_create_users",
          "CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);\n"
          "CREATE UNIQUE INDEX users_email ON users (email);",
          "DROP TABLE users;")
    write(path, "20260102000000_add_admin",
          "ALTER TABLE users ADD COLUMN admin boolean NOT NULL DEFAULT false;",
          "ALTER TABLE users DROP COLUMN admin;")
    write(path, "20260103000000_create_orders",
          "CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint REFERENCES users);",
          "DROP TABLE orders;")
    return path


async def tables(db: Database) -> set[str]:
    rows = await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r["tablename"] for r in rows}


async def test_run_status_revert(db: Database, migrations: Path) -> None:
    migrator = Migrator(db, [migrations])
    assert [s.state for s in await migrator.status()] == ["pending"] * 3
    applied = await migrator.run()
    assert [m.name for m in applied] == ["create_users", "add_admin", "create_orders"]
    assert await tables(db) == {"users", "orders", "rum_migrations"}
    assert await db.fetchval("SELECT count(*) FROM rum_migrations") == 3
    assert await migrator.run() == []
    statuses = await migrator.status()
    assert [s.state for s in statuses] == ["applied"] * 3
    assert all(s.applied_at is not None for s in statuses)

    reverted = await migrator.revert()
    assert [m.name for m in reverted] == ["create_orders"]
    assert "orders" not in await tables(db)
    reverted = await migrator.revert(to="20260101000000")
    assert [m.name for m in reverted] == ["add_admin"]
    assert await db.fetchval("SELECT count(*) FROM information_schema.columns WHERE "
                             "table_name = 'users' AND column_name = 'admin'") == 0
    assert [m.name for m in await migrator.run(to="20260102000000")] == ["add_admin"]
    assert [s.state for s in await migrator.status()] == ["applied", "applied", "pending"]
    assert len(await migrator.revert(to="0")) == 2
    assert await tables(db) == {"rum_migrations"}


async def test_failed_migration_rolls_back_and_names_file_and_line(db: Database,
                                                                   migrations: Path) -> None:
    write(migrations, "20260104000000_broken",
          "CREATE TABLE half (id int);\n\nALTER TABLE nowhere ADD COLUMN x int;\n")
    migrator = Migrator(db, [migrations])
    with pytest.raises(MigrationError) as info:
        await migrator.run()
    message = str(info.value)
    assert "20260104000000_broken.up.sql: UndefinedTableError" in message
    assert 'relation "nowhere" does not exist' in message and "rolled back" in message
    assert "half" not in await tables(db)  # the failed migration left nothing behind
    assert [s.state for s in await migrator.status()] == ["applied"] * 3 + ["pending"]
    # syntax errors carry a position: the message gives the line
    write(migrations, "20260104000000_broken", "CREATE TABLE half (id int);\n\nCREAT TABLE x;")
    with pytest.raises(MigrationError, match=r"20260104000000_broken\.up\.sql:3: "
                                             r"PostgresSyntaxError"):
        await migrator.run()


async def test_file_problems_are_reported(db: Database, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    write(bad, "create_users", "SELECT 1")
    with pytest.raises(MigrationError, match=r"create_users\.up\.sql: not a migration file "):
        discover([bad])
    dup = tmp_path / "dup"
    write(dup, "20260101000000_a", "SELECT 1")
    write(dup, "20260101000000_b", "SELECT 1")
    with pytest.raises(MigrationError, match="two migrations have version 20260101000000"):
        discover([dup])
    no_down = tmp_path / "nodown"
    write(no_down, "20260101000000_a", "CREATE TABLE a (id int)")
    migrator = Migrator(db, [no_down])
    await migrator.run()
    with pytest.raises(MigrationError, match=r"cannot revert .*20260101000000_a\.down\.sql "
                                             r"does not exist"):
        await migrator.revert()
    with pytest.raises(MigrationError, match="no migration has version '999'"):
        await migrator.run(to="999")


async def test_status_reports_missing_files(db: Database, migrations: Path) -> None:
    await Migrator(db, [migrations]).run()
    for f in migrations.glob("20260103000000_*"):
        f.unlink()
    states = [(s.name, s.state) for s in await Migrator(db, [migrations]).status()]
    assert states[-1] == ("create_orders", "missing")


def test_new_creates_timestamped_files(tmp_path: Path) -> None:
    import datetime as dt

    when = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    first = new_migration(tmp_path / "m", "Create users!", now=when)
    second = new_migration(tmp_path / "m", "add admin", now=when)
    assert [p.name for p in first] == ["20260304050607_create_users.up.sql",
                                       "20260304050607_create_users.down.sql"]
    assert second[0].name == "20260304050608_add_admin.up.sql"
    assert [m.name for m in discover([tmp_path / "m"])] == ["create_users", "add_admin"]
    with pytest.raises(MigrationError, match="no letters or digits"):
        new_migration(tmp_path / "m", "!!!")


async def test_two_concurrent_migrators_apply_each_migration_once(
        database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "slow"
    write(path, "20260101000000_one", "CREATE TABLE one (id int); SELECT pg_sleep(0.3);")
    write(path, "20260102000000_two", "CREATE TABLE two (id int); SELECT pg_sleep(0.3);")
    results: list[list[str]] = []

    async def migrate() -> None:  # a statement timeout shorter than the wait is ignored
        async with Database.open(database_url, pool_min=1, pool_max=1,
                                 statement_timeout=100) as own:
            done = await Migrator(own, [path]).run()
            results.append([m.name for m in done])

    async with trio.open_nursery() as nursery:
        nursery.start_soon(migrate)
        nursery.start_soon(migrate)
    assert sorted(results) == [[], ["one", "two"]]


async def test_plugins_contribute_migrations(rum_app_factory, database_url: str,
                                             tmp_path: Path) -> None:
    # 1. a plugin package with a migrations/ directory beside its module
    package = tmp_path / "fake_plugin"
    write(package / "migrations", "20250101000000_plugin_table",
          "CREATE TABLE plugin_table (id int);", "DROP TABLE plugin_table;")
    module = types.ModuleType("fake_plugin.plugin")
    module.__file__ = str(package / "plugin.py")
    # 2. a plugin appending a directory in rum_configure
    extra = tmp_path / "extra"
    write(extra, "20250201000000_extra_table", "CREATE TABLE extra_table (id int);")

    class Appender:
        from rum import hookimpl

        @hookimpl
        def rum_configure(self, app) -> None:
            app.extensions["orm"].migration_paths.append(extra)

    app = rum_app_factory(plugins=["orm", module, Appender()],
                          toml=f'[database]\nurl = "{database_url}"\npool_max = 2\n')
    write(tmp_path / "migrations", "20260101000000_app_table", "CREATE TABLE app_table (id int);")
    async with app.running():
        done = await Migrator.for_app(app).run()
        assert [m.name for m in done] == ["plugin_table", "extra_table", "app_table"]
        assert {"plugin_table", "extra_table", "app_table"} <= await tables(app.storage)


# -- the CLI ----------------------------------------------------------------------------------


def rum(root: Path, *args: str, url: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.Popen([sys.executable, "-m", "rum.cli", "--root", str(root), *args],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out + err


def test_cli_concurrent_runs_apply_each_migration_once(tmp_path: Path, database_url: str) -> None:
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["orm"]\n')
    write(tmp_path / "migrations", "20260101000000_create_things",
          "CREATE TABLE things (id int);\nSELECT pg_sleep(0.5);\n")
    first, second = (rum(tmp_path, "migrate", "run", url=database_url) for _ in range(2))
    results = sorted([finish(first), finish(second)])
    assert [c for c, _ in results] == [0, 0], results
    outputs = " | ".join(o for _, o in results)
    assert outputs.count("applied  ") == 1 and "nothing to apply" in outputs, outputs


def test_cli_new_status_revert_and_failure(tmp_path: Path, database_url: str,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from rum.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["orm"]\n')
    root = ["--root", str(tmp_path)]
    assert main([*root, "migrate", "new", "create things"]) == 0
    assert "created" in capsys.readouterr().out
    up = next((tmp_path / "migrations").glob("*.up.sql"))
    up.write_text("CREATE TABLE things (id int);\n")
    up.with_name(up.name.replace(".up.", ".down.")).write_text("DROP TABLE things;")
    assert main([*root, "migrate", "status"]) == 0
    assert capsys.readouterr().out.startswith("pending  ")
    assert main([*root, "migrate", "run"]) == 0
    assert "applied  " in capsys.readouterr().out
    assert main([*root, "migrate", "status"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("applied  ") and "create_things" in out
    assert main([*root, "migrate", "revert"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("reverted ") and "_create_things" in out

    (tmp_path / "migrations" / "20990101000000_bad.up.sql").write_text("SELEC 1;")
    assert main([*root, "migrate", "run"]) == 1
    err = capsys.readouterr().err
    assert "20990101000000_bad.up.sql:1" in err and "syntax error" in err, err


async def test_comment_only_migrations_run_and_revert(db: Database, tmp_path: Path) -> None:
    new_migration(tmp_path / "m", "placeholder")  # files holding only a comment
    migrator = Migrator(db, [tmp_path / "m"])
    assert [m.name for m in await migrator.run()] == ["placeholder"]
    assert [m.name for m in await migrator.revert()] == ["placeholder"]

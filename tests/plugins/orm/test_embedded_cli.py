"""``rum db status|create|drop`` and ``rum migrate`` without a configured URL: the `rum`
commands pick the server at ``[database] default_url`` when it answers (here: the test
server), create the database when missing, and production refuses the embedded server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from rum_orm.testing import drop_database, server_error, unique_database_name
from rum_orm.urls import with_database


def rum(root: Path, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith("RUM_") and k != "DATABASE_URL"}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "rum.cli", "--root", str(root), *args],
                          capture_output=True, text=True, env=environ, timeout=120)


@pytest.fixture
def project(tmp_path: Path, postgres_url: str) -> tuple[Path, str]:
    """A project whose default address is the test server; the URL its database gets."""
    name = unique_database_name("rum_cli")
    server = urlsplit(postgres_url)
    (tmp_path / "Rum.toml").write_text(
        f'[plugins]\nenabled = ["orm"]\n\n[database]\nname = "{name}"\n'
        f'default_url = "{server.scheme}://{server.netloc}"\n')
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "20260101000000_create_notes.up.sql").write_text(
        "CREATE TABLE notes (id serial PRIMARY KEY);")
    (tmp_path / "migrations" / "20260101000000_create_notes.down.sql").write_text(
        "DROP TABLE notes;")
    yield tmp_path, with_database(postgres_url, name)
    drop_database(postgres_url, name)


def test_db_create_status_drop_on_the_default_address(project: tuple[Path, str]) -> None:
    root, url = project
    status = rum(root, "db", "status")
    assert status.returncode == 0, status.stderr
    assert "a server answers at the default address; database not created yet" in status.stdout
    assert "embedded PostgreSQL: not initialised" in status.stdout

    created = rum(root, "db", "create")
    assert created.returncode == 0 and created.stdout.startswith("created: "), created
    assert server_error(url) is None
    assert rum(root, "db", "create").stdout.startswith("already exists: ")

    dropped = rum(root, "db", "drop")
    assert dropped.returncode == 0 and dropped.stdout.startswith("dropped: "), dropped
    assert server_error(url) is not None
    assert not (root / ".rum").exists()  # no embedded server was needed


def test_db_console_runs_psql_on_the_app_database(project: tuple[Path, str]) -> None:
    root, url = project
    assert rum(root, "db", "create").returncode == 0
    out = rum(root, "db", "console", "--", "-At", "-c", "SELECT current_database()")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == urlsplit(url).path.lstrip("/")


def test_migrate_creates_the_database_it_needs(project: tuple[Path, str]) -> None:
    root, url = project
    out = rum(root, "migrate", "run")
    assert out.returncode == 0, out.stderr
    assert "applied  20260101000000_create_notes" in out.stdout
    assert "database: " in out.stderr and "(the default address" in out.stderr
    assert "database created" in out.stderr
    assert server_error(url) is None


def test_production_refuses_the_embedded_server(tmp_path: Path) -> None:
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["orm"]\n\n'
                                       '[database]\nembedded = true\n')
    out = rum(tmp_path, "db", "status", env={"RUM_ENV": "production"})
    assert out.returncode == 1
    assert out.stderr.startswith("rum: error: ") and "Set [database] url" in out.stderr
    assert "Traceback" not in out.stderr
    # a production `rum db drop` wants --force even with a configured url
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["orm"]\n\n'
                                       '[database]\nurl = "postgresql://x@127.0.0.1:1/y"\n')
    out = rum(tmp_path, "db", "drop", env={"RUM_ENV": "production"})
    assert out.returncode == 1 and "without --force" in out.stderr

"""``rum new plugin`` and ``rum new app``: generated code installs, is discovered and answers.

The generated plugin is pip-installed (editable, no build isolation) into a throwaway virtual
environment layered on this one (``venv_helpers.overlay_venv``: it works in a virtual
environment and in the system interpreter), so the shared environment, where other test runs
load "every installed plugin", never sees it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from venv_helpers import overlay_venv

from rum.cli import main
from rum.errors import RumError
from rum.plugins import installed_plugins
from rum_scaffold import generate


def test_rum_new_plugin_writes_an_installable_distribution(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    target = tmp_path / "rum-audit-log"
    assert main(["new", "plugin", "audit_log", "--dir", str(target)]) == 0
    out = capsys.readouterr().out
    assert "pip install -e ." in out
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert files == ["README.md", "pyproject.toml", "src/rum_audit_log/__init__.py",
                     "src/rum_audit_log/plugin.py", "tests/test_plugin.py"]
    pyproject = (target / "pyproject.toml").read_text()
    assert 'name = "rum-audit-log"' in pyproject
    assert '[project.entry-points."rum.plugins"]\naudit_log = "rum_audit_log.plugin"' in pyproject
    for py in target.rglob("*.py"):
        compile(py.read_text(), str(py), "exec")


def test_names_and_targets_are_checked(tmp_path: Path) -> None:
    with pytest.raises(RumError, match="must be a lower-case Python identifier"):
        generate("plugin", "Bad-Name", tmp_path / "x")
    with pytest.raises(RumError, match="must be a lower-case Python identifier"):
        generate("app", "class", tmp_path / "x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(RumError, match="is not empty; choose another --dir or pass --force"):
        generate("app", "blog", tmp_path / "full")
    generate("app", "blog", tmp_path / "full", force=True)
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    assert main(["new", "plugin", "Bad-Name", "--dir", str(tmp_path / "y")]) == 1


@pytest.mark.slow
def test_generated_plugin_installs_is_discovered_and_its_tests_pass(tmp_path: Path) -> None:
    plugin_dir = tmp_path / "rum-hello"
    generate("plugin", "hello", plugin_dir)
    python = overlay_venv(tmp_path)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-build-isolation", "--no-index", "-e", str(plugin_dir)],
                   check=True, capture_output=True)

    project = tmp_path / "project"
    project.mkdir()
    (project / "Rum.toml").write_text('[plugins]\nenabled = ["hello"]\n\n'
                                      '[hello]\ngreeting = "Hi from Rum.toml"\n')
    out = subprocess.run([str(python), "-m", "rum.cli", "--root", str(project), "plugins",
                          "--json"], check=True, capture_output=True, text=True)
    infos = {info["name"]: info for info in json.loads(out.stdout)}
    assert infos["hello"]["distribution"] == "rum-hello"
    assert infos["hello"]["module"] == "rum_hello.plugin"
    assert set(infos["hello"]["hooks"]) == {"rum_config_schema", "rum_configure",
                                            "rum_response", "rum_routes"}
    # the generated tests enable the plugin from a Rum.toml and send it requests
    tests = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                           cwd=plugin_dir, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout

    # the shared environment never saw it
    assert "hello" not in installed_plugins()


@pytest.mark.slow
@pytest.mark.postgres
async def test_generated_app_migrates_and_answers_over_a_real_socket(
        tmp_path: Path, unused_port: int, database_url: str) -> None:
    import os

    import httpx
    import trio

    from rum_orm import Database

    project = tmp_path / "blog"
    assert main(["new", "app", "blog", "--dir", str(project)]) == 0
    files = sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())
    assert [f for f in files if not f.startswith("migrations/")] == [
        ".dockerignore", ".gitignore", "Dockerfile", "Procfile", "README.md", "Rum.toml",
        "app.py", "controllers.py", "deploy/app.env.example", "deploy/blog-migrate.service",
        "deploy/blog-web.service", "deploy/blog-worker.service", "deploy/nginx.conf",
        "deploy/pgbouncer.ini", "models.py", "pyproject.toml", "static/app.css",
        "templates/index.html", "templates/layout.html", "tests/test_app.py"]
    assert ".rum/" in (project / ".gitignore").read_text()  # the embedded server's data
    assert "RUM_DATABASE__URL" in (project / "Rum.toml").read_text()
    migrations = [f for f in files if f.startswith("migrations/")]
    assert len(migrations) == 2 and migrations[0].endswith("_create_notes.down.sql")

    env = {**os.environ, "DATABASE_URL": database_url}
    migrated = await trio.run_process([sys.executable, "-m", "rum.cli", "--root", str(project),
                                       "migrate", "run"], env=env, capture_stdout=True,
                                      capture_stderr=True, check=False)
    assert migrated.returncode == 0, migrated.stderr.decode()
    async with Database.open(database_url) as db:
        await db.execute("INSERT INTO notes (title) VALUES ($1)", "first note")

    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "rum.cli", "--root", str(project), "run", "--port",
         str(unused_port)], cwd=str(project), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, env=env)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{unused_port}") as client:
            with trio.fail_after(30):
                while True:
                    try:
                        r = await client.get("/", params={"name": "<Rum>"})
                        break
                    except httpx.TransportError:
                        assert process.poll() is None, "rum run exited"
                        await trio.sleep(0.1)
            assert r.status_code == 200
            assert "<title>Blog</title>" in r.text  # the layout
            assert "<h1>Welcome to Blog</h1>" in r.text  # the page inside it
            assert "Hello, &lt;Rum&gt;!" in r.text  # escaped by default
            assert (await client.get("/about")).json() == {"app": "blog", "framework": "rum"}
            css = await client.get("/static/app.css")
            assert css.status_code == 200 and "font-family" in css.text
            notes = (await client.get("/notes")).json()["notes"]
            assert [(n["id"], n["title"], n["body"]) for n in notes] == [(1, "first note", "")]
    finally:
        process.terminate()
        with trio.fail_after(15):
            await process.wait()

    tests = await trio.run_process([sys.executable, "-m", "pytest", "-q", "-p",
                                    "no:cacheprovider"], cwd=project, capture_stdout=True,
                                   check=False)
    assert tests.returncode == 0, tests.stdout.decode()
    assert b"2 passed" in tests.stdout

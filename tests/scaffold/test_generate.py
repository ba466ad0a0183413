"""``rum generate``: a scaffold in a fresh ``rum new app`` project, migrated and its generated
tests run (subprocess pytest) against the real PostgreSQL; the other generators' files."""

from __future__ import annotations

from pathlib import Path

import pytest
from scaffold_helpers import rum, run

from rum.errors import RumError
from rum_scaffold import generators
from rum_scaffold.fields import parse_fields


@pytest.fixture
def project(tmp_path: Path, database_url: str) -> Path:
    code, out = rum(tmp_path, "new", "app", "blog", url=database_url)
    assert code == 0, out
    return tmp_path / "blog"


@pytest.mark.slow
def test_scaffold_migrates_checks_clean_and_its_generated_tests_pass(
        project: Path, database_url: str) -> None:
    code, out = rum(project, "generate", "scaffold", "Post", "title:str", "body:text",
                    "published:bool", "rating:decimal?", "published_on:date?", "--api",
                    url=database_url)
    assert code == 0, out
    assert "created posts_controller.py" in out and "updated app.py" in out
    for view in ("index", "show", "new", "edit", "_form"):
        assert (project / "templates" / "posts" / f"{view}.html").exists()
    form = (project / "templates" / "posts" / "_form.html").read_text()
    assert "<%= csrf_input %>" in form and 'name="published"' in form
    app_py = (project / "app.py").read_text()
    assert 'PostController.route("/posts/<int:id>", name="post")' in app_py
    assert '*PostApi.crud("/api/posts")' in app_py
    toml = (project / "Rum.toml").read_text()
    assert '"sessions"' in toml and '"rest"' in toml
    models = (project / "models.py").read_text()
    assert "class Post(Model):" in models and "rating: decimal.Decimal | None = None" in models

    code, out = rum(project, "migrate", "run", url=database_url)
    assert code == 0 and "_create_posts" in out, out
    code, out = rum(project, "migrate", "check", url=database_url)
    assert code == 0, out  # the generated migration matches the generated model
    code, out = run(project, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests",
                    url=database_url, timeout=300)
    assert code == 0, out
    assert "7 passed" in out, out  # test_app.py's 2 and test_posts.py's 5 (the API's included)

    # the same name again refuses to overwrite
    code, out = rum(project, "generate", "scaffold", "Post", "title:str", url=database_url)
    assert code == 1 and "models.py already defines Post" in out, out


def test_model_controller_job_and_migration_generators(tmp_path: Path) -> None:
    root = tmp_path
    (root / "Rum.toml").write_text('[plugins]\nenabled = ["http"]\n')
    (root / "app.py").write_text("from rum import App\n\napp = App(\n    routes=[\n    ],\n)\n")

    generators.model(root, "BlogPost", ["title:str", "views:int", "meta:json?"]).write()
    models = (root / "models.py").read_text()
    assert "class BlogPost(Model):" in models and "meta: dict | None = None" in models
    up = next((root / "migrations").glob("*_create_blog_posts.up.sql")).read_text()
    assert "CREATE TABLE blog_posts (" in up and "views bigint NOT NULL" in up
    assert "meta jsonb,\n" not in up and "meta jsonb\n" in up

    plan = generators.controller(root, "Pages", ["home", "about"])
    plan.write()
    source = (root / "pages_controller.py").read_text()
    assert "class PagesHomeController(Controller):" in source
    assert (root / "templates" / "pages" / "about.html").exists()
    app_py = (root / "app.py").read_text()
    assert 'PagesHomeController.route("/pages/home", name="pages_home"),' in app_py
    assert "from pages_controller import PagesHomeController" in app_py
    compile(app_py, "app.py", "exec")

    generators.job(root, "SendDigest").write()
    jobs = (root / "jobs.py").read_text()
    assert "class SendDigest(Job):" in jobs and "async def execute" in jobs
    assert '"jobs"' in (root / "Rum.toml").read_text()

    plan = generators.migration(root, "add_rank_to_blog_posts", ["rank:int?", "order:str"])
    plan.write()
    up = next((root / "migrations").glob("*_add_rank_to_blog_posts.up.sql")).read_text()
    assert "ALTER TABLE blog_posts ADD COLUMN rank bigint;" in up
    assert 'ALTER TABLE blog_posts ADD COLUMN "order" text NOT NULL;' in up
    assert any("rank: int | None" in m for m in plan.messages)
    generators.migration(root, "backfill things", []).write()
    assert list((root / "migrations").glob("*_backfill_things.down.sql"))


def test_bad_input_is_named(tmp_path: Path) -> None:
    with pytest.raises(RumError, match="unknown type 'strng'"):
        parse_fields(["title:strng"])
    with pytest.raises(RumError, match="lower-case identifier other than id"):
        parse_fields(["id:int"])
    with pytest.raises(RumError, match="given twice"):
        parse_fields(["a:int", "a:str"])
    with pytest.raises(RumError, match="not a class name"):
        generators.model(tmp_path, "9lives", [])
    with pytest.raises(RumError, match="create_<table>"):
        generators.migration(tmp_path, "tweak", ["a:int"])
    with pytest.raises(RumError, match="at least one field"):
        generators.scaffold(tmp_path, "Post", [])


def test_building_the_cli_imports_neither_the_generators_nor_the_orm(tmp_path: Path) -> None:
    """Every ``rum`` command builds the parser with the tools' commands; ``rum run`` of an
    app without the ORM must not pay for importing the generators, the ORM and asyncpg."""
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["http"]\n')
    (tmp_path / "app.py").write_text("from rum import App\napp = App(routes=[])\n")
    code = ("import sys\nfrom rum.cli import build_parser, load_app\n"
            "build_parser(load_app(__import__('pathlib').Path('.'), None))\n"
            "print(sorted(m for m in ('asyncpg', 'rum_orm', 'rum_scaffold.generators')"
            " if m in sys.modules))")
    status, out = run(tmp_path, "-c", code, url="postgresql://unused")
    assert status == 0, out
    assert out.strip().splitlines()[-1] == "[]", out

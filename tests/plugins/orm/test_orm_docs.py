"""Every Python example of docs/orm.md runs, in order, against a real database."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from doc_examples import run_example

from rum_orm import Database

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "orm.md"


def blocks(language: str) -> list[tuple[int, str]]:
    text = GUIDE.read_text(encoding="utf-8")
    out = []
    for match in re.finditer(rf"```{language}\n(.*?)```", text, re.S):
        line = text.count("\n", 0, match.start()) + 2
        out.append((line, match.group(1)))
    return out


async def test_orm_guide_examples_run(db: Database) -> None:
    schema = blocks("sql")[0][1]
    assert "CREATE TABLE users" in schema
    await db.execute(schema)
    namespace: dict[str, object] = {"__name__": "orm_guide"}
    examples = blocks("python")
    assert len(examples) > 20
    for line, code in examples:
        await run_example(GUIDE, line, code, namespace)
    # the examples did what they say
    User = namespace["User"]
    assert await User.filter(email="admin@hello.com").exists()  # type: ignore[attr-defined]
    assert await User.all().count() >= 4  # type: ignore[attr-defined]


async def test_migrations_guide_examples_run(database_url: str, tmp_path: Path,
                                             monkeypatch) -> None:
    guide = GUIDE.with_name("migrations.md")
    text = guide.read_text(encoding="utf-8")
    examples = [textwrap.dedent(c) for c in re.findall(r"```python\n(.*?)```", text, re.S)]
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "migrations_guide"}
    for code in examples:
        exec(compile(code, str(guide), "exec"), namespace)
    files = sorted(p.name for p in (tmp_path / "migrations").iterdir())
    assert [f.split("_", 1)[1] for f in files] == ["create_users.down.sql",
                                                   "create_users.up.sql"]
    (tmp_path / "migrations" / files[1]).write_text("CREATE TABLE users (id int);")
    (tmp_path / "migrations" / files[0]).write_text("DROP TABLE users;")
    await namespace["migrate"](database_url)  # type: ignore[operator]
    async with Database.open(database_url, pool_max=1) as db:
        assert await db.fetchval("SELECT count(*) FROM rum_migrations") == 0  # reverted
        assert await db.fetchval("SELECT to_regclass('users') IS NULL")

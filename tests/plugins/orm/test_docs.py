"""Every Python example of docs/orm.md runs, in order, against a real database."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

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
        padded = "\n" * (line - 1) + code  # tracebacks point at the guide's lines
        compiled = compile(padded, str(GUIDE), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(compiled, namespace)
        if inspect.iscoroutine(result):
            await result
    # the examples did what they say
    User = namespace["User"]
    assert await User.filter(email="admin@hello.com").exists()  # type: ignore[attr-defined]
    assert await User.all().count() >= 4  # type: ignore[attr-defined]

"""docs/forms.md runs: its ERB blocks that start with ``<%# templates/NAME %>`` are written to
a project's templates, its Python examples run in order (the server ones over a real socket,
the model form on a real PostgreSQL), and the HTML it shows is what the 422 page holds."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "forms.md"


def blocks(language: str) -> list[tuple[int, str]]:
    text = GUIDE.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1))
            for m in re.finditer(rf"```{language}\n(.*?)```", text, re.S)]


@pytest.mark.postgres
async def test_forms_guide_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        database_url: str) -> None:
    monkeypatch.chdir(tmp_path)
    written = []
    for _, erb in blocks("erb"):
        first = erb.splitlines()[0]
        match = re.fullmatch(r"<%# (templates/\S+) %>", first)
        assert match, f"an ERB example without its file name: {first!r}"
        path = tmp_path / match.group(1)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(erb)
        written.append(match.group(1))
    assert written == ["templates/orders/new.html", "templates/layout.html",
                       "templates/orders/show.html"]

    namespace: dict[str, object] = {"__name__": "forms_guide", "database_url": database_url}
    examples = blocks("python")
    assert len(examples) == 5
    for line, code in examples:
        padded = "\n" * (line - 1) + code  # tracebacks point at the guide's lines
        compiled = compile(padded, str(GUIDE), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                           dont_inherit=True)  # no postponed annotations from this file
        result = eval(compiled, namespace)
        if inspect.iscoroutine(result):
            await result

    [shown] = [code.strip() for _, code in blocks("html")]
    invalid = namespace["invalid"]
    assert shown in invalid.text  # type: ignore[attr-defined]
    assert '<option value="">Choose a size</option>' in invalid.text  # type: ignore[attr-defined]

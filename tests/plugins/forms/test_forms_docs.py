"""Every Python example of docs/uploads.md runs, in order, over a real socket; its [forms]
TOML example names exactly the settings the plugin declares."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from doc_examples import run_example

from rum_forms.settings import SCHEMA

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "uploads.md"


def blocks(language: str) -> list[tuple[int, str]]:
    text = GUIDE.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1))
            for m in re.finditer(rf"```{language}\n(.*?)```", text, re.S)]


async def test_uploads_guide_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "uploads_guide"}
    examples = blocks("python")
    assert len(examples) == 3
    for line, code in examples:
        await run_example(GUIDE, line, code, namespace)
    # what the examples say happened, on disk
    assert (tmp_path / "imports" / "people.csv").read_bytes() == b"name,email\n"
    stored = sorted(p.name for p in (tmp_path / "uploads").glob("*/*"))
    assert stored == ["a.png", "b.png"]


def test_the_settings_table_matches_the_plugin() -> None:
    tables = [tomllib.loads(code) for _, code in blocks("toml")]
    forms = next(t["forms"] for t in tables if "forms" in t)
    assert set(forms) == set(SCHEMA)
    for key, value in forms.items():
        default = SCHEMA[key].default
        if default is not None and key not in ("temp_dir",):
            assert value == default, key

"""The guides' examples run: every Python block of each guide, in order, in one namespace.

The blocks use top-level ``await`` (they show what the app answers through its test client,
with ``assert``), so they are compiled with ``PyCF_ALLOW_TOP_LEVEL_AWAIT`` and awaited. They
run in a temporary directory whose ``Rum.toml`` enables no plugin: what the guides show is the
kernel's.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from doc_blocks import blocks

DOCS = Path(__file__).resolve().parents[2] / "docs"


async def run_python_blocks(guide: Path, at_least: int) -> dict[str, object]:
    """Run the guide's Python blocks in order; return their namespace."""
    namespace: dict[str, object] = {"__name__": guide.stem.replace("-", "_")}
    examples = [b for b in blocks(guide) if b.language == "python"]
    assert len(examples) >= at_least
    for block in examples:
        padded = "\n" * (block.line - 1) + block.code  # tracebacks point at the guide's lines
        compiled = compile(padded, str(guide), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(compiled, namespace)
        if inspect.iscoroutine(result):
            await result
    return namespace


@pytest.fixture
def kernel_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory whose Rum.toml enables no plugin, as the current directory."""
    (tmp_path / "Rum.toml").write_text("[plugins]\nenabled = []\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def test_routing_guide(kernel_only: Path) -> None:
    namespace = await run_python_blocks(DOCS / "routing.md", at_least=6)
    assert {"Hello", "Article", "Timer", "Vault"} <= set(namespace)


async def test_requests_and_responses_guide(kernel_only: Path) -> None:
    namespace = await run_python_blocks(DOCS / "requests-responses.md", at_least=6)
    assert {"Echo", "Submit", "Kinds", "Prefs", "Report"} <= set(namespace)

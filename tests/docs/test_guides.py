"""The guides' examples run.

docs/routing.md and docs/requests-responses.md: every Python block, in order, in one
namespace. The blocks use top-level ``await`` (they show what the app answers through its test
client, with ``assert``), so they are compiled with ``PyCF_ALLOW_TOP_LEVEL_AWAIT`` and awaited,
in a temporary directory whose ``Rum.toml`` enables no plugin: what they show is the kernel's.

docs/testing.md: every block is a file of a small project (``<!-- file: ... -->``); the
project is written out and its test suite run with pytest, on PostgreSQL, with its browser test
in headless Chromium; it must print what the page says.

The links of the tutorial and these guides point to files and headings that exist.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from doc_blocks import apply_file_block, blocks, output_matches
from doc_examples import run_example

DOCS = Path(__file__).resolve().parents[2] / "docs"


async def run_python_blocks(guide: Path, at_least: int) -> dict[str, object]:
    """Run the guide's Python blocks in order; return their namespace."""
    namespace: dict[str, object] = {"__name__": guide.stem.replace("-", "_")}
    examples = [b for b in blocks(guide) if b.language == "python"]
    assert len(examples) >= at_least
    for block in examples:
        await run_example(guide, block.line, block.code, namespace)
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


@pytest.mark.postgres
@pytest.mark.browser
@pytest.mark.slow
def test_testing_guide_project_passes_its_tests(tmp_path: Path, postgres_url: str) -> None:
    guide = DOCS / "testing.md"
    found = blocks(guide)
    commands = [b for b in found if b.kind is None]
    assert all(b.kind == "file" for b in found if b not in commands)
    assert [c.line for b in commands for c in b.commands] == ["pytest -q"]
    for block in found:
        if block.kind == "file":
            apply_file_block(block, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUM_")}
    env.update(DATABASE_URL=postgres_url, PATH=f"{Path(sys.executable).parent}:{env['PATH']}")
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run(["bash", "-c", "pytest -q -p no:cacheprovider"], cwd=tmp_path / "notes",
                          env=env, capture_output=True, text=True, timeout=240)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for expected in commands[0].commands[0].expected:
        assert output_matches(expected, output), output


def heading_anchors(page: Path) -> set[str]:
    """The anchors GitHub makes for a page's headings (outside code blocks)."""
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


@pytest.mark.parametrize("name", ["tutorial.md", "routing.md", "requests-responses.md",
                                  "testing.md"])
def test_links_between_guides_resolve(name: str) -> None:
    page = DOCS / name
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert links
    for link in links:
        if link.startswith(("http://", "https://")):
            continue
        target, _, anchor = link.partition("#")
        path = (page.parent / target) if target else page
        assert path.exists(), f"{name}: {link} points to a missing file"
        if anchor:
            assert anchor in heading_anchors(path), f"{name}: {link}: no such heading"

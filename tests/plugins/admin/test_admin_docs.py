"""Every Python example of docs/admin.md runs, in order, over a real socket and PostgreSQL;
its Rum.toml example is the app's configuration and names exactly the [admin] settings the
plugin declares, with their defaults."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from doc_examples import run_example

import rum_admin.plugin
from rum_admin.registry import REGISTERED

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "admin.md"


#: The record pages' part of the guide: from the top to the end of this section (the
#: dashboards' sections after it have tests of their own).
LAST_SECTION = "## Pages of your own (and the dashboards)"


def blocks(language: str) -> list[tuple[int, str]]:
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index(LAST_SECTION)
    following = text.find("\n## ", start + len(LAST_SECTION))
    end = len(text) if following == -1 else following
    return [(text.count("\n", 0, m.start()) + 2, m.group(1))
            for m in re.finditer(rf"```{language}\n(.*?)```", text[:end], re.S)]


def test_the_settings_example_matches_the_plugin() -> None:
    [(_, code)] = blocks("toml")
    admin = tomllib.loads(code)["admin"]
    schema = rum_admin.plugin.rum_config_schema()["admin"]
    assert set(admin) == set(schema)
    for key, value in admin.items():
        assert value == schema[key].default, key


async def test_admin_guide_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        database_url: str) -> None:
    [(_, toml)] = blocks("toml")
    (tmp_path / "Rum.toml").write_text(
        toml + f'\n[general]\nsecret_key = "{"5e" * 32}"\n\n[database]\nurl = "{database_url}"\n')
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "admin_guide"}
    examples = blocks("python")
    assert len(examples) == 4
    before = dict(REGISTERED.entries)
    try:
        for line, code in examples:
            await run_example(GUIDE, line, code, namespace, dont_inherit=True)
        order = namespace["Order"]
        assert REGISTERED.entries[order].search_fields == ("customer",)
    finally:   # the guide's register() must not leak into other tests' apps
        REGISTERED.entries.clear()
        REGISTERED.entries.update(before)

"""Every Python example of docs/accounts.md runs, in order, in a project whose Rum.toml is the
guide's first TOML example; its settings table names exactly the plugin's settings."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from doc_examples import run_example

from rum_accounts.settings import SCHEMA

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "accounts.md"


def blocks(language: str) -> list[tuple[int, str]]:
    text = GUIDE.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1))
            for m in re.finditer(rf"```{language}\n(.*?)```", text, re.S)]


async def test_accounts_guide_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUM_GENERAL__SECRET_KEY", "ab" * 32)
    (tmp_path / "Rum.toml").write_text(blocks("toml")[0][1])
    namespace: dict[str, object] = {"__name__": "accounts_guide"}
    examples = blocks("python")
    assert len(examples) == 4
    for line, code in examples:
        await run_example(GUIDE, line, code, namespace)
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["this link was made for 'password_reset', not 'confirm_email'",
                       "this link is no longer valid: the password has changed since it was "
                       "sent; ask for a new one"]


def test_the_settings_table_matches_the_plugin() -> None:
    settings = tomllib.loads(blocks("toml")[-1][1])["accounts"]
    assert set(settings) == set(SCHEMA)
    for key, value in settings.items():
        if SCHEMA[key].default is not None:
            assert value == SCHEMA[key].default, key

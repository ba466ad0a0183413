"""``rum new`` (the scaffold tool, entry-point group rum.tools) works outside any project."""

from __future__ import annotations

from pathlib import Path

import pytest

from rum.cli import KERNEL_COMMANDS, main, tool_commands


def test_rum_new_is_a_tool_command_that_needs_no_app() -> None:
    assert "new" not in {c.name for c in KERNEL_COMMANDS}  # the kernel holds no scaffolding
    command = next(c for c in tool_commands(None) if c.name == "new")
    assert command.needs_app is False


def test_rum_new_is_offered_in_a_project_that_enables_no_plugin(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Rum.toml").write_text("[plugins]\nenabled = []\n")
    monkeypatch.chdir(tmp_path)
    assert main(["new", "plugin", "audit"]) == 0
    assert (tmp_path / "rum-audit" / "pyproject.toml").exists()


def test_rum_new_runs_outside_a_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # no Rum.toml, no app.py here
    assert main(["new", "app", "shop"]) == 0
    assert (tmp_path / "shop" / "Rum.toml").exists()
    assert main(["new", "plugin", "hello"]) == 0
    assert (tmp_path / "rum-hello" / "src" / "rum_hello" / "plugin.py").exists()
    assert "created" in capsys.readouterr().out
    assert main(["new", "app", "shop"]) == 1  # not empty any more
    assert "is not empty" in capsys.readouterr().err

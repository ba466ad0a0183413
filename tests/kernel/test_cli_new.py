"""The kernel's ``rum new`` command (rum.scaffold) works outside any project."""

from __future__ import annotations

from pathlib import Path

import pytest

from rum.cli import KERNEL_COMMANDS, main


def test_rum_new_is_a_kernel_command_that_needs_no_app() -> None:
    command = next(c for c in KERNEL_COMMANDS if c.name == "new")
    assert command.needs_app is False


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

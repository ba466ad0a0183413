"""mypy (configured in pyproject.toml) finds no error anywhere it looks.

``python -m mypy`` checks the kernel with --strict's checks and plugins/ and contrib/ with
mypy's defaults.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

CLEAN = ("kernel/", "plugins/", "contrib/")

ERROR = re.compile(r"^(?P<path>[^:\s]+\.py):\d+(?::\d+)?: error: ", re.MULTILINE)


def errors_in(output: str, directories: tuple[str, ...]) -> list[str]:
    """mypy's error lines about files under ``directories``."""
    return [line for line in output.splitlines()
            if (m := ERROR.match(line)) and m["path"].startswith(directories)]


def run_mypy(*args: str, cwd: Path = REPO) -> str:
    done = subprocess.run([sys.executable, "-m", "mypy", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 1), done.stderr  # 2: mypy itself failed
    return done.stdout


@pytest.mark.slow
def test_the_kernel_and_every_plugin_have_no_mypy_errors() -> None:
    output = run_mypy()
    assert errors_in(output, CLEAN) == []
    assert "Success: no issues found" in output


def test_a_type_error_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "contrib" / "rum_broken"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text('def size(name: str) -> int:\n    return name\n')
    output = run_mypy("--no-incremental", "--config-file", "", "contrib/rum_broken",
                      cwd=tmp_path)
    assert errors_in(output, CLEAN) == [
        'contrib/rum_broken/__init__.py:2: error: Incompatible return value type '
        '(got "str", expected "int")  [return-value]']

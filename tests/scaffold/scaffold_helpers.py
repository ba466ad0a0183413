"""Running ``python``/``rum`` in a generated project, for the scaffold tests (imported by bare
name: ``from scaffold_helpers import rum, run``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run(cwd: Path, *args: str, url: str, timeout: float = 180) -> tuple[int, str]:
    """``python *args`` in ``cwd`` with ``DATABASE_URL=url`` (and no inherited ``RUM_ENV``):
    its exit code and its output and errors together."""
    env = {**os.environ, "DATABASE_URL": url, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("RUM_ENV", None)
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


def rum(cwd: Path, *args: str, url: str) -> tuple[int, str]:
    """``rum *args`` in ``cwd`` (see :func:`run`)."""
    return run(cwd, "-m", "rum.cli", *args, url=url)

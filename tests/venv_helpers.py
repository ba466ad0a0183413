"""A throwaway virtual environment layered on the one running the tests.

Tests that pip-install a distribution (a generated plugin, contrib/rum_cors) do it there, so
the shared environment, where other test runs load "every installed plugin", never sees it.

``python -m venv --system-site-packages`` is not enough: it layers on the *base* interpreter,
so inside a virtual environment (the README's ``python -m venv v && pip install -e '.[dev]'``)
the overlay would miss everything installed in it (rum itself, ``wheel``). Instead the overlay
gets a ``.pth`` file that adds the running environment's site-packages directories with
``site.addsitedir`` (which also runs their ``.pth`` files: editable installs), after its own.
"""

from __future__ import annotations

import site
import subprocess
import sys
import sysconfig
from pathlib import Path


def environment_site_dirs() -> list[str]:
    """The site-packages directories of the running environment (venv or not), user site
    included when it is enabled."""
    dirs = [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    if site.ENABLE_USER_SITE and Path(site.getusersitepackages()).is_dir():
        dirs.append(site.getusersitepackages())
    return [d for d in dict.fromkeys(dirs) if Path(d).is_dir()]


def overlay_venv(root: Path) -> Path:
    """Create ``root/venv`` layered on the running environment; return its ``python``."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    own = subprocess.run([str(python), "-c", "import sysconfig; "
                          "print(sysconfig.get_paths()['purelib'])"],
                         check=True, capture_output=True, text=True).stdout.strip()
    lines = [f"import site; site.addsitedir({d!r})" for d in environment_site_dirs()]
    (Path(own) / "_rum_test_overlay.pth").write_text("\n".join(lines) + "\n")
    return python

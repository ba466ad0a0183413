"""``make_app``: an app with the sessions and accounts plugins in a fresh directory."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rum import App

SECRET = "ab" * 32


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., App]:
    """``make_app(accounts='...', routes=[...], general='...', extra='...', plugins=(...))``:
    each call writes ``Rum.toml`` in its own directory (so one test may build several
    apps)."""
    count = 0

    def make(accounts: str = 'hash_profile = "test"', *, routes: Any = (),
             general: str = f'secret_key = "{SECRET}"', extra: str = "",
             plugins: tuple[str, ...] = ("sessions", "accounts")) -> App:
        nonlocal count
        count += 1
        root = tmp_path / f"app{count}"
        root.mkdir()
        (root / "Rum.toml").write_text(
            f"[plugins]\nenabled = {json.dumps(list(plugins))}\n"
            f"[general]\n{general}\n[accounts]\n{accounts}\n{extra}")
        return App(routes, root=root)

    return make

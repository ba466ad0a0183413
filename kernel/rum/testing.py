"""Pytest fixtures for Rum apps and plugins (registered through the ``pytest11`` entry point).

- ``rum_app_factory``: build an :class:`~rum.App` rooted in a temporary directory from routes,
  plugins and a ``Rum.toml`` text.
- ``unused_port``: a free TCP port on 127.0.0.1.

Database fixtures live with the ORM plugin (``rum_orm.testing``).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rum.app import App


@pytest.fixture
def rum_app_factory(tmp_path: Path) -> Callable[..., App]:
    """``make(routes=[...], plugins=[...], toml="...", **kw)`` builds an app in ``tmp_path``."""

    def make(routes: Any = (), *, toml: str = "", **kwargs: Any) -> App:
        if toml:
            (tmp_path / "Rum.toml").write_text(toml)
        kwargs.setdefault("root", tmp_path)
        return App(routes, **kwargs)

    return make


@pytest.fixture
def unused_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

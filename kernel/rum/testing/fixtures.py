"""Pytest fixtures for Rum apps and plugins (registered through the ``pytest11`` entry point).

- ``rum_app_factory``: build an :class:`~rum.App` rooted in a temporary directory from routes,
  plugins and a ``Rum.toml`` text.
- ``unused_port``: a free TCP port on 127.0.0.1.
- ``rum_app``: the project's app, found like ``rum run`` does in ``rum_project_root`` (the
  pytest root directory by default). Override either fixture in your ``conftest.py``.
- ``rum_client``: an in-process :class:`~rum.testing.TestClient` for ``rum_app``, with the
  app running (start-up and shutdown hooks run around the test). Needs pytest-trio with
  ``trio_mode = true``.

Database fixtures live with the ORM plugin (``rum_orm.testing``).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from rum.app import App
from rum.testing.client import TestClient


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
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def rum_project_root(request: pytest.FixtureRequest) -> Path:
    """The directory holding the project's ``Rum.toml`` (default: pytest's root directory)."""
    return Path(request.config.rootpath)


@pytest.fixture
def rum_app(rum_project_root: Path) -> App:
    """The project's app, loaded the way ``rum run`` loads it."""
    from rum.cli import load_app

    return load_app(rum_project_root)


@pytest.fixture
async def rum_client(rum_app: App) -> AsyncIterator[TestClient]:
    """An in-process client for ``rum_app``, with the app running for the whole test."""
    async with rum_app.test_client() as client:
        yield client

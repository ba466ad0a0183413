"""Fixtures for the HTTP server tests: a small app and raw-socket helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
from http_helpers import ROUTES

from rum import App


@pytest.fixture
def make_app(tmp_path: Path):
    """``make_app(**http_settings)``: the test app with the http plugin, rooted in tmp_path."""

    def make(plugins: tuple = (), **http: object) -> App:
        return App(ROUTES, plugins=["http", *plugins], root=tmp_path,
                   config={"http": http} if http else None)

    return make

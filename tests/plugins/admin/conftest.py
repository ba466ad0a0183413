"""Fixtures of the admin tests (helpers in ``admin_helpers``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from admin_helpers import AdminAccess, LogIn, admin_toml

from rum import App


@pytest.fixture
def make_admin_app(tmp_path: Path, database_url: str) -> Callable[..., App]:
    """``make(extra_toml="")``: an app with the admin over ``admin_models`` and the
    ``AdminAccess`` hook."""

    def make(extra: str = "") -> App:
        (tmp_path / "Rum.toml").write_text(admin_toml(database_url, extra))
        return App([LogIn.route("/test/login/<int:id>")], root=tmp_path,
                   plugins=[AdminAccess()])

    return make


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        if "plugins/admin" in str(item.fspath):
            item.add_marker(pytest.mark.postgres)

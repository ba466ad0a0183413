"""A small project for tests of ``rum`` commands: Rum.toml with a database URL that holds a
password, and an app.py with one controller answering GET/POST and one answering everything.

Import the fixture into a test module: ``from cli_project import project  # noqa: F401``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TOML = '''[plugins]
enabled = ["http", "orm"]

[general]
secret_key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

[database]
url = "postgresql://alice:hunter2@127.0.0.1:5432/feed"
'''

APP = '''
from rum import App, Controller, Response, RumError


class Only(Controller):
    async def get(self, request):
        return Response.text("hi")

    async def post(self, request):
        return Response.text("posted")


class Everything(Controller):
    async def handle(self, request):
        return Response.text(request.method)


app = App(routes=[Only.route("/only"), Everything.route("/any")])
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "Rum.toml").write_text(TOML)
    (tmp_path / "app.py").write_text(APP)
    monkeypatch.delitem(sys.modules, "app", raising=False)  # each test imports its own app.py
    monkeypatch.setattr(sys, "path", list(sys.path))
    return tmp_path

"""``rum --env NAME`` and ``rum --root DIR`` reach the App that ``app.py`` builds itself.

The README's layout is a project with ``app.py`` doing ``app = App(routes=[...])`` without
``root`` or ``env``; the flags must still choose the environment and the project directory,
for ``rum config`` and for a served ``rum run`` alike.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from process_helpers import stop, wait_until_serving

APP = '''
from rum import App, Controller, Response


class Where(Controller):
    async def get(self, request):
        config = request.app.config
        return Response.json({"env": config.env, "root": str(config.root),
                              "greeting": config.get("general", "log_level")})


app = App(routes=[Where.route("/where")])
'''

TOML = '''[plugins]
enabled = ["http"]

[general]
log_level = "info"

[http]
access_log = false

[production.general]
log_level = "warning"
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RUM_ENV", "RUM_ROOT")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "app.py").write_text(APP)
    (root / "Rum.toml").write_text(TOML)
    return root


def rum(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rum.cli", *args], cwd=cwd, env=clean_env(),
                          capture_output=True, text=True, timeout=60)


def test_config_honours_env_flag_with_app_py(project: Path) -> None:
    default = rum("config", cwd=project)
    assert default.returncode == 0, default.stderr
    assert "# environment: development" in default.stdout
    assert 'log_level = "info"' in default.stdout

    production = rum("--env", "production", "config", cwd=project)
    assert production.returncode == 0, production.stderr
    assert "# environment: production" in production.stdout
    assert 'log_level = "warning"' in production.stdout


def test_config_honours_root_flag_from_another_directory(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "Rum.toml").write_text('[general]\nlog_level = "debug"\n')  # must be ignored
    result = rum("--root", str(project), "--env", "production", "config", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert f"file: {project / 'Rum.toml'}" in result.stdout
    assert "# environment: production" in result.stdout
    assert 'log_level = "warning"' in result.stdout


def test_run_serves_the_app_py_app_in_the_chosen_environment_and_root(project: Path,
                                                                       tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rum.cli", "--root", str(project), "--env", "production", "run",
         "--port", str(port)],
        cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    url = f"http://127.0.0.1:{port}/where"
    try:
        wait_until_serving(url, proc)
        answer = httpx.get(url, timeout=5).json()
    finally:
        stop(proc)
    assert answer == {"env": "production", "root": str(project.resolve()),
                      "greeting": "warning"}


def test_flags_do_not_leak_into_the_calling_process(project: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from rum.cli import main

    monkeypatch.setattr(sys, "path", list(sys.path))  # load_app adds the project to sys.path
    monkeypatch.delitem(sys.modules, "app", raising=False)
    before = (os.environ.get("RUM_ENV"), os.environ.get("RUM_ROOT"))
    try:
        assert main(["--root", str(project), "--env", "production", "routes"]) == 0
    finally:
        sys.modules.pop("app", None)  # the project's app.py, imported by name
    assert (os.environ.get("RUM_ENV"), os.environ.get("RUM_ROOT")) == before

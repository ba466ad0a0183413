"""``rum run`` restarts the app when its code changes (development default, ``--reload``),
and not with ``--no-reload``; a real subprocess, a real socket, a real file edit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from process_helpers import stop, wait_until_serving

from rum_http.reload import is_watched

APP = '''
from rum import App, Controller, Response

class Version(Controller):
    async def handle(self, request):
        return Response.text("{version}")

app = App(routes=[Version.route("/")])
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rum_run(project: Path, port: int, *flags: str, env: str = "development") -> subprocess.Popen:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RUM_")}
    environ.update(PYTHONUNBUFFERED="1", RUM_ENV=env)
    return subprocess.Popen([sys.executable, "-m", "rum.cli", "run", "--port", str(port), *flags],
                            cwd=project, env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP.format(version="v1"))
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["http"]\n\n[http]\n'
                                       'access_log = false\nshutdown_timeout = 2.0\n')
    return tmp_path


def answer(url: str) -> str | None:
    try:
        return httpx.get(url, timeout=2).text
    except httpx.TransportError:
        return None  # between two app processes


def poll_for(url: str, expected: str, timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = answer(url)
        if seen == expected:
            return seen
        time.sleep(0.2)
    return seen


def test_editing_a_controller_restarts_the_app_in_development(project: Path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = rum_run(project, port)  # no flag: development reloads by default
    try:
        wait_until_serving(url, proc, timeout=20)
        assert answer(url) == "v1"
        time.sleep(0.5)  # the watcher is up well before the child answers; be generous
        (project / "app.py").write_text(APP.format(version="v2"))
        seen = poll_for(url, "v2", timeout=20)
    finally:
        out = stop(proc)
    assert seen == "v2", out
    assert "reload: app.py changed; restarting the app process" in out
    assert proc.returncode == 0, out


def test_no_reload_keeps_the_running_code(project: Path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = rum_run(project, port, "--no-reload")
    try:
        wait_until_serving(url, proc, timeout=20)
        (project / "app.py").write_text(APP.format(version="v2"))
        time.sleep(2)  # well past the debounce and a restart, had there been one
        assert answer(url) == "v1"
    finally:
        out = stop(proc)
    assert "reload:" not in out and proc.returncode == 0, out


def test_production_does_not_reload_but_reload_flag_does(project: Path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = rum_run(project, port, env="production")
    try:
        wait_until_serving(url, proc, timeout=20)
        out_of_dev = answer(url)
    finally:
        out = stop(proc)
    assert out_of_dev == "v1" and "reload:" not in out, out
    proc = rum_run(project, port, "--reload", env="production")
    try:
        wait_until_serving(url, proc, timeout=20)
        time.sleep(0.5)
        (project / "app.py").write_text(APP.format(version="v2"))
        seen = poll_for(url, "v2", timeout=20)
    finally:
        out = stop(proc)
    assert seen == "v2" and "reload: app.py changed" in out and proc.returncode == 0, out


def test_sigterm_stops_the_supervisor_and_its_app_process(project: Path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = rum_run(project, port, "--reload")
    try:
        wait_until_serving(url, proc, timeout=20)
    finally:
        out = stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, out
    assert "server on port" in out and "stopped" in out, out
    with pytest.raises(httpx.TransportError):  # the child is gone too, not orphaned
        httpx.get(url, timeout=2)


@pytest.mark.parametrize(("path", "watched"), [
    ("app.py", True), ("blog/controllers.py", True), ("Rum.toml", True),
    ("Rum.production.toml", True), ("templates/index.html", False), ("notes.txt", False),
    (".rum/db/x.py", False), ("blog/__pycache__/a.py", False), (".git/hooks/x.py", False),
    ("tests/test_app.py", False), (".venv/lib/site.py", False), (".#app.py", False),
])
def test_only_code_and_config_under_the_root_are_watched(tmp_path: Path, path: str,
                                                          watched: bool):
    assert is_watched(tmp_path, tmp_path / path) is watched
    assert not is_watched(tmp_path / "sub", tmp_path / "app.py")


@pytest.mark.parametrize(("env", "configured", "flag", "expected"), [
    ("development", None, "auto", True), ("production", None, "auto", False),
    ("test", None, "auto", False), ("development", False, "auto", False),
    ("production", True, "auto", True), ("development", True, False, False),
    ("production", None, True, True), ("development", None, None, False),
])
def test_reload_resolves_flag_then_setting_then_environment(tmp_path: Path, env: str,
                                                            configured: bool | None,
                                                            flag: object, expected: bool):
    from rum.config import Config
    from rum_http.settings import SCHEMA, ServerSettings

    if configured is not None:
        (tmp_path / "Rum.toml").write_text(f"[http]\nreload = {str(configured).lower()}\n")
    config = Config.load(tmp_path, env=env)
    config.validate({"http": SCHEMA})
    # "auto" is what `rum run` passes without a flag; None is app.serve() without the option
    settings = ServerSettings.from_config(config, options={"reload": flag})
    assert settings.reload is expected


def test_a_taken_port_ends_the_supervisor_with_an_error(project: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = rum_run(project, taken.getsockname()[1], "--reload")
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            out = stop(proc)
            pytest.fail(f"the supervisor kept running:\n{out}")
    assert proc.returncode == 1, out
    assert "cannot listen on 127.0.0.1" in out
    assert out.count("rum: error:") == 1  # the app process said why; the supervisor adds nothing


STARTUP_MARKER_APP = '''
import os
from pathlib import Path

from rum import App, Controller, Response, hookimpl


class StartupMarker:
    """Writes this process's id to starts.txt on each start-up (the app's pools, workers...)."""

    @hookimpl
    async def rum_startup(self, app):
        with open(Path(app.root) / "starts.txt", "a") as out:
            out.write(f"{{os.getpid()}}\\n")


class Version(Controller):
    async def handle(self, request):
        return Response.text("{version}")


app = App(routes=[Version.route("/")], plugins=[StartupMarker()])
'''


def test_the_reload_supervisor_never_starts_the_app(project: Path):
    (project / "app.py").write_text(STARTUP_MARKER_APP.format(version="v1"))
    starts = project / "starts.txt"
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = rum_run(project, port, "--reload")
    try:
        wait_until_serving(url, proc, timeout=20)
        first = starts.read_text().split()
        time.sleep(0.5)
        (project / "app.py").write_text(STARTUP_MARKER_APP.format(version="v2"))
        seen = poll_for(url, "v2", timeout=20)
        after_reload = starts.read_text().split()
    finally:
        out = stop(proc)
    assert seen == "v2", out
    # one start-up per serving child, none in the supervisor (the `rum run` process itself)
    assert len(first) == 1 and len(after_reload) == 2, (after_reload, out)
    assert str(proc.pid) not in after_reload, out


def test_without_reload_the_serving_process_starts_the_app_once(project: Path):
    (project / "app.py").write_text(STARTUP_MARKER_APP.format(version="v1"))
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = rum_run(project, port, "--no-reload")
    try:
        wait_until_serving(url, proc, timeout=20)
        assert answer(url) == "v1"
    finally:
        out = stop(proc)
    assert (project / "starts.txt").read_text().split() == [str(proc.pid)], out

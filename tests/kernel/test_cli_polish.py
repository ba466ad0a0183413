"""The ``rum`` command's rough edges: broken pipes, the methods a controller answers, commands
of disabled plugins, ``--version``, ``--debug`` and errors raised inside trio's exception
groups."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import rum
from rum.cli import main


def rum_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RUM_ENV", "RUM_ROOT")}
    return subprocess.run([sys.executable, "-m", "rum.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_controller_overriding_handle_but_defining_methods_answers_those() -> None:
    from rum import Controller, Response

    class Wrapped(Controller):
        async def handle(self, request):
            return await super().handle(request)

        async def get(self, request):
            return Response.text("ok")

    assert Wrapped().allowed_methods() == {"GET"}
    assert Wrapped.route("/w").methods == {"GET", "HEAD"}


def test_disabled_plugin_command_names_the_plugin(project: Path, capsys) -> None:
    assert main(["--root", str(project), "secret-key"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == ('rum: error: rum secret-key is provided by the sessions plugin: '
                           'add "sessions" to [plugins] enabled in Rum.toml')
    with pytest.raises(SystemExit):
        main(["--root", str(project), "--help"])
    out = capsys.readouterr().out
    assert "commands of plugins that are not enabled:" in out
    assert "secret-key" in out and "(plugin sessions)" in out
    assert "worker" in out and "(plugin jobs)" in out
    assert "migrate" in out and "(plugin orm)" not in out  # enabled: an ordinary command


def test_unknown_command_that_no_plugin_provides_is_still_argparse_error(project: Path,
                                                                          capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--root", str(project), "frobnicate"])
    assert exc.value.code == 2 and "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"rum {rum.__version__}"


def test_broken_pipe_is_quiet(project: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("RUM_ENV", "RUM_ROOT")}
    proc = subprocess.Popen([sys.executable, "-m", "rum.cli", "plugins", "--hooks"], cwd=project,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before rum writes (as `rum plugins | head -0`)
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert proc.returncode == 141


def test_errors_inside_exception_groups_are_one_line_and_debug_shows_traceback(
        tmp_path: Path) -> None:
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["http"]\n')
    (tmp_path / "app.py").write_text(
        "import trio\nfrom rum import App, RumError\n"
        "from rum.cli import Command\n\n"
        "async def boom(args, app):\n"
        "    async def fail():\n"
        "        raise RumError('the widget is not configured: set [widget] name')\n"
        "    async with trio.open_nursery() as n:\n"
        "        n.start_soon(fail)\n\n"
        "class P:\n"
        "    @staticmethod\n"
        "    def rum_cli_commands(app):\n"
        "        return [Command('boom', 'fails', boom)]\n\n"
        "import rum\nP.rum_cli_commands = rum.hookimpl(P.rum_cli_commands)\n"
        "app = App(plugins=[P()])\n")
    done = rum_cli("boom", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == "rum: error: the widget is not configured: set [widget] name\n"
    debug = rum_cli("--debug", "boom", cwd=tmp_path)
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    assert debug.stderr.rstrip().endswith("rum: error: the widget is not configured: "
                                          "set [widget] name")

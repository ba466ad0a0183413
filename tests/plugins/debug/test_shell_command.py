"""``rum shell`` driven through a pty: the app is started, the project's models are in scope,
top-level ``await`` runs on the app's trio loop, Ctrl-C cancels an await, Ctrl-D leaves."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg
import pexpect
import pytest

MODELS = '''
from rum_orm import Model


class Note(Model):
    title: str


class Tag(Model):
    name: str
'''

APP = '''
import models  # noqa: F401
from rum import App

app = App()
'''

PROMPT = ">>> "


def _create_notes(url: str) -> None:
    async def create() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("CREATE TABLE notes (id bigserial PRIMARY KEY, title text NOT NULL);"
                               "CREATE TABLE tags (id bigserial PRIMARY KEY, name text NOT NULL);"
                               "INSERT INTO notes (title) VALUES ('a'), ('b');")
        finally:
            await conn.close()

    asyncio.run(create())


@pytest.fixture
def project(tmp_path: Path, database_url: str) -> Path:
    _create_notes(database_url)
    (tmp_path / "Rum.toml").write_text(
        f'[plugins]\nenabled = ["orm"]\n\n[database]\nurl = "{database_url}"\n')
    (tmp_path / "models.py").write_text(MODELS)
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


def _spawn(project: Path) -> pexpect.spawn:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RUM_ENV", "RUM_ROOT") and not k.startswith("RUM_DATABASE")}
    env["PYTHONUNBUFFERED"] = "1"
    env["TERM"] = "dumb"
    return pexpect.spawn(sys.executable, ["-m", "rum.cli", "--root", str(project), "shell"],
                         cwd=str(project), env=env, encoding="utf-8", timeout=60,
                         dimensions=(24, 200))


def _ask(shell: pexpect.spawn, line: str) -> str:
    """Type ``line`` and return what the shell printed before the next prompt."""
    shell.sendline(line)
    shell.expect_exact(PROMPT)
    out = str(shell.before).replace("\r\n", "\n")
    return out.split("\n", 1)[1] if "\n" in out else ""  # drop the echoed line


def test_shell_awaits_on_the_running_app_and_exits(project: Path) -> None:
    shell = _spawn(project)
    try:
        shell.expect_exact(PROMPT)
        banner = str(shell.before)
        assert "the app is running" in banner and "Names: app, trio, Note, Tag." in banner

        assert _ask(shell, "await Note.all().count()").strip() == "2"
        assert _ask(shell, "app.started").strip() == "True"
        assert _ask(shell, "note = await Note.create(title='c')") == ""
        assert _ask(shell, "note.title, await Note.filter(title='c').count()").strip() \
            == "('c', 1)"
        assert _ask(shell, "await Tag.all().count()").strip() == "0"
        # a plain statement, a multi-line block and an error each behave as in Python's REPL
        assert _ask(shell, "x = 20").strip() == ""
        shell.sendline("for i in range(2):")
        shell.expect_exact("... ")
        shell.sendline("    print('row', i + x)")
        shell.expect_exact("... ")
        assert "row 20\nrow 21" in _ask(shell, "")
        assert "ZeroDivisionError" in _ask(shell, "1 / 0")
        assert "UnknownColumn" in _ask(shell, "await Note.all().order('-titel').fetch_all()")

        # Ctrl-C cancels the statement being awaited; the shell and the app stay up
        shell.sendline("print('sle' + 'eping'); await trio.sleep(300)")
        shell.expect_exact("sleeping")
        shell.sendintr()
        shell.expect_exact("KeyboardInterrupt", timeout=30)
        shell.expect_exact(PROMPT)
        assert _ask(shell, "await Note.all().count()").strip() == "3"
        # ... and interrupts a plain statement that runs on
        assert _ask(shell, "n = 0") == ""
        shell.sendline("while True: n += 1")
        shell.expect_exact("... ")
        shell.sendline("")
        shell.expect_exact("\r\n")
        shell.expect(pexpect.TIMEOUT, timeout=0.5)  # let it loop a while
        shell.sendintr()
        shell.expect_exact("KeyboardInterrupt", timeout=30)
        shell.expect_exact(PROMPT)
        assert int(_ask(shell, "n")) > 0
        # at the prompt, Ctrl-C only says how to leave
        shell.sendintr()
        shell.expect_exact("Ctrl-D or exit() leaves the shell)\r\n")
        assert _ask(shell, "'still here'").strip() == "'still here'"

        shell.sendeof()  # Ctrl-D
        shell.expect(pexpect.EOF)
        shell.close()
        assert shell.exitstatus == 0
    finally:
        if shell.isalive():
            shell.terminate(force=True)


def test_exit_with_a_code(project: Path) -> None:
    shell = _spawn(project)
    try:
        shell.expect_exact(PROMPT)
        shell.sendline("exit(3)")
        shell.expect(pexpect.EOF)
        shell.close()
        assert shell.exitstatus == 3
    finally:
        if shell.isalive():
            shell.terminate(force=True)

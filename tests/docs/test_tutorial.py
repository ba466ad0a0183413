"""docs/tutorial.md, followed to the letter: every block is written or run, in order.

The tutorial's project is built in a temporary directory from the page's own blocks (the
``<!-- file: ... -->`` markers, see ``doc_blocks``); its commands (``rum new``, ``rum migrate
make/run/check``, ``rum routes``, ``rum jobs list``, ``curl``, ``pytest``) run as written in
a shell, on a fresh PostgreSQL database (``DATABASE_URL``), and must print what the page shows.
``rum run`` starts the real server on a free port (``curl`` lines are pointed at it; it is
restarted after the changes ``rum run``'s reload restarts for, and only those: templates are
picked up by the running server). At the end, the finished blog
is driven over its socket, by an HTTP client (sign up, write a post, see the background job's
word count, read the API) and in headless Chromium (the same through the forms the page
draws, flash messages, log-out); and the code the reader typed in passes ruff.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest
from browser_helpers import launch_chromium, needs_chromium
from doc_blocks import Block, Command, apply_file_block, blocks, output_matches
from process_helpers import stop, wait_until_serving

REPO = Path(__file__).resolve().parents[2]
TUTORIAL = REPO / "docs" / "tutorial.md"
BIN = str(Path(sys.executable).parent)

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(300)]


class Reader:
    """Someone following the tutorial: a shell in ``cwd`` and, once started, ``rum run``."""

    def __init__(self, workdir: Path, database_url: str, port: int) -> None:
        self.workdir = self.cwd = workdir
        self.port = port
        self.server: subprocess.Popen[str] | None = None
        self.server_dir: Path | None = None
        self.changed = False  # files changed since the server started
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RUM_")}
        self.env.update(DATABASE_URL=database_url, PATH=f"{BIN}:{self.env['PATH']}",
                        PYTHONDONTWRITEBYTECODE="1")
        self.env.pop("PYTEST_ADDOPTS", None)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write(self, block: Block) -> None:
        path = apply_file_block(block, self.workdir).relative_to(self.workdir)
        # what `rum run`'s reload restarts for: Python outside tests/, and Rum*.toml
        # (templates are recompiled by the running server when they change)
        code = path.suffix == ".py" and "tests" not in path.parts
        self.changed |= code or (path.name.startswith("Rum") and path.suffix == ".toml")

    def run(self, command: Command, where: int) -> None:
        started = time.monotonic()
        try:
            self._run(command, where)
        finally:
            print(f"{time.monotonic() - started:6.2f}s  {command.line}")

    def _run(self, command: Command, where: int) -> None:
        line = command.line
        if line.startswith("cd "):
            self.cwd = (self.cwd / line[3:]).resolve()
            assert self.cwd.is_dir(), f"line {where}: no directory {self.cwd}"
            return
        if line == "rum run":
            self.start_server()
            return
        if "127.0.0.1:8000" in line:
            self.ensure_server(where)
            line = line.replace("127.0.0.1:8000", f"127.0.0.1:{self.port}")
        done = subprocess.run(["bash", "-c", line], cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=240)
        output = (done.stdout + done.stderr).replace(f"127.0.0.1:{self.port}",
                                                      "127.0.0.1:8000")
        assert done.returncode == 0, f"line {where}: `{command.line}` failed:\n{output}"
        for expected in command.expected:
            assert output_matches(expected, output), (
                f"line {where}: `{command.line}` should print {expected!r}; it printed:\n"
                f"{output}")

    def start_server(self) -> None:
        self.stop_server()
        self.server = subprocess.Popen(
            ["rum", "run", "--no-reload", "--port", str(self.port)], cwd=self.cwd,
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.server_dir = self.cwd
        self.changed = False
        wait_until_serving(self.base + "/", self.server, timeout=30)

    def ensure_server(self, where: int) -> None:
        assert self.server is not None, f"line {where}: uses the server before `rum run`"
        if self.changed:  # what `rum run`'s reload does when a file changes
            cwd, self.cwd = self.cwd, self.server_dir or self.cwd
            self.start_server()
            self.cwd = cwd

    def stop_server(self) -> str:
        if self.server is None:
            return ""
        out = stop(self.server)
        self.server = None
        return out


def test_every_block_is_marked_or_a_command() -> None:
    found = blocks(TUTORIAL)
    assert len(found) > 30
    for block in found:
        assert block.kind == "file" or block.language == "console", (
            f"docs/tutorial.md line {block.line}: a {block.language} block without a "
            "<!-- file: ... --> marker is not tested")
        if block.kind == "not run":
            # only the installation itself, which the test environment already did
            assert all(c.line.startswith(("python3 -m venv", ". .venv/bin/activate",
                                          "pip install")) for c in block.commands), block.code
    install = next(b for b in found if b.kind == "not run")
    extra = re.search(r"pip install -e '\./rum\[(\w+)\]'", install.code)
    assert extra is not None
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert extra[1] in pyproject["project"]["optional-dependencies"]
    assert "pytest-trio" in " ".join(pyproject["project"]["optional-dependencies"]["dev"])


@pytest.mark.browser
@needs_chromium
def test_the_tutorial_builds_a_working_blog(tmp_path: Path, database_url: str,
                                            unused_port: int) -> None:
    reader = Reader(tmp_path, database_url, unused_port)
    try:
        for block in blocks(TUTORIAL):
            if block.kind == "file":
                reader.write(block)
            elif block.kind is None:
                for command in block.commands:
                    reader.run(command, block.line)
        reader.ensure_server(0)
        use_the_finished_blog(reader.base)
        write_a_post_in_chromium(reader.base)
    finally:
        log = reader.stop_server()
    assert "Traceback" not in log, log
    # what the reader typed in is clean code, imports sorted
    lint = subprocess.run([f"{BIN}/ruff", "check", "--isolated", "--line-length", "100",
                           "--select", "E,F,W,I,B,UP,SIM", "."], cwd=tmp_path / "blog",
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def use_the_finished_blog(base: str) -> None:
    """A visitor signs up, writes a post, sees its words counted by the job, reads the API."""
    with httpx.Client(base_url=base, timeout=10) as browser:
        assert "<h1>Welcome to Blog</h1>" in browser.get("/").text  # rum new's page, kept
        assert "No posts yet." in browser.get("/posts").text  # the tutorial wrote none
        signup = browser.get("/signup")
        token = re.search(r'name="csrf_token" value="([^"]+)"', signup.text)[1]
        created = browser.post("/signup", data={"email": "grace@example.com",
                                                "password": "hopper-1906", "csrf_token": token})
        assert created.status_code == 303 and created.headers["location"] == "/posts"
        form = browser.get("/posts/new")
        assert form.status_code == 200
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)[1]
        written = browser.post("/posts/new", data={"title": "On socket", "body": "four words "
                                                   "right here", "csrf_token": token})
        assert written.status_code == 303
        page_path = written.headers["location"]
        deadline = time.monotonic() + 15
        while "4 words" not in (page := browser.get(page_path)).text:  # the in-app worker
            assert time.monotonic() < deadline, page.text
            time.sleep(0.2)
        assert "<h1>On socket</h1>" in page.text
        assert "Log out" in page.text  # the layout knows who is signed in
        assert f'href="{page_path}">On socket</a>' in browser.get("/posts").text
        listing = browser.get("/api/posts", params={"order": "-id"}).json()
        assert listing["items"][0]["title"] == "On socket"
        assert listing["items"][0]["words"] == 4


def write_a_post_in_chromium(base: str) -> None:
    """Sign up, write a post and log out through the pages, in headless Chromium."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.goto(base + "/posts/new")
            assert page.url == base + "/login"  # SessionAuth.redirect
            page.click("text=Sign up")
            assert page.get_attribute("input[name=password]", "minlength") == "8"
            page.fill("input[name=email]", "Grace@Example.com")  # signed up over HTTP above
            page.fill("input[name=password]", "long enough")
            page.click("main form [type=submit]")
            expect(page.locator("main")).to_contain_text("already has an account")  # 422
            page.fill("input[name=email]", "linus@example.com")
            page.fill("input[name=password]", "long enough")
            page.click("main form [type=submit]")
            expect(page.locator("[role=status]")).to_have_text("Welcome to the blog!")
            page.click("text=Write")
            page.fill("input[name=title]", "From Chromium")
            page.fill("textarea[name=body]", "five words in a browser")
            page.click("main form [type=submit]")
            expect(page.locator("h1")).to_have_text("From Chromium")
            expect(page.locator("[role=status]")).to_have_text("Your post is published.")
            for _ in range(50):  # the in-app worker counts the words
                if "5 words" in page.inner_text(".meta"):
                    break
                page.wait_for_timeout(200)
                page.reload()
            assert "5 words" in page.inner_text(".meta")
            page.click("text=Log out")
            expect(page.locator("nav")).to_contain_text("Log in")
            page.goto(base + "/posts/new")
            assert page.url == base + "/login"
        finally:
            browser.close()

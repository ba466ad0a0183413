"""``rum generate auth`` in a fresh ``rum new app`` project: the files it writes, the
migration agreeing with the model, the generated tests passing against the real PostgreSQL
(subprocess pytest), and the pages working in headless Chromium under ``rum run`` (sign up,
log out, a refused log-in, a password reset through the mail the development backend writes,
log in with the new password)."""

from __future__ import annotations

import email
import email.policy
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser_helpers import launch_chromium, needs_chromium
from scaffold_helpers import rum, run

from rum.errors import RumError
from rum_scaffold import auth_generator


@pytest.fixture
def project(tmp_path: Path, database_url: str) -> Path:
    """A new app with `rum generate auth` run in it and its migrations applied."""
    code, out = rum(tmp_path, "new", "app", "shop", url=database_url)
    assert code == 0, out
    root = tmp_path / "shop"
    code, out = rum(root, "generate", "auth", url=database_url)
    assert code == 0, out
    assert "created auth_controller.py" in out and "updated app.py" in out, out
    code, out = rum(root, "migrate", "run", url=database_url)
    assert code == 0 and "_create_users" in out, out
    return root


@pytest.mark.slow
def test_generate_auth_writes_an_app_whose_tests_pass(project: Path, database_url: str) -> None:
    files = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}
    assert {"auth_controller.py", "auth_forms.py", "mailers.py", "tests/test_auth.py",
            "templates/auth/signup.html", "templates/auth/login.html",
            "templates/auth/account.html", "templates/auth/reset_request.html",
            "templates/auth/reset_form.html",
            "templates/auth/reset_invalid.html", "templates/password_mailer/reset.txt",
            "templates/password_mailer/reset.html"} <= files
    assert not any(f.endswith(".tmpl") for f in files)
    models = (project / "models.py").read_text()
    assert "class User(Model):" in models and "uniqueness(case_sensitive=False)" in models
    assert "from rum_orm import Model, length, presence, uniqueness" in models
    up = next((project / "migrations").glob("*_create_users.up.sql")).read_text()
    assert "CONSTRAINT users_email_key UNIQUE (email)" in up
    app_py = (project / "app.py").read_text()
    assert 'PasswordResetController.route("/password/reset/<token>", ' \
           'name="password_reset")' in app_py
    toml = (project / "Rum.toml").read_text()
    for plugin in ("sessions", "forms", "accounts", "jobs", "mail"):
        assert f'"{plugin}"' in toml
    assert 'login_url = "/login"' in toml and 'base_url = "http://127.0.0.1:8000"' in toml
    assert "[development.jobs]\nrun_worker_in_app = true" in toml  # reset mail is a job
    assert '[jobs]\nmodules = ["mailers"]' in toml  # SendPasswordReset, known to workers
    assert "<%= flash_messages %>\n    <%= yield %>" in \
        (project / "templates" / "layout.html").read_text()

    generated = ["auth_controller.py", "auth_forms.py", "mailers.py", "tests/test_auth.py"]
    code, out = run(project, "-m", "ruff", "check", "--no-cache", "--isolated",
                    "--line-length", "100", "--select", "E,F,W,B,UP", *generated,
                    url=database_url)
    assert code == 0, out  # the generated Python is lint-clean

    code, out = rum(project, "migrate", "check", url=database_url)
    assert code == 0, out  # the migration matches the model
    code, out = run(project, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests",
                    url=database_url, timeout=300)
    assert code == 0, out
    assert "10 passed" in out, out  # test_app.py's 2 and test_auth.py's 8

    code, out = rum(project, "generate", "auth", url=database_url)
    assert code == 1 and "models.py already defines User" in out, out


def test_generate_auth_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    with pytest.raises(RumError, match=r"layout\.html is missing"):
        auth_generator.auth(tmp_path)
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["http"]\n')
    code, out = rum(tmp_path, "generate", "auth", "Member", url="")
    assert code == 1 and "takes no name or fields" in out, out
    code, out = rum(tmp_path, "generate", "model", url="")
    assert code == 1 and "rum generate model needs a name" in out, out


def read_reset_link(mail_dir: Path, deadline: float = 10.0) -> str:
    """The reset link in the one .eml file the development backend wrote."""
    end = time.monotonic() + deadline
    while not list(mail_dir.glob("*.eml")):
        assert time.monotonic() < end, f"no mail in {mail_dir}"
        time.sleep(0.05)
    [path] = list(mail_dir.glob("*.eml"))
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(r"http://\S+/password/reset/\S+", text)
    assert match, text
    return match[0]


@pytest.mark.slow
@pytest.mark.browser
@needs_chromium
def test_the_generated_pages_in_chromium(project: Path, database_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONDONTWRITEBYTECODE": "1",
           "RUM_MAIL__BASE_URL": f"http://127.0.0.1:{port}"}
    env.pop("RUM_ENV", None)  # development: the in-app worker writes mail to tmp/mail/*.eml
    server = subprocess.Popen([sys.executable, "-m", "rum.cli", "run", "--no-reload",
                               "--port", str(port)], cwd=project, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()  # type: ignore
                assert time.monotonic() < end, "rum run did not start"
                time.sleep(0.1)
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            try:
                page = browser.new_page()
                page.goto(base + "/signup")
                page.get_by_label("E-mail address").fill("Ada@Example.com")
                page.get_by_label("Password", exact=True).fill("lovelace-1815")
                page.get_by_label("Password again").fill("lovelace-1815")
                page.get_by_role("button", name="Sign up").click()
                page.wait_for_url(base + "/account")
                expect(page.get_by_role("status")).to_have_text(
                    "Welcome! Your account is ready.")
                expect(page.locator("main")).to_contain_text("ada@example.com")

                page.get_by_role("button", name="Log out").click()
                page.wait_for_url(base + "/login")
                expect(page.get_by_role("status")).to_have_text("You have logged out.")

                page.get_by_label("E-mail address").fill("ada@example.com")
                page.get_by_label("Password").fill("not my password")
                page.get_by_role("button", name="Log in").click()
                expect(page.get_by_role("alert")).to_contain_text(
                    "Wrong e-mail address or password.")
                expect(page.get_by_label("E-mail address")).to_have_value("ada@example.com")

                page.get_by_role("link", name="Forgot your password?").click()
                page.get_by_label("E-mail address").fill("ada@example.com")
                page.get_by_role("button", name="Mail me a link").click()
                page.wait_for_url(base + "/login")
                expect(page.get_by_role("status")).to_contain_text(
                    "a link to choose a new password is on its way")

                page.goto(read_reset_link(project / "tmp" / "mail"))
                page.get_by_label("Password", exact=True).fill("analytical-engine")
                page.get_by_label("Password again").fill("analytical-engine")
                page.get_by_role("button", name="Change my password").click()
                page.wait_for_url(base + "/login")
                expect(page.get_by_role("status")).to_have_text(
                    "Your password has been changed: log in with it.")

                page.get_by_label("E-mail address").fill("ada@example.com")
                page.get_by_label("Password").fill("analytical-engine")
                page.get_by_role("button", name="Log in").click()
                page.wait_for_url(base + "/account")
                expect(page.locator("main")).to_contain_text("ada@example.com")
            finally:
                browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stderr is not None:
            server.stderr.close()

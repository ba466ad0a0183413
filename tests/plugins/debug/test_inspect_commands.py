"""The inspect tool's commands (``rum_debug.commands``): ``rum config`` redacts secrets unless
``--show-secrets``; ``rum routes`` lists the methods each route answers."""

from __future__ import annotations

import sys
from pathlib import Path

from rum.cli import main
from rum_debug.commands import redact


def test_redact_hides_keys_tokens_passwords_and_url_passwords() -> None:
    assert redact("secret_key", "abc") == "***"
    assert redact("old_secret_keys", ["a", "b"]) == "***"
    assert redact("tokens", ["t1"]) == "***"
    assert redact("basic_password", "pw") == "***"
    assert redact("api_key", "k") == "***"
    assert redact("url", "postgresql://rum:s3cret@db:5432/app") == "postgresql://rum:***@db:5432/app"
    assert redact("urls", ["redis://:pw@cache/0"]) == ["redis://:***@cache/0"]
    # not secrets: empty values, names that merely contain "key" elsewhere, plain URLs
    assert redact("secret_key", None) is None and redact("tokens", []) == []
    assert redact("csrf_field", "csrf_token") == "csrf_token"
    assert redact("default_url", "postgresql://postgres@127.0.0.1:5432") == \
        "postgresql://postgres@127.0.0.1:5432"


def test_config_redacts_unless_show_secrets(project: Path, capsys) -> None:
    assert main(["--root", str(project), "config"]) == 0
    out = capsys.readouterr().out
    assert "--show-secrets" in out
    assert 'secret_key = "***"' in out
    assert "00112233" not in out and "hunter2" not in out
    assert 'url = "postgresql://alice:***@127.0.0.1:5432/feed"' in out
    assert main(["--root", str(project), "config", "--show-secrets"]) == 0
    out = capsys.readouterr().out
    assert "00112233445566778899" in out and "alice:hunter2@" in out
    sys.modules.pop("app", None)


def test_routes_lists_only_methods_that_answer(project: Path, capsys) -> None:
    assert main(["--root", str(project), "routes"]) == 0
    lines = {line.split()[1]: line.split()[0] for line in capsys.readouterr().out.splitlines()}
    assert lines["/only"] == "GET,HEAD,POST"
    assert lines["/any"] == "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT"



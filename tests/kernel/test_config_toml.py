"""Rum.toml is read with the standard library's tomllib (fast to import); tomlkit, which the
kernel read it with before, is imported only to report an invalid file: both must agree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tomlkit

from rum.config import Config, ConfigError

RICH = '''
# every kind of value a Rum.toml may hold
[plugins]
enabled = ["http", "orm"]
[plugins.jobs]
enabled = false

[general]
name = "shop"
literal = 'C:\\path'
multi = """two
lines"""
debug = true
ratio = 1.5e3
big = 1_000_000
hex = 0xff
when = 2026-12-01T09:30:00Z
day = 2026-12-01
inline = { a = 1, b = [1, 2, { c = "d" }] }

[database]
url = "postgresql://localhost/shop"

[[database.replicas]]
url = "postgresql://one/shop"
[[database.replicas]]
url = "postgresql://two/shop"

[production.general]
debug = false
'''


def test_a_rich_file_reads_as_tomlkit_read_it(tmp_path: Path) -> None:
    (tmp_path / "Rum.toml").write_text(RICH)
    config = Config.load(tmp_path, environ={})
    expected = tomlkit.parse(RICH).unwrap()
    expected.pop("production")
    assert config.data == expected
    assert list(config.data) == list(expected)
    assert Config.load(tmp_path, env="production", environ={}).get("general", "debug") is False


def test_an_invalid_file_still_names_line_and_column_as_tomlkit_does(tmp_path: Path) -> None:
    (tmp_path / "Rum.toml").write_text('[general]\nname = "ok"\ndebug = = true\n')
    with pytest.raises(ConfigError) as err:
        Config.load(tmp_path, environ={})
    try:
        tomlkit.parse((tmp_path / "Rum.toml").read_text())
    except tomlkit.exceptions.ParseError as exc:
        assert str(err.value) == f"{tmp_path / 'Rum.toml'}:3:{exc.col}: not valid TOML: {exc}"


def test_loading_a_config_does_not_import_tomlkit(tmp_path: Path) -> None:
    (tmp_path / "Rum.toml").write_text(RICH)
    code = ("import sys\nfrom rum.config import Config\n"
            f"Config.load({str(tmp_path)!r}, environ={{'RUM_DB__HOSTS': '[\"a\"]'}})\n"
            "print('tomlkit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"

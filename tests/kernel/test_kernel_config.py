"""Rum.toml loading, overlays, environment variables and validation errors."""

from pathlib import Path

import pytest

from rum import App, ConfigError
from rum.config import Config, Setting

SCHEMA = {
    "general": {"log_queries": False, "name": Setting(None, str), "ratio": 1.5},
    "db": {"pool": 10, "hosts": Setting([], list)},
}


def write(tmp_path: Path, text: str, name: str = "Rum.toml") -> None:
    (tmp_path / name).write_text(text)


def test_values_overlays_and_env_vars(tmp_path):
    write(tmp_path, """
[general]
name = "base"
[db]
pool = 5
[production.general]
name = "prod"
""")
    write(tmp_path, "[db]\npool = 20\n", "Rum.production.toml")
    env = {"RUM_GENERAL__LOG_QUERIES": "yes", "RUM_DB__HOSTS": '["a", "b"]'}
    config = Config.load(tmp_path, env="production", environ=env)
    config.validate(SCHEMA)
    assert config.get("general", "name") == "prod"
    assert config.get_int("db", "pool") == 20
    assert config.get_bool("general", "log_queries") is True
    assert config.get_list("db", "hosts") == ["a", "b"]
    assert config.get_float("general", "ratio") == 1.5  # declared default


def test_env_selects_overlay_from_rum_env(tmp_path):
    write(tmp_path, '[general]\nname = "dev"\n[staging.general]\nname = "stage"\n')
    config = Config.load(tmp_path, environ={"RUM_ENV": "staging"})
    assert config.env == "staging"
    assert config.get("general", "name") == "stage"


def test_code_overrides_win(tmp_path):
    write(tmp_path, "[db]\npool = 5\n")
    config = Config.load(tmp_path, environ={"RUM_DB__POOL": "7"}, overrides={"db": {"pool": 9}})
    config.validate(SCHEMA)
    assert config.get_int("db", "pool") == 9


def test_wrong_type_names_key_file_and_type(tmp_path):
    write(tmp_path, '[db]\npool = "many"\n')
    config = Config.load(tmp_path, environ={})
    with pytest.raises(ConfigError) as err:
        config.validate(SCHEMA)
    msg = str(err.value)
    assert "Rum.toml" in msg and "[db] pool" in msg and "an integer" in msg and "'many'" in msg


def test_bad_env_var_names_the_variable(tmp_path):
    config = Config.load(tmp_path, environ={"RUM_GENERAL__LOG_QUERIES": "maybe"})
    with pytest.raises(ConfigError, match=r"RUM_GENERAL__LOG_QUERIES.*boolean"):
        config.validate(SCHEMA)


def test_unknown_key_suggests_closest(tmp_path):
    write(tmp_path, "[general]\nlog_querys = true\n")
    config = Config.load(tmp_path, environ={})
    with pytest.raises(ConfigError, match=r"unknown key 'log_querys' in \[general\]; did you "
                                          r"mean 'log_queries'\?"):
        config.validate(SCHEMA)


def test_unknown_section_is_an_error_unless_owned_by_a_disabled_plugin(tmp_path):
    write(tmp_path, "[dbb]\npool = 1\n")
    config = Config.load(tmp_path, environ={})
    with pytest.raises(ConfigError, match=r"unknown section \[dbb\]; did you mean \[db\]"):
        config.validate(SCHEMA)
    config.validate(SCHEMA, ignore_sections=lambda: {"dbb"})


def test_invalid_toml_reports_line_and_column(tmp_path):
    write(tmp_path, "[general]\nname = \n")
    with pytest.raises(ConfigError, match=r"Rum.toml:2:\d+: not valid TOML"):
        Config.load(tmp_path, environ={})


def test_choices_are_enforced(tmp_path):
    write(tmp_path, '[general]\nlog_format = "xml"\n[plugins]\nenabled = []\n')
    with pytest.raises(ConfigError, match="log_format must be one of 'text', 'json'"):
        App(root=tmp_path)


def test_app_validates_kernel_keys_and_fills_defaults(tmp_path):
    write(tmp_path, "[general]\nlog_level = \"debug\"\n[plugins]\nenabled = []\n")
    app = App(root=tmp_path)
    assert app.config.get("general", "log_level") == "debug"
    assert app.config.get("general", "secret_key") is None
    assert app.config.effective()["general"]["log_format"] == "text"


def test_typed_getters_convert_environment_values_before_validation(tmp_path):
    config = Config.load(tmp_path, environ={"RUM_DB__POOL": "7", "RUM_DB__HOSTS": "a, b"})
    assert config.get_int("db", "pool") == 7
    assert config.get_list("db", "hosts") == ["a", "b"]
    assert config.get_typed("db", "missing", int, 3) == 3


def test_plugins_enabled_that_is_not_a_list_names_the_key_and_file(tmp_path):
    write(tmp_path, '[plugins]\nenabled = "http"\n')
    with pytest.raises(ConfigError, match=r"Rum.toml: \[plugins\] enabled must be a list"):
        App(root=tmp_path)

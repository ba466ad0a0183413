"""``RUM_PLUGINS__ENABLED`` picks the plugins, like ``[plugins] enabled`` in Rum.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from rum import App
from rum.config import Config
from rum.errors import PluginError


def loaded(app: App) -> set[str]:
    return {name for name, _ in app.plugins.pm.list_name_plugin()}


def test_environment_variable_replaces_the_enabled_list(tmp_path: Path) -> None:
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["http", "templates"]\n')
    config = Config.load(tmp_path, environ={"RUM_PLUGINS__ENABLED": '["http"]'})
    app = App(config=config)
    assert "http" in loaded(app) and "templates" not in loaded(app)
    assert app.config.get_list("plugins", "enabled") == ["http"]


def test_environment_variable_may_be_comma_separated(tmp_path: Path) -> None:
    config = Config.load(tmp_path, environ={"RUM_PLUGINS__ENABLED": "http, templates"})
    assert {"http", "templates"} <= loaded(App(config=config))


def test_unknown_plugin_from_the_environment_is_named(tmp_path: Path) -> None:
    config = Config.load(tmp_path, environ={"RUM_PLUGINS__ENABLED": '["htp"]'})
    with pytest.raises(PluginError, match="'htp' is enabled but not installed; did you mean"):
        App(config=config)

"""``[http]`` settings: defaults, overrides, and errors that name the key."""

from __future__ import annotations

import pytest

from rum import App, ConfigError
from rum_http.settings import ServerSettings


def test_defaults_come_from_the_schema(tmp_path):
    app = App(plugins=["http"], root=tmp_path)
    settings = ServerSettings.from_config(app.config)
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8000, 1)
    assert settings.max_body_size == 1024 * 1024 and settings.max_headers == 100


def test_file_then_arguments_then_options(tmp_path):
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["http"]\n[http]\nport = 9000\n'
                                       "max_body_size = 10\nkeep_alive_timeout = 1\n")
    app = App(root=tmp_path)
    settings = ServerSettings.from_config(app.config, None, None, {"workers": None})
    assert (settings.port, settings.max_body_size, settings.keep_alive_timeout) == (9000, 10, 1.0)
    settings = ServerSettings.from_config(app.config, "0.0.0.0", 0, {"workers": 3})
    assert (settings.host, settings.port, settings.workers) == ("0.0.0.0", 0, 3)


def test_environment_variable_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("RUM_HTTP__ACCESS_LOG", "false")
    monkeypatch.setenv("RUM_HTTP__MAX_HEADERS", "7")
    app = App(plugins=["http"], root=tmp_path)
    settings = ServerSettings.from_config(app.config)
    assert settings.access_log is False and settings.max_headers == 7


def test_unknown_key_is_an_error_naming_it(tmp_path):
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["http"]\n[http]\nmax_body = 1\n')
    with pytest.raises(ConfigError, match=r"unknown key 'max_body' in \[http\].*max_body_size"):
        App(root=tmp_path)


def test_bad_values_name_the_key(tmp_path):
    app = App(plugins=["http"], root=tmp_path, config={"http": {"request_timeout": 0}})
    with pytest.raises(ConfigError, match=r"\[http\] request_timeout must be a positive"):
        ServerSettings.from_config(app.config)
    with pytest.raises(ConfigError, match="unknown HTTP server option 'wrokers'"):
        ServerSettings.from_config(app.config, options={"wrokers": 2})


async def test_port_in_use_is_a_clear_error(tmp_path):
    import socket

    from rum import RumError
    from rum_http import HTTPServer

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = App(plugins=["http"], root=tmp_path)
        server = HTTPServer(app, ServerSettings(port=port, handle_signals=False))
        with pytest.raises(RumError, match=f"cannot listen on 127.0.0.1:{port}.*--port"):
            await server.serve()

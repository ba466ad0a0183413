"""The sample's Rum.toml: every plugin enabled, development defaults, production overlay."""

from __future__ import annotations

import pytest
from sample_support import SAMPLE  # noqa: F401  (puts sample_project on sys.path)

from rum.errors import ConfigError

ALL_PLUGINS = {"http", "orm", "templates", "sessions", "auth", "jobs", "websockets", "static",
               "turbo", "rest", "ratelimit", "metrics", "forms"}


def loaded(app) -> set[str]:
    return {name for name, _ in app.plugins.pm.list_name_plugin()}


def test_every_plugin_is_enabled_with_development_settings(monkeypatch) -> None:
    from tracker import create_app

    for name in ("DATABASE_URL", "RUM_ENV", "RUM_DATABASE__URL", "RUM_PLUGINS__ENABLED"):
        monkeypatch.delenv(name, raising=False)
    app = create_app()
    assert ALL_PLUGINS | {"tracker"} <= loaded(app)
    assert app.config.env == "development"
    # no url: `rum run` uses rum_sample on 127.0.0.1:5432, else the embedded server
    assert app.config.get_str("database", "url") is None
    assert app.config.get_str("database", "name") == "rum_sample"
    assert app.config.get_bool("jobs", "run_worker_in_app")
    assert app.config.get_str("tracker", "summary_cron") == "*/30 * * * * *"
    assert {r.path for r in app.router.routes} >= {
        "/", "/login", "/logout", "/orders", "/orders/<int:id>/ship", "/outbox",
        "/api/orders", "/api/orders/<int:id>", "/api/openapi.json", "/metrics",
        "/_rum/turbo-streams", "/assets/<path:path>"}


def test_database_url_from_the_environment_wins(monkeypatch) -> None:
    from tracker import create_app

    from rum_orm import database_url

    monkeypatch.setenv("DATABASE_URL", "postgresql://someone@db.example/orders")
    assert database_url(create_app().config) == "postgresql://someone@db.example/orders"


def test_production_overlay(monkeypatch) -> None:
    from tracker import create_app

    monkeypatch.setenv("RUM_GENERAL__SECRET_KEY", "ab" * 32)
    app = create_app(env="production")
    assert app.config.get_str("tracker", "summary_cron") == "0 0 18 * * *"
    assert app.config.get_bool("tracker", "seed") is False
    assert app.config.get_list("auth", "tokens") == []
    assert app.config.get_str("general", "log_format") == "json"


def test_production_refuses_to_start_without_a_secret_key(monkeypatch) -> None:
    from tracker import create_app

    monkeypatch.delenv("RUM_GENERAL__SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="secret_key"):
        create_app(env="production")

"""The kernel's own settings, declared through the same hook plugins use."""

from __future__ import annotations

from typing import Any

from rum.config import Setting
from rum.hookspecs import hookimpl

name = "rum"
_LEVELS = ("debug", "info", "warning", "error", "critical")


@hookimpl
def rum_config_schema() -> dict[str, dict[str, Any]]:
    """``[general]`` and ``[plugins]``: the settings every Rum app has."""
    return {
        "general": {
            "env": Setting(None, str, "environment name (RUM_ENV wins)"),
            "app": Setting(None, str, "the app object, as module:attribute (default app:app)"),
            "secret_key": Setting(None, str, "32 bytes, hex or base64: signs and encrypts"),
            "log_level": Setting("info", str, "root level of the rum loggers", _LEVELS),
            "log_format": Setting("text", str, "text or json log lines", ("text", "json")),
            # renamed: the plugins that read them own them now
            "log_queries": Setting(None, bool, "deprecated: use [database] log_queries",
                                   moved_to="database.log_queries"),
            "cache_templates": Setting(None, bool, "deprecated: use [templates] cache",
                                       moved_to="templates.cache"),
            "debug": Setting(None, bool, "show tracebacks on error pages (default: development)"),
        },
        "logging": {
            "app_level": Setting(None, str, "loggers outside rum.*: default info in development",
                                 _LEVELS),
            "levels": Setting({}, dict, "per-logger levels: {\"blog.jobs\" = \"debug\"}"),
            "config": Setting({}, dict, "a logging.config.dictConfig dict, applied last"),
        },
        "plugins": {
            "enabled": Setting(None, list, "entry-point names of the plugins to load"),
        },
    }

"""Hook implementations of the admin plugin: ``[admin]`` settings, the per-app state and the
admin's routes (record pages here, live dashboards from ``rum_admin.dashboards``).

See ``docs/admin.md``. Pages are :class:`rum_admin.AdminController` subclasses (guarded by
the access gate, ``rum_admin.access``) rendered with :func:`rum_admin.render_admin`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rum import ConfigError, Setting, hookimpl
from rum_admin import hookspecs as hookspecs  # the hooks this plugin owns
from rum_admin.dashboards import DashboardSettings, dashboard_routes, install_dashboards
from rum_admin.pages import record_routes
from rum_admin.registry import models_for_app
from rum_admin.state import TEMPLATES, AdminState, check_prefix
from rum_templates import Templates

if TYPE_CHECKING:
    from rum import App, Route
    from rum.config import Config

name = "admin"
requires = ("orm", "templates", "sessions", "forms")
works_with = ("turbo",)


@hookimpl
def rum_config_schema() -> dict[str, dict[str, Any]]:
    """``[admin]``: where the admin is mounted, which models it shows, who may use it."""
    return {"admin": {
        "prefix": Setting("/admin", str, "the path the admin pages are mounted under"),
        "models": Setting([], list, "models shown: \"module:Class\" entries, or [\"all\"] for "
                                    "every model of the app (default: those passed to "
                                    "rum_admin.register)"),
        "user_ids": Setting([], list, "user ids admitted besides the rum_admin_allowed hook "
                                      "(default: nobody; the hook decides)"),
        "per_page": Setting(25, int, "records on a list page unless ?per_page= says otherwise"),
        "max_per_page": Setting(100, int, "the largest ?per_page= accepted (more is a 400)"),
        "statement_timeout_ms": Setting(5000, int, "cap on the time of a list page's queries "
                                                   "(0: no cap)"),
        "dashboard_window": Setting(300.0, float, "seconds of history the dashboards show"),
        "dashboard_refresh": Setting(2.0, float, "seconds between live updates of an open "
                                                 "dashboard"),
        "record_requests": Setting(True, bool, "time requests for the requests dashboard "
                                               "(off: no per-request cost)"),
    }}


@hookimpl
def rum_configure(config: Config, app: App) -> None:
    """Build ``app.extensions["admin"]`` (an :class:`AdminState`)."""
    where = config.describe_file()
    prefix = check_prefix(config.get_str("admin", "prefix") or "/admin", where)
    per_page = config.get_int("admin", "per_page") or 0
    max_per_page = config.get_int("admin", "max_per_page") or 0
    if not 1 <= per_page <= max_per_page <= 1000:
        raise ConfigError(f"{where}: [admin] per_page ({per_page}) and max_per_page "
                          f"({max_per_page}) must satisfy 1 <= per_page <= max_per_page <= 1000")
    timeout = config.get_int("admin", "statement_timeout_ms") or 0
    if timeout < 0:
        raise ConfigError(f"{where}: [admin] statement_timeout_ms must be 0 or more, got "
                          f"{timeout}")
    refs = [str(r) for r in config.get_list("admin", "models")]
    models = models_for_app(refs, config.root, f"{where}: [admin] models")
    cache = config.get("templates", "cache")
    templates = Templates([TEMPLATES], root=TEMPLATES,
                          cache=not config.is_development if cache is None else bool(cache),
                          app=app)
    app.extensions["admin"] = AdminState(
        prefix=prefix, models=models,
        user_ids=frozenset(str(u) for u in config.get_list("admin", "user_ids")),
        per_page=per_page, max_per_page=max_per_page, statement_timeout_ms=timeout,
        templates=templates)
    try:
        dashboards = DashboardSettings(
            window=config.get_float("admin", "dashboard_window") or 0.0,
            refresh_interval=config.get_float("admin", "dashboard_refresh") or 0.0,
            keep=max(900.0, 3 * (config.get_float("admin", "dashboard_window") or 0.0)),
            record_requests=bool(config.get_bool("admin", "record_requests", True)))
    except ValueError as exc:
        raise ConfigError(f"{where}: [admin] dashboard settings: {exc}") from None
    # the dashboards' state and hooks (request timing, live refresh)
    install_dashboards(app, dashboards)


@hookimpl
def rum_routes(app: App) -> list[Route]:
    """The dashboards' routes (first: fixed paths such as ``/admin/dashboards/jobs``), then
    the index and the record pages."""
    return [*dashboard_routes(app), *record_routes(app)]

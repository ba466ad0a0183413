"""Hook implementations of the ratelimit plugin: an app-wide limiter from ``[ratelimit]``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rum import hookimpl
from rum.config import Setting
from rum.errors import ConfigError
from rum_ratelimit.limiter import RateLimiter
from rum_ratelimit.pgstore import PostgresBuckets

if TYPE_CHECKING:
    from rum.app import App
    from rum.config import Config

name = "ratelimit"
works_with = ("orm",)


@hookimpl
def rum_config_schema() -> dict[str, dict[str, Any]]:
    """``[ratelimit]``: with ``rate`` set, every routed request is limited."""
    return {"ratelimit": {
        "rate": Setting(None, int, "requests allowed per window, app-wide (unset: no limit)"),
        "window": Setting(60.0, float, "window length in seconds"),
        "burst": Setting(None, int, "requests allowed at once (default: rate)"),
        "per": Setting("client", str, "count per client address or per session",
                       ("client", "session")),
        "exempt_paths": Setting([], list, "path prefixes never limited (e.g. \"/health\")"),
        "store": Setting("memory", str, "where buckets live: \"memory\" (per process) or "
                         "\"postgres\" (shared by every process and node; needs the orm "
                         "plugin)", ("memory", "postgres")),
    }}


@hookimpl
def rum_configure(config: Config, app: App) -> None:
    """Build the app-wide limiter from ``[ratelimit]`` (none when ``rate`` is unset)."""
    if (config.get_str("ratelimit", "store") == "postgres"
            and not app.plugins.calling_order().get("rum_storage")):
        raise ConfigError(f"{config.describe_file()}: [ratelimit] store = \"postgres\" needs "
                          "a database: add \"orm\" to [plugins] enabled (or set store = "
                          "\"memory\")")
    rate = config.get_int("ratelimit", "rate")
    if rate is None:
        return
    window = config.get_float("ratelimit", "window")
    try:
        app.extensions["ratelimit.app"] = RateLimiter(
            per=config.get_str("ratelimit", "per") or "client", rate=rate,
            window=60.0 if window is None else window,
            burst=config.get_int("ratelimit", "burst"),
            exempt_paths=[str(p) for p in config.get_list("ratelimit", "exempt_paths")])
    except ValueError as exc:
        raise ConfigError(f"{config.describe_file()}: [ratelimit]: {exc}") from None


@hookimpl
def rum_middleware(app: App) -> list[RateLimiter]:
    """The app-wide limiter as middleware, if one is configured."""
    limiter = app.extensions.get("ratelimit.app")
    return [limiter] if limiter is not None else []


@hookimpl(trylast=True)
async def rum_startup(app: App) -> None:
    """With ``[ratelimit] store = "postgres"``: every limiter of the app counts in PostgreSQL
    (after the ORM has opened its pool: this runs last)."""
    if app.config.get_str("ratelimit", "store") != "postgres":
        return
    store = PostgresBuckets(app.storage)
    await store.ensure_table()
    app.extensions["ratelimit.store"] = store


@hookimpl
async def rum_shutdown(app: App) -> None:
    """Forget the store (the pool it used is closing)."""
    app.extensions.pop("ratelimit.store", None)

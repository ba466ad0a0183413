"""Hook implementations of the ratelimit plugin: an app-wide limiter from ``[ratelimit]``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rum import hookimpl
from rum.config import Setting
from rum.errors import ConfigError
from rum_ratelimit.limiter import RateLimiter

if TYPE_CHECKING:
    from rum.app import App
    from rum.config import Config

name = "ratelimit"


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
    }}


@hookimpl
def rum_configure(config: Config, app: App) -> None:
    """Build the app-wide limiter from ``[ratelimit]`` (none when ``rate`` is unset)."""
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

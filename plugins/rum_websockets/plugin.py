"""Hook implementations of the websockets plugin: ``[websockets]`` settings and shutdown."""

from __future__ import annotations

from collections.abc import Mapping

from rum import App, ConfigError, Setting, hookimpl
from rum_websockets.settings import DEFAULTS, WebSocketSettings, WebSocketsState, state_for


@hookimpl
def rum_config_schema() -> Mapping[str, Mapping[str, Setting]]:
    """``[websockets]``: message size limit, allowed origins, keep-alive pings."""
    return {"websockets": {
        "max_message_size": Setting(DEFAULTS["max_message_size"], int,
                                    "largest message accepted (bytes); larger ones close the "
                                    "connection with 1009"),
        "allowed_origins": Setting([], list, "origins besides the app's own host that may "
                                   "connect, e.g. [\"https://app.example.com\"]; \"*\" for all"),
        "ping_interval": Setting(DEFAULTS["ping_interval"], float,
                                 "seconds between keepalive pings; a connection that has not "
                                 "answered the previous one is closed with 1011; 0 disables"),
        "compression": Setting(DEFAULTS["compression"], bool,
                               "accept permessage-deflate when the client offers it"),
    }}


@hookimpl
def rum_configure(app: App) -> None:
    """Check ``[websockets]`` and keep the settings in ``app.extensions``."""
    cfg = app.config
    size = cfg.get_int("websockets", "max_message_size")
    interval = cfg.get_float("websockets", "ping_interval")
    origins = cfg.get_list("websockets", "allowed_origins")
    where = cfg.describe_file()
    if size is None or size <= 0:
        raise ConfigError(f"{where}: [websockets] max_message_size must be a positive number "
                          f"of bytes, got {size!r}")
    if interval is None or interval < 0:
        raise ConfigError(f"{where}: [websockets] ping_interval must be >= 0 seconds, "
                          f"got {interval!r}")
    bad = [o for o in origins if not isinstance(o, str) or (o != "*" and "://" not in o)]
    if bad:
        raise ConfigError(f"{where}: [websockets] allowed_origins entries must look like "
                          f"\"https://host[:port]\" (or \"*\"), got {bad!r}")
    app.extensions["websockets"] = WebSocketsState(
        app, WebSocketSettings(size, tuple(o.rstrip("/") for o in origins), interval,
                               cfg.get_bool("websockets", "compression")))


@hookimpl(tryfirst=True)
async def rum_shutdown(app: App) -> None:
    """Close connections still open with 1001 (Going Away); stop the broadcast listener."""
    await state_for(app).close_all()
    hub = app.extensions.get("pubsub")
    if hub is not None:
        hub.stop()

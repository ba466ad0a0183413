"""The ``[http]`` settings: their schema and the resolved values one server runs with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from functools import cached_property
from typing import Any

from rum.config import Config, Setting
from rum.errors import ConfigError
from rum_http.forwarded import TrustedProxies
from rum_http.logfilter import DEFAULT_LOG_FILTER, PathFilter

SECTION = "http"

SCHEMA: dict[str, Setting] = {
    "host": Setting("127.0.0.1", str, "address to bind (0.0.0.0 for every interface)"),
    "port": Setting(8000, int, "TCP port to bind (0: any free port)"),
    "workers": Setting(1, int, "processes sharing the port through SO_REUSEPORT"),
    "max_body_size": Setting(1024 * 1024, int,
                             "largest request body in bytes; larger ones get 413"),
    "max_header_size": Setting(64 * 1024, int,
                               "largest request line + headers in bytes; larger ones get 431"),
    "max_headers": Setting(100, int, "most header lines in one request; more get 431"),
    "max_connections": Setting(0, int,
                               "most open client connections; past it new clients get 503 "
                               "(0: derived from the process's descriptor limit)"),
    "keep_alive_timeout": Setting(5.0, float,
                                  "seconds an idle keep-alive connection is kept open"),
    "request_timeout": Setting(10.0, float,
                               "seconds the whole request head and body must arrive in; "
                               "slower clients get 408"),
    "shutdown_timeout": Setting(10.0, float,
                                "seconds in-flight requests get to finish on SIGINT/SIGTERM"),
    "access_log": Setting(True, bool, "log each request to the rum.access logger"),
    "health_path": Setting("/_rum/health", str, "liveness probe: 200 while the process "
                                                "answers (empty: off)"),
    "ready_path": Setting("/_rum/ready", str, "readiness probe: 200 when every plugin's "
                                              "checks pass (database, migrations), else 503 "
                                              "(empty: off)"),
    "ready_timeout": Setting(2.0, float, "seconds the readiness checks may take before the "
                                         "probe answers 503"),
    "log_probes": Setting(False, bool, "write probe requests to the access log too"),
    "log_filter": Setting(list(DEFAULT_LOG_FILTER), list,
                          "route parameters whose name contains one of these are written "
                          "as [FILTERED] in the access log (reset tokens, keys in paths)"),
    "trusted_proxies": Setting([], list, "addresses or networks of reverse proxies whose "
                                         "X-Forwarded-For/-Proto set request.client and "
                                         "request.scheme (e.g. [\"127.0.0.1\"])"),
    "backlog": Setting(1024, int, "listen() backlog of the server socket"),
    "reuse_port": Setting(False, bool,
                          "set SO_REUSEPORT on the socket (automatic with workers > 1)"),
    "server_header": Setting("rum", str, "value of the Server header (empty: none)"),
    "reload": Setting(None, bool, "rum run restarts the app when its Python files change "
                      "(unset: on in development, off elsewhere; --reload/--no-reload win)"),
}


def reload_default(config: Config) -> bool:
    """Whether ``rum run`` without ``--reload/--no-reload`` reloads: ``[http] reload``, else
    on in development only."""
    value = config.get(SECTION, "reload")
    return config.is_development if value is None else bool(value)


@dataclass(frozen=True)
class ServerSettings:
    """The values one :class:`~rum_http.server.HTTPServer` runs with."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_body_size: int = 1024 * 1024
    max_header_size: int = 64 * 1024
    max_headers: int = 100
    #: 0: derived from RLIMIT_NOFILE (see :func:`rum_http.server.connection_limit`)
    max_connections: int = 0
    keep_alive_timeout: float = 5.0
    request_timeout: float = 10.0
    shutdown_timeout: float = 10.0
    access_log: bool = True
    #: probe paths, left out of the access log unless ``log_probes``
    health_path: str = "/_rum/health"
    ready_path: str = "/_rum/ready"
    log_probes: bool = False
    #: parts of route parameter names whose values the access log leaves out
    log_filter: tuple[str, ...] = DEFAULT_LOG_FILTER
    #: reverse proxies whose X-Forwarded-For/-Proto are believed (see rum_http.forwarded)
    trusted_proxies: tuple[str, ...] = ()
    backlog: int = 1024
    reuse_port: bool = False
    server_header: str = "rum"
    #: Install SIGINT/SIGTERM handlers (off for servers embedded in tests).
    handle_signals: bool = True
    #: Serve from a child process restarted on code changes (``rum run``: see
    #: :func:`reload_default`); ``app.serve()`` never reloads unless asked.
    reload: bool = False

    @classmethod
    def from_config(cls, config: Config, host: str | None = None, port: int | None = None,
                    options: Mapping[str, Any] | None = None) -> ServerSettings:
        """Settings from ``[http]``, overridden by ``host``/``port`` and ``options``."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in SCHEMA and f.name != "reload":  # read only when rum run asks

                value = config.get(SECTION, f.name)
                if value is not None:
                    values[f.name] = value
        if host is not None:
            values["host"] = host
        if port is not None:
            values["port"] = port
        known = {f.name for f in fields(cls)}
        for key, value in (options or {}).items():
            if key == "reload" and value == "auto":
                value = reload_default(config)
            if value is None:
                continue
            if key not in known:
                raise ConfigError(f"unknown HTTP server option {key!r}; known options: "
                                  f"{', '.join(sorted(known))}")
            values[key] = value
        if "trusted_proxies" in values:
            values["trusted_proxies"] = tuple(values["trusted_proxies"] or ())
        if "log_filter" in values:
            words = values["log_filter"] or ()
            if not all(isinstance(w, str) for w in words):
                raise ConfigError(f"[http] log_filter must be a list of strings, got {words!r}")
            values["log_filter"] = tuple(words)
        settings = cls(**values)
        settings.check()
        return settings

    def with_options(self, **options: Any) -> ServerSettings:
        """A copy with some values replaced."""
        return replace(self, **options)

    @cached_property
    def path_filter(self) -> PathFilter:
        """``log_filter``, ready to filter logged paths."""
        return PathFilter(self.log_filter)

    @cached_property
    def proxies(self) -> TrustedProxies:
        """``trusted_proxies``, parsed."""
        return TrustedProxies(self.trusted_proxies)

    def check(self) -> None:
        """Refuse values the server cannot run with, naming the ``[http]`` key."""
        self.proxies  # noqa: B018 (parsing refuses a bad entry now, naming it)
        for key in ("max_body_size", "max_header_size", "max_headers", "workers"):
            if getattr(self, key) < 1:
                raise ConfigError(f"[http] {key} must be at least 1, got {getattr(self, key)}")
        for key in ("keep_alive_timeout", "request_timeout", "shutdown_timeout"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"[http] {key} must be a positive number of seconds, "
                                  f"got {getattr(self, key)}")
        if self.max_connections < 0:
            raise ConfigError("[http] max_connections must be 0 (derived from the descriptor "
                              f"limit) or a positive number, got {self.max_connections}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"[http] port must be between 0 and 65535, got {self.port}")

"""Logging through the standard library, with the request id on every line."""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar
from typing import Any

from rum.errors import ConfigError

_request_id: ContextVar[str] = ContextVar("rum_request_id", default="-")

logger = logging.getLogger("rum")


def request_id() -> str:
    """The id of the request the current task is serving (``-`` outside a request)."""
    return _request_id.get()


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (unless ``extra=`` set it) for ``%(request_id)s``."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Set ``record.request_id``; never drops a record."""
        record.request_id = getattr(record, "request_id", None) or _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and extras."""

    _skip = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
        "message", "request_id", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        out = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        out.update({k: v for k, v in record.__dict__.items() if k not in self._skip})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup_logging(level: str = "info", fmt: str = "text", stream: object = None,
                  config: Any = None) -> None:
    """Send logs to stderr (what the ``rum`` CLI does; libraries don't call it): ``rum.*`` at
    ``level``, others at WARNING, or as ``config``'s ``[logging]`` table says."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)-5s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_rum", False)]:
        root.removeHandler(old)
    handler._rum = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    logging.getLogger("rum").setLevel(level.upper())
    table = config.section("logging") if config is not None else {}
    dev = getattr(config, "env", "") == "development"
    root.setLevel((table.get("app_level") or ("info" if dev else "warning")).upper())
    try:
        for name, value in {"watchfiles": "warning", **(table.get("levels") or {})}.items():
            logging.getLogger(name).setLevel(str(value).upper())
        if table.get("config"):
            from logging.config import dictConfig

            dictConfig({"version": 1, "disable_existing_loggers": False,
                                       **table["config"]})
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"[logging] in {config.describe_file()}: {exc}") from exc

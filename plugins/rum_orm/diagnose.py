"""Errors that fit on a screen: connection failures and schema gaps explained in one line.

The driver's own errors (``ConnectionRefusedError``, ``InvalidCatalogNameError``...) say
what broke but not that it was the database, nor what to do. :func:`explain_connect_error`
turns them into a :class:`DatabaseUnavailable` naming the server, the cause and the command
that fixes it; ``rum`` prints that one line (the traceback only with ``rum --debug``) and
the development error page shows it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg

from rum_orm.errors import MIGRATE_HINT, OrmError
from rum_orm.urls import redact

#: the command that creates a missing database
CREATE_HINT = "run `rum db create`"
__all__ = ["MIGRATE_HINT", "DatabaseUnavailable", "explain_connect_error"]


class DatabaseUnavailable(OrmError, ConnectionError):
    """The app's PostgreSQL server cannot be reached, or refused the connection.

    A :class:`rum.RumError` (``rum`` prints it as one ``rum: error:`` line) and a
    ``ConnectionError`` (code that caught the driver's error still catches it).
    """


def server_of(url: str) -> str:
    """``host:port`` of a PostgreSQL URL (``127.0.0.1:5432``), for messages."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "localhost", parts.port or 5432
    except ValueError:
        return redact(url)
    return f"{host}:{port}"


def _database_of(url: str) -> str:
    path = urlsplit(url).path.lstrip("/")
    return path or "(default)"


def explain_connect_error(exc: BaseException, url: str) -> DatabaseUnavailable:
    """The one-line error for ``exc``, raised while connecting to ``url``."""
    server = server_of(url)
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return DatabaseUnavailable(f"database {_database_of(url)} does not exist on {server}: "
                                   f"{CREATE_HINT}")
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        return DatabaseUnavailable(f"PostgreSQL on {server} refused the connection ({exc}): fix "
                                   "the user or password in [database] url or DATABASE_URL")
    if isinstance(exc, asyncpg.ProtocolViolationError) and "startup parameter" in str(exc):
        # PgBouncer refuses start-up parameters it does not know, e.g. statement_timeout
        return DatabaseUnavailable(f"the server at {server} refused a connection setting "
                                   f"({exc}); it is probably a pooler such as PgBouncer: "
                                   "remove [database] statement_timeout and set it on the role "
                                   "instead (ALTER ROLE ... SET statement_timeout = '5s'), or "
                                   "list the parameter in PgBouncer's ignore_startup_parameters")
    if isinstance(exc, asyncpg.CannotConnectNowError):
        return DatabaseUnavailable(f"PostgreSQL on {server} is starting or shutting down "
                                   f"({exc}): try again in a moment")
    if isinstance(exc, ConnectionRefusedError):
        cause = "connection refused"
    elif isinstance(exc, TimeoutError):
        cause = "timed out"
    elif isinstance(exc, OSError):
        cause = exc.strerror or str(exc) or type(exc).__name__
    else:
        cause = f"{type(exc).__name__}: {exc}"
    return DatabaseUnavailable(f"cannot connect to PostgreSQL at {redact(url)}: {cause}; is the "
                               f"database server running on {server}? Start it (`rum db start` "
                               "starts the project's embedded one) or fix [database] url or "
                               "DATABASE_URL")


def is_connection_error(exc: BaseException) -> bool:
    """True for errors that mean the server is unreachable or went away mid-query."""
    return isinstance(exc, OSError | asyncpg.ConnectionDoesNotExistError
                      | asyncpg.CannotConnectNowError | asyncpg.InvalidCatalogNameError)


def explain_lost_connection(exc: BaseException, url: str) -> DatabaseUnavailable:
    """The error for a query whose connection failed (server down, restarted or dropped)."""
    if isinstance(exc, asyncpg.ConnectionDoesNotExistError):
        return DatabaseUnavailable(f"the connection to PostgreSQL on {server_of(url)} was lost "
                                   f"mid-query ({exc}): is the database server still running?")
    return explain_connect_error(exc, url)

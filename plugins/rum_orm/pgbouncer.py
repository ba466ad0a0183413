"""``PgBouncer``: a throwaway PgBouncer in front of a PostgreSQL server, for tests.

Test support (the ``pgbouncer`` fixture of :mod:`rum_orm.testing` uses it), never imported by
a running app. It writes a configuration into a temporary directory and runs the installed
``pgbouncer`` binary in the foreground on a free port of 127.0.0.1:

- every database of the server is reachable through it (a ``*`` fallback entry), logging in
  as the server URL's user;
- ``pool_mode = transaction`` by default: a client holds a server connection only for the
  length of a transaction, so session state (``SET``, ``LISTEN``, session advisory locks,
  named prepared statements) does not survive between transactions;
- ``auth_type = trust`` with a generated ``userlist.txt`` naming that user;
- ``max_prepared_statements`` is set when the installed version supports it (1.21 and later),
  so asyncpg's named prepared statements work; older versions need
  ``[database] statement_cache_size = 0`` on the app side.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

#: The first PgBouncer release that tracks prepared statements in transaction mode.
PREPARED_STATEMENTS_SINCE = (1, 21)


class PgBouncerUnavailable(RuntimeError):
    """No ``pgbouncer`` binary is installed (tests that need one skip with this message)."""


def pgbouncer_binary() -> str:
    """The path of the ``pgbouncer`` executable; :class:`PgBouncerUnavailable` if none."""
    found = shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if Path(p).exists()), None)
    if found is None:
        raise PgBouncerUnavailable("pgbouncer is not installed (Debian: apt-get install "
                                   "pgbouncer; .ci/run installs it when run as root)")
    return found


def pgbouncer_version(binary: str | None = None) -> tuple[int, int, int]:
    """The installed PgBouncer's version, from ``pgbouncer --version``."""
    out = subprocess.run([binary or pgbouncer_binary(), "--version"], capture_output=True,
                         text=True, timeout=10, check=False).stdout
    match = re.search(r"PgBouncer (\d+)\.(\d+)(?:\.(\d+))?", out)
    if match is None:
        raise PgBouncerUnavailable(f"cannot read the version of pgbouncer from {out!r}")
    return int(match[1]), int(match[2]), int(match[3] or 0)


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise PgBouncerUnavailable("pgbouncer refuses to run as root and neither a postgres nor "
                               "a nobody user exists to run it as")


class PgBouncer:
    """One PgBouncer process in front of the server of ``server_url``.

    ``bouncer = PgBouncer(server_url); bouncer.start()``; ``bouncer.url_for(database_url)``
    is the same database through the pooler; ``bouncer.stop()`` ends it (``start()`` again
    reuses the same port). ``pool_size`` is the number of server connections per
    database/user pair, deliberately small so that clients share them.
    """

    def __init__(self, server_url: str, *, pool_mode: str = "transaction", pool_size: int = 4,
                 host: str = "127.0.0.1", port: int | None = None,
                 max_client_conn: int = 500) -> None:
        self.server_url = server_url
        self.pool_mode = pool_mode
        self.pool_size = pool_size
        self.host = host
        self.port = port or _free_port(host)
        self.max_client_conn = max_client_conn
        self.binary = pgbouncer_binary()
        self.version = pgbouncer_version(self.binary)
        self.dir = Path(tempfile.mkdtemp(prefix="rum-pgbouncer-"))
        self.process: subprocess.Popen[bytes] | None = None
        #: PgBouncer refuses to run as root: then it switches to this user (``postgres`` or
        #: ``nobody``), which owns the directory it writes its log and pid file into.
        self.run_as = _unprivileged_user() if os.geteuid() == 0 else None
        if self.run_as is not None:
            entry = pwd.getpwnam(self.run_as)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)

    @property
    def tracks_prepared_statements(self) -> bool:
        """Whether this version supports ``max_prepared_statements`` (1.21+): asyncpg's
        statement cache then works through it."""
        return self.version[:2] >= PREPARED_STATEMENTS_SINCE

    @property
    def log_path(self) -> Path:
        """Where PgBouncer logs (read it when a test fails)."""
        return self.dir / "pgbouncer.log"

    def config_text(self) -> str:
        """The ``pgbouncer.ini`` this instance runs with."""
        server = urlsplit(self.server_url)
        user = unquote(server.username or "postgres")
        target = [f"host={server.hostname or '127.0.0.1'}", f"port={server.port or 5432}",
                  f"user={user}"]
        if server.password:
            target.append(f"password={unquote(server.password)}")
        lines = [
            "[databases]",
            "* = " + " ".join(target),
            "",
            "[pgbouncer]",
            f"listen_addr = {self.host}",
            f"listen_port = {self.port}",
            "unix_socket_dir =",
            f"logfile = {self.log_path}",
            f"pidfile = {self.dir / 'pgbouncer.pid'}",
            "auth_type = trust",
            f"auth_file = {self.dir / 'userlist.txt'}",
            f"pool_mode = {self.pool_mode}",
            f"default_pool_size = {self.pool_size}",
            "min_pool_size = 0",
            "reserve_pool_size = 0",
            f"max_client_conn = {self.max_client_conn}",
            "server_reset_query =",
            "server_check_delay = 1",
            "ignore_startup_parameters = extra_float_digits",
            "log_connections = 0",
            "log_disconnections = 0",
        ]
        if self.run_as is not None:
            lines.append(f"user = {self.run_as}")
        if self.tracks_prepared_statements:
            lines.append("max_prepared_statements = 200")
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 10.0) -> str:
        """Write the configuration, start PgBouncer and wait until it accepts connections;
        return the URL of the server URL's database through it."""
        if self.process is not None and self.process.poll() is None:
            return self.url_for(self.server_url)
        user = unquote(urlsplit(self.server_url).username or "postgres")
        (self.dir / "userlist.txt").write_text(f'"{user}" ""\n', encoding="utf-8")
        config = self.dir / "pgbouncer.ini"
        config.write_text(self.config_text(), encoding="utf-8")
        for path in (config, self.dir / "userlist.txt"):
            path.chmod(0o644)
        self.process = subprocess.Popen([self.binary, str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                log = self.log_path.read_text() if self.log_path.exists() else ""
                raise RuntimeError(f"pgbouncer exited with {self.process.returncode}: "
                                   f"{log[-2000:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"pgbouncer did not listen on {self.host}:{self.port} "
                                       f"within {timeout}s") from None
                time.sleep(0.05)
        return self.url_for(self.server_url)

    def url_for(self, database_url: str) -> str:
        """``database_url`` (a database of the same server) reached through this PgBouncer."""
        parts = urlsplit(database_url)
        user = quote(unquote(parts.username or "postgres"), safe="")
        netloc = f"{user}@{self.host}:{self.port}"
        return urlunsplit((parts.scheme or "postgresql", netloc, parts.path, parts.query, ""))

    @property
    def running(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Stop PgBouncer (closing every client connection at once)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def close(self) -> None:
        """Stop it and delete its directory."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

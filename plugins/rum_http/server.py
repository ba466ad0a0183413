"""The listening side: bind, accept, one task per connection, graceful shutdown."""

from __future__ import annotations

import errno
import logging
import resource
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

from rum.errors import RumError
from rum_http.connection import Connection
from rum_http.heads import ResponseHeads
from rum_http.readiness import Readiness
from rum_http.readiness import make as make_readiness
from rum_http.settings import ServerSettings

if TYPE_CHECKING:
    from rum.app import App

logger = logging.getLogger("rum.http")

_ACCEPT_RETRY = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
#: seconds between two log lines about the connection limit or a failing accept()
_WARN_EVERY = 10.0


def connection_limit(configured: int = 0) -> int:
    """The connection cap: ``configured`` when positive, else derived from RLIMIT_NOFILE.

    The derived cap is the soft descriptor limit minus a reserve of one eighth of it (at
    least 32, at most half) for everything else the process opens: the listening socket,
    database pools, files, and the short-lived sockets that answer 503 past the cap.
    An unlimited soft limit counts as 65536.
    """
    if configured > 0:
        return configured
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        soft = 1024
    if soft == resource.RLIM_INFINITY or soft <= 0:
        soft = 65536
    reserve = min(max(32, soft // 8), soft // 2)
    return max(1, soft - reserve)


class HTTPServer:
    """Serves one :class:`rum.App` over HTTP/1.1 on one listening socket.

    ``await server.serve()`` runs until :meth:`shutdown` (or SIGINT/SIGTERM when
    ``settings.handle_signals``) and returns once in-flight requests are answered or
    ``settings.shutdown_timeout`` has passed. With ``nursery.start(server.serve)`` the start
    value is the bound port.
    """

    def __init__(self, app: App, settings: ServerSettings) -> None:
        self.app = app
        self.settings = settings
        self.connections: set[Connection] = set()
        self.closing = False
        #: Set when the server starts stopping (:meth:`shutdown`, a signal, or :meth:`serve`
        #: ending): plugins holding long-lived connections (WebSockets) await it to close
        #: them, since a graceful stop waits for every busy connection.
        self.stopping = trio.Event()
        self.port: int | None = None
        #: trio's clock as of the reaper's last tick (connections compute deadlines from it)
        self.now = 0.0
        #: Called with the signal number for each SIGINT/SIGTERM (the worker parent forwards).
        self.on_signal: Callable[[int], None] | None = None
        self._accept_scope: trio.CancelScope | None = None
        self._conn_scope: trio.CancelScope | None = None
        self._drained = trio.Event()
        self._stopped = trio.Event()
        #: builds (and caches for the current second) the heads of the responses sent
        self.heads = ResponseHeads(settings.server_header)
        #: the most client connections served at once; past it new ones get 503
        self.max_connections = connection_limit(settings.max_connections)
        #: accepted connections not closed yet (counted before their task starts)
        self.open_connections = 0
        #: sockets being answered 503 right now, at most ``_max_refusing``
        self._refusing = 0
        self._max_refusing = max(1, min(16, self.max_connections // 8))
        self._warned_at = -_WARN_EVERY
        #: the connections' read readiness (one epoll set; ``None``: they wait through trio)
        self.readiness: Readiness | None = None

    # -- serving ----------------------------------------------------------------------------------

    def bind(self) -> socket.socket:
        """Create, bind and listen on the server socket."""
        settings = self.settings
        try:
            infos = socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
        except socket.gaierror as exc:
            raise RumError(f"cannot resolve [http] host {settings.host!r}: {exc}") from None
        family, type_, proto, _, addr = infos[0]
        sock = socket.socket(family, type_, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if settings.reuse_port or settings.workers > 1:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(addr)
            sock.listen(settings.backlog)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            hint = (" (is another server running there? pick another --port)"
                    if exc.errno == errno.EADDRINUSE else "")
            raise RumError(f"cannot listen on {settings.host}:{settings.port}: "
                           f"{exc.strerror}{hint}") from None
        self.port = sock.getsockname()[1]
        return sock

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until shut down; see the class documentation."""
        sock = self.bind()
        self.now = trio.current_time()
        self.app.extensions["http"] = self
        logger.info("serving on http://%s:%s (at most %d connections)", self.settings.host,
                    self.port, self.max_connections)
        try:
            async with trio.open_nursery() as outer:
                if self.settings.handle_signals:
                    if threading.current_thread() is threading.main_thread():
                        await outer.start(self._watch_signals)
                    else:
                        logger.info("not in the main thread: SIGINT/SIGTERM are not handled; "
                                    "stop the server with app.extensions['http'].shutdown()")
                outer.start_soon(self._reap)
                self.readiness = make_readiness()
                if self.readiness is not None:
                    outer.start_soon(self.readiness.run)
                async with trio.open_nursery() as connections:
                    self._conn_scope = connections.cancel_scope
                    with trio.CancelScope() as accept_scope:
                        self._accept_scope = accept_scope
                        if self.closing:
                            accept_scope.cancel()
                        task_status.started(self.port)
                        await self._accept(sock, connections)
                    self._close_listener(sock)
                    await self._drain()
                    connections.cancel_scope.cancel()
                outer.cancel_scope.cancel()
        finally:
            self.closing = True
            self.stopping.set()
            self._close_listener(sock)
            if self.readiness is not None:
                self.readiness.close()
            self._stopped.set()
            logger.info("server on port %s stopped", self.port)

    @staticmethod
    def _close_listener(sock: socket.socket) -> None:
        if sock.fileno() != -1:
            trio.lowlevel.notify_closing(sock)
            sock.close()

    async def _accept(self, sock: socket.socket, nursery: trio.Nursery) -> None:
        while True:
            try:
                conn, addr = sock.accept()
            except BlockingIOError:
                await trio.lowlevel.wait_readable(sock)
                continue
            except OSError as exc:
                if exc.errno in _ACCEPT_RETRY:
                    # out of descriptors: waiting clients stay in the backlog until some close
                    self._warn(f"accept() failed: {exc.strerror}; retrying every 100 ms "
                               f"({self.open_connections} connections open; lower [http] "
                               "max_connections or raise the descriptor limit)")
                    await trio.sleep(0.1)
                    continue
                if exc.errno in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
                    continue
                raise
            conn.setblocking(False)
            if self.open_connections >= self.max_connections:
                self._refuse(conn, nursery)
                await trio.lowlevel.checkpoint()
                continue
            if conn.family in (socket.AF_INET, socket.AF_INET6):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client = (addr[0], addr[1]) if isinstance(addr, tuple) else None
            self.open_connections += 1
            nursery.start_soon(self._connection, conn, client)
            await trio.lowlevel.checkpoint()

    def _warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            logger.warning(message)

    def _refuse(self, sock: socket.socket, nursery: trio.Nursery) -> None:
        """Past ``max_connections``: answer 503 and close (or just close when many are
        being answered already), so existing connections keep their descriptors."""
        self._warn(f"{self.open_connections} connections open, the [http] max_connections "
                   f"limit of {self.max_connections}: answering new clients 503")
        if self._refusing >= self._max_refusing:
            sock.close()
            return
        self._refusing += 1
        nursery.start_soon(self._send_busy, sock)

    async def _send_busy(self, sock: socket.socket) -> None:
        body = b"Service Unavailable: too many connections, try again shortly\n"
        head = ("HTTP/1.1 503 Service Unavailable\r\n" + self.heads.date_line()
                + "content-type: text/plain; charset=utf-8\r\n"
                f"content-length: {len(body)}\r\nretry-after: 1\r\nconnection: close\r\n\r\n")
        try:
            sock.send(head.encode("latin-1") + body)
            # a lingering close, as for rejected requests: drain what the client sent so
            # closing does not reset the connection before the answer is read
            sock.shutdown(socket.SHUT_WR)
            with trio.move_on_after(0.5):
                drained = 0
                while drained < 65536:
                    await trio.lowlevel.wait_readable(sock)
                    try:
                        data = sock.recv(65536)
                    except BlockingIOError:
                        continue
                    if not data:
                        break
                    drained += len(data)
        except OSError:
            pass
        finally:
            self._refusing -= 1
            trio.lowlevel.notify_closing(sock)
            sock.close()

    async def _connection(self, sock: socket.socket, client: tuple[str, int] | None) -> None:
        try:
            conn = Connection(self, sock, client)
            self.connections.add(conn)
            try:
                await conn.serve()
            except Exception:
                logger.exception("connection from %s failed", conn.client)
            finally:
                self.connections.discard(conn)
                if self.closing and not self.connections:
                    self._drained.set()
        finally:
            self.open_connections -= 1

    async def _reap(self) -> None:
        """Close connections whose deadline has passed: idle (keep_alive_timeout), a request
        not arriving in time, or a client not reading the response (request_timeout without
        progress)."""
        settings = self.settings
        tick = max(0.02, min(0.5, settings.keep_alive_timeout / 4, settings.request_timeout / 4))
        while True:
            await trio.sleep(tick)
            self.now = now = trio.current_time()
            for conn in list(self.connections):
                if (conn.reading or conn.writing) and conn.deadline <= now:
                    conn.timed_out = conn.reading  # a request that did not arrive: 408
                    conn.scope.cancel()

    async def _drain(self) -> None:
        """Close idle connections; give busy ones ``shutdown_timeout`` to finish."""
        for conn in list(self.connections):
            conn.stop_if_idle()
        if not self.connections:
            return
        logger.info("waiting up to %ss for %d open connection(s)",
                    self.settings.shutdown_timeout, len(self.connections))
        with trio.move_on_after(self.settings.shutdown_timeout) as scope:
            while self.connections:
                for conn in list(self.connections):
                    conn.stop_if_idle()
                with trio.move_on_after(0.05):
                    await self._drained.wait()
        if scope.cancelled_caught:
            logger.warning("shutdown timeout: closing %d connection(s) still busy",
                           len(self.connections))

    def shutdown(self) -> None:
        """Stop accepting, finish in-flight requests, close idle connections, then return."""
        if self.closing:
            return
        self.closing = True
        self.stopping.set()
        if self._accept_scope is not None:
            self._accept_scope.cancel()

    def abort(self) -> None:
        """Close every connection now (a second SIGINT)."""
        self.shutdown()
        if self._conn_scope is not None:
            self._conn_scope.cancel()

    async def wait_stopped(self) -> None:
        """Wait until :meth:`serve` has returned."""
        await self._stopped.wait()

    async def _watch_signals(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            task_status.started()
            async for signum in signals:
                if self.on_signal is not None:
                    self.on_signal(signum)
                if not self.closing:
                    logger.info("%s: shutting down gracefully (again to force)",
                                signal.Signals(signum).name)
                    self.shutdown()
                else:
                    logger.warning("%s again: closing every connection now",
                                   signal.Signals(signum).name)
                    self.abort()

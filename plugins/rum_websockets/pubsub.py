"""Publish/subscribe across every process of an app through PostgreSQL LISTEN/NOTIFY.

Each process keeps one ``LISTEN rum_broadcast`` connection (opened by the first subscription)
and fans the notifications out to its local subscribers. ``broadcast()`` sends a NOTIFY, so
every process, this one included, delivers the message the same way. Payloads that do not fit
a NOTIFY (PostgreSQL refuses more than 8000 bytes) are stored in the ``rum_broadcasts`` table
and the notification carries only their id. Without a storage plugin, messages stay in the
process.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import trio

from rum.context import current_app
from rum.errors import RumError

if TYPE_CHECKING:
    from rum.services import AppLike

logger = logging.getLogger("rum.websockets.pubsub")

NOTIFY_CHANNEL = "rum_broadcast"
#: Largest NOTIFY payload sent inline (bytes); larger ones go through the table.
INLINE_LIMIT = 7900
#: Stored payloads older than this many seconds are deleted.
TABLE_RETENTION = 300

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS rum_broadcasts (
    id bigserial PRIMARY KEY,
    payload text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)"""

Message = str | bytes
_UNRESOLVED: Any = object()


class PubSub:
    """The app's broadcast hub (``pubsub_for(app)``); one per :class:`~rum.App`."""

    def __init__(self, app: AppLike, *, buffer: int = 256) -> None:
        self.app = app
        self.buffer = buffer
        self._subscribers: dict[str, set[trio.MemorySendChannel[Message]]] = {}
        #: subscribers that are behind: how many messages each lost since it fell behind
        self._dropped: dict[trio.MemorySendChannel[Message], int] = {}
        self._listening = False
        self._listen_lock = trio.Lock()
        self._table_ready = False
        self._db: Any = _UNRESOLVED
        self._listen_scope: trio.CancelScope | None = None

    def _database(self) -> Any:
        """The app's storage, or ``None`` without one (then messages stay in this process)."""
        if self._db is _UNRESOLVED:
            try:
                self._db = self.app.storage
            except RumError as exc:
                logger.info("broadcasts stay in this process: %s", exc)
                self._db = None
        return self._db

    # -- publishing -----------------------------------------------------------------------------

    async def broadcast(self, channel: str, message: Message | Any, *, conn: Any = None
                        ) -> None:
        """Send ``message`` to every subscriber of ``channel`` in every process of the app.

        ``str`` and ``bytes`` arrive as they were sent; anything else is encoded as JSON text.
        The NOTIFY runs on ``conn`` when given (an ORM connection or transaction: delivered
        when it commits, never if it rolls back), else where the app's queries run now
        (inside the current transaction, if any).
        """
        if not isinstance(message, str | bytes):
            from rum import jsonutil

            message = jsonutil.dumps(message)
        db = self._database()
        if db is None:
            self._deliver(channel, message)
            return
        if isinstance(message, bytes):
            envelope = {"c": channel, "b": base64.b64encode(message).decode("ascii")}
        else:
            envelope = {"c": channel, "s": message}
        payload = json.dumps(envelope, separators=(",", ":"))
        target = db if conn is None else conn
        if len(payload.encode("utf-8")) > INLINE_LIMIT:
            row_id = await self._store(target, payload)
            payload = json.dumps({"id": row_id})
        await target.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, payload)

    async def _store(self, db: Any, payload: str) -> int:
        if not self._table_ready:
            async with db.transaction() as tx:
                await tx.execute("SELECT pg_advisory_xact_lock(hashtext('rum_broadcasts'))")
                await tx.execute(_CREATE_TABLE)
            # inside a caller's transaction the CREATE is undone if it rolls back: check again
            self._table_ready = not _inside_transaction(db)
        await db.execute("DELETE FROM rum_broadcasts WHERE created_at < now() - "
                         f"interval '{TABLE_RETENTION} seconds'")
        return await db.fetchval("INSERT INTO rum_broadcasts (payload) VALUES ($1) RETURNING id",
                                 payload)

    # -- subscribing ----------------------------------------------------------------------------

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[trio.MemoryReceiveChannel[Message]]:
        """``async with hub.subscribe("room") as messages: async for m in messages: ...``

        The subscription is active (this process is listening) when the block starts. A
        subscriber that falls ``buffer`` messages behind loses the newest ones (logged once
        when it falls behind, once with the count when it catches up).
        """
        send, receive = trio.open_memory_channel[Message](self.buffer)
        await self._ensure_listening()
        subscribers = self._subscribers.setdefault(channel, set())
        subscribers.add(send)
        try:
            async with receive:
                yield receive
        finally:
            subscribers.discard(send)
            self._dropped.pop(send, None)
            if not subscribers and self._subscribers.get(channel) is subscribers:
                del self._subscribers[channel]
            send.close()

    def subscriber_count(self, channel: str) -> int:
        """How many subscribers ``channel`` has in this process (for tests and metrics)."""
        return len(self._subscribers.get(channel, ()))

    def _deliver(self, channel: str, message: Message) -> None:
        for send in list(self._subscribers.get(channel, ())):
            try:
                send.send_nowait(message)
            except trio.WouldBlock:
                # one warning when it falls behind (a client that stops reading would
                # otherwise turn every broadcast into a log line), one when it catches up
                lost = self._dropped.get(send, 0)
                if not lost:
                    logger.warning("a subscriber of %r is %d messages behind; dropping what "
                                   "it cannot take until it catches up", channel, self.buffer)
                self._dropped[send] = lost + 1
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._subscribers.get(channel, set()).discard(send)
            else:
                if self._dropped:
                    lost = self._dropped.pop(send, 0)
                    if lost:
                        logger.warning("a subscriber of %r caught up after losing %d "
                                       "messages", channel, lost)

    async def _ensure_listening(self) -> None:
        if self._listening:
            return
        db = self._database()
        if db is None:
            return
        async with self._listen_lock:
            if self._listening:
                return
            nursery = self.app.nursery
            if nursery is None:
                raise RumError("broadcast subscriptions need a running app: use them inside "
                               "`async with app.running()` or a served app")
            await nursery.start(self._listen, db)
            self._listening = True

    async def _listen(self, db: Any, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                      ) -> None:
        started = False
        self._listen_scope = trio.CancelScope()
        with self._listen_scope:
            while True:
                try:
                    async with db.listen(NOTIFY_CHANNEL) as notifications:
                        if not started:
                            task_status.started()
                            started = True
                        async for payload in notifications:
                            await self._on_notification(db, payload)
                except Exception:
                    if not started:
                        raise
                    if not self.app.started:
                        return  # the app is stopping and the pool closed under us
                    logger.exception("LISTEN %s failed; reconnecting in 1 s", NOTIFY_CHANNEL)
                await trio.sleep(1)

    def stop(self) -> None:
        """Stop listening (the app is shutting down)."""
        if self._listen_scope is not None:
            self._listen_scope.cancel()

    async def _on_notification(self, db: Any, payload: str) -> None:
        try:
            envelope = json.loads(payload)
            if "id" in envelope:
                stored = await db.fetchval("SELECT payload FROM rum_broadcasts WHERE id = $1",
                                           envelope["id"])
                if stored is None:
                    logger.warning("broadcast %s expired before it was read", envelope["id"])
                    return
                envelope = json.loads(stored)
            channel = envelope["c"]
            message: Message = (base64.b64decode(envelope["b"]) if "b" in envelope
                                else envelope["s"])
        except Exception:
            logger.exception("ignoring a malformed broadcast notification: %.200r", payload)
            return
        self._deliver(channel, message)


def _inside_transaction(target: Any) -> bool:
    """Whether queries on ``target`` (a database or one of its connections) run in an open
    transaction."""
    current = target.current() if hasattr(target, "current") else target
    return bool(getattr(current, "in_transaction", False))


def pubsub_for(app: AppLike | None = None) -> PubSub:
    """The broadcast hub of ``app`` (default: the current app)."""
    app = app or current_app()
    if app is None:
        raise RumError("no current app: pass app=... (outside a request or app.running())")
    hub = app.extensions.get("pubsub")
    if hub is None:
        hub = app.extensions["pubsub"] = PubSub(app)
    return hub


async def broadcast(channel: str, message: Message | Any, *, app: AppLike | None = None,
                    conn: Any = None) -> None:
    """Send ``message`` to every subscriber of ``channel`` in every process of the app
    (on ``conn``, an ORM connection or transaction, when given: see :meth:`PubSub.broadcast`)."""
    await pubsub_for(app).broadcast(channel, message, conn=conn)


def subscribe(channel: str, *, app: AppLike | None = None
              ) -> Any:
    """``async with subscribe("room") as messages:`` receive what ``broadcast`` sends."""
    return pubsub_for(app).subscribe(channel)

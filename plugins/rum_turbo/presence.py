"""Presence: who is connected to a Turbo stream, across every process and node.

Each node (an app instance) records its stream connections in the UNLOGGED PostgreSQL table
``rum_presence`` (stream, connection id, node, meta, last_seen). While a node has entries,
its heartbeat task refreshes their ``last_seen`` every ``[turbo] presence_heartbeat``
seconds and deletes entries of any node not seen for ``[turbo] presence_ttl`` seconds (a
crashed node), announcing them as leaves. :meth:`Presence.list` never returns an expired
entry, so a killed node's connections disappear from lists at most ``presence_ttl`` seconds
after its last heartbeat.

Joins and leaves are announced on the pub/sub channel ``turbo-presence:<stream>`` (JSON:
``{"event": "join"|"leave", "id", "node", "meta"}``) and, for pages, as a Turbo Stream
``update`` of the element ``presence_<stream>`` with the current list.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio
from markupsafe import Markup

from rum_turbo.channels import CHANNEL_PREFIX, EVENTS_PREFIX
from rum_turbo.streams import stream_tag
from rum_websockets import broadcast

if TYPE_CHECKING:
    from rum.services import AppLike

logger = logging.getLogger("rum.turbo.presence")


_CREATE_TABLE = """
CREATE UNLOGGED TABLE IF NOT EXISTS rum_presence (
    stream text NOT NULL,
    conn_id text NOT NULL,
    node text NOT NULL,
    meta jsonb NOT NULL DEFAULT '{}',
    joined_at timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, conn_id)
)"""


@dataclass(frozen=True)
class PresenceEntry:
    """One connection to a stream: its ``id``, the ``node`` serving it, its ``meta``."""

    id: str
    node: str
    meta: dict[str, Any]


def presence_element_id(stream: str) -> str:
    """The id of the element a page shows a stream's presence list in."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stream)
    return f"presence_{safe}"


def presence_list_html(entries: list[PresenceEntry]) -> Markup:
    """``<li>`` items, one per entry, naming it (``meta["name"]``, else ``guest``)."""
    return Markup("").join(
        Markup('<li data-presence-id="{}">{}</li>').format(e.id, e.meta.get("name") or "guest")
        for e in entries)


class Presence:
    """The presence tracker of one app (``presence_for(app)``): one node."""

    def __init__(self, app: AppLike, *, heartbeat: float = 5.0, ttl: float = 15.0) -> None:
        if ttl <= heartbeat:
            raise ValueError(f"[turbo] presence_ttl ({ttl}) must be longer than "
                             f"presence_heartbeat ({heartbeat})")
        self.app = app
        self.heartbeat = heartbeat
        self.ttl = ttl
        #: this node's id, random per app instance
        self.node = uuid.uuid4().hex[:16]
        self._table_ready = False
        self._beating = False

    @property
    def _db(self) -> Any:
        return self.app.storage

    async def _ensure_table(self) -> None:
        if self._table_ready:
            return
        async with self._db.transaction() as tx:
            await tx.execute("SELECT pg_advisory_xact_lock(hashtext('rum_presence'))")
            await tx.execute(_CREATE_TABLE)
        self._table_ready = True

    async def join(self, stream: str, meta: dict[str, Any] | None = None) -> str:
        """Record a connection to ``stream``; announce it; return its id."""
        await self._ensure_table()
        conn_id = uuid.uuid4().hex
        meta = dict(meta or {})
        await self._db.execute(
            "INSERT INTO rum_presence (stream, conn_id, node, meta) VALUES ($1, $2, $3, $4)",
            stream, conn_id, self.node, json.dumps(meta))
        self._start_heartbeat()
        await self._announce(stream, "join", conn_id, self.node, meta)
        return conn_id

    async def leave(self, stream: str, conn_id: str) -> None:
        """Remove a connection; announce it if it was there."""
        row = await self._db.fetchrow(
            "DELETE FROM rum_presence WHERE stream = $1 AND conn_id = $2 RETURNING node, meta",
            stream, conn_id)
        if row is not None:
            await self._announce(stream, "leave", conn_id, row["node"], _meta(row["meta"]))

    async def list(self, stream: str) -> list[PresenceEntry]:
        """The live connections to ``stream`` on every node, oldest first."""
        await self._ensure_table()
        rows = await self._db.fetch(
            "SELECT conn_id, node, meta FROM rum_presence WHERE stream = $1 AND last_seen > "
            "now() - make_interval(secs => $2) ORDER BY joined_at, conn_id", stream, self.ttl)
        return [PresenceEntry(r["conn_id"], r["node"], _meta(r["meta"])) for r in rows]

    async def beat(self) -> None:
        """One heartbeat: refresh this node's entries, expire other nodes' stale ones."""
        await self._db.execute("UPDATE rum_presence SET last_seen = now() WHERE node = $1",
                               self.node)
        expired = await self._db.fetch(
            "DELETE FROM rum_presence WHERE last_seen < now() - make_interval(secs => $1) "
            "RETURNING stream, conn_id, node, meta", self.ttl)
        for row in expired:
            await self._announce(row["stream"], "leave", row["conn_id"], row["node"],
                                 _meta(row["meta"]))

    def _start_heartbeat(self) -> None:
        nursery = self.app.nursery
        if not self._beating and nursery is not None:
            self._beating = True
            nursery.start_soon(self._heartbeat_loop)

    async def _heartbeat_loop(self) -> None:
        try:
            while True:
                await trio.sleep(self.heartbeat)
                try:
                    await self.beat()
                except Exception:
                    if not self.app.started:
                        return
                    logger.exception("presence heartbeat failed; retrying")
        finally:
            self._beating = False

    async def _announce(self, stream: str, event: str, conn_id: str, node: str,
                        meta: dict[str, Any]) -> None:
        await broadcast(EVENTS_PREFIX + stream,
                        {"event": event, "id": conn_id, "node": node, "meta": meta},
                        app=self.app)
        html = presence_list_html(await self.list(stream))
        await broadcast(CHANNEL_PREFIX + stream,
                        str(stream_tag("update", presence_element_id(stream), html)),
                        app=self.app)


def _meta(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return dict(value or {})


def presence_for(app: AppLike) -> Presence:
    """The app's presence tracker (settings from ``[turbo] presence_heartbeat/_ttl``)."""
    turbo = app.extensions.setdefault("turbo", {})
    presence = turbo.get("presence")
    if presence is None:
        heartbeat = app.config.get_float("turbo", "presence_heartbeat") or 5.0
        ttl = app.config.get_float("turbo", "presence_ttl") or 15.0
        presence = turbo["presence"] = Presence(app, heartbeat=heartbeat, ttl=ttl)
    return presence


def presence_meta(ws: Any) -> dict[str, Any]:
    """What a connection announces about itself: the app's ``presence_meta`` function
    (:func:`set_presence_meta`) or, by default, the signed-in user's ``id`` and ``name``
    (its ``name``, else ``email``), else ``{"name": "guest"}``."""
    custom = ws.request.app.extensions.get("turbo", {}).get("presence_meta")
    if custom is not None:
        return dict(custom(ws))
    user = ws.user
    if user is None:
        return {"name": "guest"}
    name = getattr(user, "name", None) or getattr(user, "email", None) or str(user)
    return {"id": getattr(user, "id", None), "name": str(name)}


def set_presence_meta(app: AppLike, function: Any) -> None:
    """Make ``function(ws) -> dict`` say what each connection announces (must be
    JSON-serialisable; ``name`` is what the default list shows)."""
    app.extensions.setdefault("turbo", {})["presence_meta"] = function

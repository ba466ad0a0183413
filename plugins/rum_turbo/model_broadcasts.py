"""Model-driven broadcasts: a model declares ``broadcasts`` and its writes reach open pages.

::

    class Order(Model):
        broadcasts = broadcasts_refreshes("orders")          # pages refresh (morph)
        # or: broadcasts = broadcasts_to("orders")           # append / replace / remove

The ORM reports every ``save()``, ``delete()`` and ``create()`` to its change listeners
(:func:`rum_orm.on_change`) on the connection the statement ran on. The listener here sends
the Turbo Stream with ``pg_notify`` on that connection, so inside a transaction PostgreSQL
delivers it when the transaction commits and drops it when it rolls back; outside one it is
sent right after the statement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from rum.context import current_app, current_request
from rum_turbo.channels import CHANNEL_PREFIX, REFRESH_PREFIX
from rum_turbo.streams import stream_tag
from rum_websockets import broadcast

if TYPE_CHECKING:
    from rum_orm import Change

CREATE_ACTIONS = ("append", "prepend")
UPDATE_ACTIONS = ("replace", "update")

StreamName = str | Callable[[Any], str]
Partial = str | Callable[[Any], Any]


@dataclass(frozen=True)
class Broadcasts:
    """What a model broadcasts on create, update and delete (assign it to ``broadcasts``).

    - ``stream``: the stream name, or a function of the record (``lambda o:
      f"user:{o.user_id}:orders"``); default: the model's table name.
    - ``refresh=True``: every change sends one ``refresh`` action (debounced per stream);
      the other options are then unused.
    - ``create``: ``"append"`` (default), ``"prepend"`` or ``None`` — the record's partial
      added inside ``target`` (default: the table name, e.g. ``<ul id="orders">``).
    - ``update``: ``"replace"`` (default), ``"update"`` or ``None`` — on the element whose id
      is :func:`dom_id` of the record (``order_12``).
    - ``delete``: ``"remove"`` (default) or ``None``.
    - ``partial``: a template name (default ``<table>/_<model>.html``, rendered with the
      record as ``<model>`` and ``record``) or a function returning the markup.
    """

    stream: StreamName | None = None
    refresh: bool = False
    create: str | None = "append"
    update: str | None = "replace"
    delete: str | None = "remove"
    target: str | None = None
    partial: Partial | None = None

    def __post_init__(self) -> None:
        for name, allowed in (("create", CREATE_ACTIONS), ("update", UPDATE_ACTIONS),
                              ("delete", ("remove",))):
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise ValueError(f"Broadcasts({name}={value!r}): use one of "
                                 f"{', '.join(map(repr, allowed))} or None")

    def stream_for(self, record: Any) -> str:
        """The stream name for ``record``."""
        if self.stream is None:
            return str(type(record).__table__)
        return self.stream(record) if callable(self.stream) else self.stream

    def partial_for(self, record: Any) -> Markup:
        """The record's markup: the partial function's result, or the template rendered."""
        if callable(self.partial):
            return Markup(self.partial(record))
        from rum_orm import snake_case

        name = snake_case(type(record).__name__)
        template = self.partial or f"{type(record).__table__}/_{name}.html"
        app = current_app()
        templates = app.extensions.get("templates") if app is not None else None
        if templates is None:
            raise RuntimeError(f"{type(record).__name__}.broadcasts renders {template!r} but "
                               "the templates plugin is not enabled: enable it or give "
                               "Broadcasts(partial=lambda record: Markup(...))")
        return Markup(templates.render(template, {name: record, "record": record}))

    def actions_for(self, record: Any, action: str) -> Markup | None:
        """The Turbo Stream markup for a ``create``/``update``/``delete`` of ``record``
        (``None``: nothing to send; refreshes are not built here)."""
        if action == "create" and self.create:
            target = self.target or str(type(record).__table__)
            return stream_tag(self.create, target, self.partial_for(record))
        if action == "update" and self.update:
            return stream_tag(self.update, dom_id(record), self.partial_for(record))
        if action == "delete" and self.delete:
            return stream_tag("remove", dom_id(record))
        return None


def broadcasts_refreshes(stream: StreamName | None = None) -> Broadcasts:
    """Every change of the model makes pages on ``stream`` refresh (Turbo 8 morphing)."""
    return Broadcasts(stream, refresh=True)


def broadcasts_to(stream: StreamName | None = None, *, create: str | None = "append",
                  update: str | None = "replace", delete: str | None = "remove",
                  target: str | None = None, partial: Partial | None = None) -> Broadcasts:
    """Creates append (or prepend) the record's partial to ``target``, updates replace its
    element, deletes remove it — on ``stream`` (default: the table name)."""
    return Broadcasts(stream, create=create, update=update, delete=delete, target=target,
                      partial=partial)


def dom_id(record: Any, prefix: str | None = None) -> str:
    """The element id of ``record`` in pages: ``order_12`` (``new_order`` before it is
    saved); ``prefix`` gives ``edit_order_12``."""
    from rum_orm import snake_case

    name = snake_case(type(record).__name__)
    pk = getattr(record, type(record).__primary_key__, None)
    base = f"new_{name}" if pk is None else f"{name}_{pk}"
    return f"{prefix}_{base}" if prefix else base


def turbo_request_id() -> str | None:
    """The ``X-Turbo-Request-Id`` of the request being served (Turbo 8 sends it with each
    fetch; a page ignores a ``refresh`` carrying one of its own recent request ids)."""
    request = current_request()
    if request is None:
        return None
    return request.headers.get("x-turbo-request-id") or None


async def broadcast_refresh(name: str, *, request_id: str | None = None, app: Any = None,
                            conn: Any = None) -> None:
    """Ask every page on stream ``name`` to refresh, debounced per stream on each node.

    ``request_id`` defaults to the current request's Turbo request id. ``conn``: send on this
    ORM connection or transaction (delivered when it commits).
    """
    if request_id is None:
        request_id = turbo_request_id()
    await broadcast(REFRESH_PREFIX + name, {"request_id": request_id},
                    app=app or current_app(), conn=conn)


async def broadcast_model_change(change: Change) -> None:
    """The ORM change listener: send what the model's ``broadcasts`` asks for."""
    spec = getattr(change.model, "broadcasts", None)
    if not isinstance(spec, Broadcasts):
        return
    app = current_app()
    if app is None or "turbo" not in app.extensions:
        return  # no app with the turbo plugin around this write (a script, a migration)
    stream = spec.stream_for(change.record)
    if spec.refresh:
        await broadcast_refresh(stream, app=app, conn=change.conn)
        return
    markup = spec.actions_for(change.record, change.action)
    if markup is not None:
        await broadcast(CHANNEL_PREFIX + stream, str(markup), app=app, conn=change.conn)

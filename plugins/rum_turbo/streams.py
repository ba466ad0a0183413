"""Turbo Stream and Turbo Frame markup, and responses carrying Turbo Streams."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from markupsafe import Markup, escape

from rum import Response

#: The media type of Turbo Stream responses (what Turbo's form submissions accept).
TURBO_STREAM_MIME = "text/vnd.turbo-stream.html"
#: The actions Turbo understands.
ACTIONS = ("append", "prepend", "replace", "update", "remove", "before", "after", "refresh")


def _attrs(**attrs: Any) -> str:
    parts = []
    for name, value in attrs.items():
        if value is None or value is False:
            continue
        name = name.rstrip("_").replace("_", "-")
        parts.append(f" {name}" if value is True else f' {name}="{escape(str(value))}"')
    return "".join(parts)


def stream_tag(action: str, target: str | None = None, content: Any = "", *,
               targets: str | None = None, **attrs: Any) -> Markup:
    """One ``<turbo-stream>`` element.

    ``target`` is an element id, ``targets`` a CSS selector (give one of them, except for
    ``refresh``). ``content`` goes inside the ``<template>``: a ``Markup`` (or anything with
    ``__html__``, such as a rendered template) is inserted as is; a plain ``str`` is escaped,
    so user data never becomes markup by accident.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown Turbo Stream action {action!r}; known: {', '.join(ACTIONS)}")
    if action != "refresh" and (target is None) == (targets is None):
        raise ValueError(f"turbo_stream.{action}() needs exactly one of target (an element "
                         "id) or targets (a CSS selector)")
    opening = f"<turbo-stream{_attrs(action=action, target=target, targets=targets, **attrs)}>"
    if action in ("remove", "refresh"):
        return Markup(f"{opening}</turbo-stream>")
    return Markup(f"{opening}<template>{escape(content)}</template></turbo-stream>")


class TurboStream:
    """Turbo Stream actions, built by chaining, sent with :meth:`response`::

        return TurboStream().append("messages", html).update("count", "3").response()

    The same methods exist on the :data:`turbo_stream` helper, which returns the markup of a
    single action (handy in templates and for :func:`~rum_turbo.broadcast_stream`). The
    issue asked for ``Response.turbo_stream(...)``; the kernel's ``Response`` stays free of
    plugin knowledge, so the builder lives here and :func:`turbo_stream_response` is the
    one-call form.
    """

    def __init__(self, *actions: Any) -> None:
        self.actions: list[Markup] = [escape(a) for a in actions]  # Markup passes as is

    def _add(self, action: str, target: str | None, content: Any = "",
             targets: str | None = None, **attrs: Any) -> TurboStream:
        self.actions.append(stream_tag(action, target, content, targets=targets, **attrs))
        return self

    def append(self, target: str | None = None, content: Any = "", *,
               targets: str | None = None) -> TurboStream:
        """Append ``content`` inside the target."""
        return self._add("append", target, content, targets)

    def prepend(self, target: str | None = None, content: Any = "", *,
                targets: str | None = None) -> TurboStream:
        """Prepend ``content`` inside the target."""
        return self._add("prepend", target, content, targets)

    def replace(self, target: str | None = None, content: Any = "", *,
                targets: str | None = None) -> TurboStream:
        """Replace the target element with ``content``."""
        return self._add("replace", target, content, targets)

    def update(self, target: str | None = None, content: Any = "", *,
               targets: str | None = None) -> TurboStream:
        """Replace the target's children with ``content``."""
        return self._add("update", target, content, targets)

    def remove(self, target: str | None = None, *, targets: str | None = None) -> TurboStream:
        """Remove the target element."""
        return self._add("remove", target, "", targets)

    def before(self, target: str | None = None, content: Any = "", *,
               targets: str | None = None) -> TurboStream:
        """Insert ``content`` before the target element."""
        return self._add("before", target, content, targets)

    def after(self, target: str | None = None, content: Any = "", *,
              targets: str | None = None) -> TurboStream:
        """Insert ``content`` after the target element."""
        return self._add("after", target, content, targets)

    def refresh(self, request_id: str | None = None) -> TurboStream:
        """Ask the page to refresh itself (Turbo 8 morphing)."""
        return self._add("refresh", None, "", None, request_id=request_id)

    def __html__(self) -> str:
        return "".join(self.actions)

    def __str__(self) -> str:
        return self.__html__()

    def __len__(self) -> int:
        return len(self.actions)

    def response(self, status: int = 200, **kwargs: Any) -> Response:
        """A response with these actions and content type ``text/vnd.turbo-stream.html``."""
        return Response(self.__html__(), status,
                        content_type=f"{TURBO_STREAM_MIME}; charset=utf-8", **kwargs)


class _StreamTags:
    """``turbo_stream.append("list", html)`` etc.: the markup of one action."""

    def __getattr__(self, action: str) -> Any:
        if action not in ACTIONS:
            raise AttributeError(f"turbo_stream has no action {action!r}; known: "
                                 f"{', '.join(ACTIONS)}")

        def tag(target: str | None = None, content: Any = "", *, targets: str | None = None,
                **attrs: Any) -> Markup:
            return stream_tag(action, target, content, targets=targets, **attrs)

        tag.__name__ = action
        return tag


#: ``turbo_stream.append(target, html)``, ``.prepend``, ``.replace``, ``.update``,
#: ``.remove(target)``, ``.before``, ``.after``, ``.refresh()``: one ``<turbo-stream>`` tag.
turbo_stream = _StreamTags()


def turbo_stream_response(*actions: Any, status: int = 200, **kwargs: Any) -> Response:
    """A Turbo Stream response from action markup: ``turbo_stream_response(
    turbo_stream.append("list", html), turbo_stream.remove("empty"))``."""
    return TurboStream(*_flatten(actions)).response(status, **kwargs)


def _flatten(actions: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for action in actions:
        if isinstance(action, TurboStream):
            out.extend(action.actions)
        else:
            out.append(action)
    return out


def turbo_frame(id: str, content: Any = "", *, src: str | None = None,
                loading: str | None = None, target: str | None = None,
                **attrs: Any) -> Markup:
    """A ``<turbo-frame id=...>`` around ``content`` (escaped unless ``Markup``).

    ``src`` loads the frame from a URL (``loading="lazy"`` waits until it is visible);
    ``target="_top"`` makes links inside navigate the whole page.
    """
    return Markup(f"<turbo-frame{_attrs(id=id, src=src, loading=loading, target=target, **attrs)}"
                  f">{escape(content)}</turbo-frame>")

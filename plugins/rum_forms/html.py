"""Small HTML pieces for the form helpers: escaped attributes and tags as ``Markup``."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup, escape

_ATTR_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_:.-]*")


def attr_name(key: str) -> str:
    """A keyword argument as an attribute name: ``aria_label`` → ``aria-label``, ``class_``
    → ``class``. Names that are not plain attribute names are refused."""
    name = key.rstrip("_").replace("_", "-")
    if not _ATTR_NAME.fullmatch(name):
        raise ValueError(f"{key!r} is not an HTML attribute name")
    return name


def attributes(attrs: Mapping[str, Any]) -> Markup:
    """`` name="value"`` pairs, escaped. ``None``/``False`` leave the attribute out, ``True``
    writes it bare (``required``); ``data: {turbo_frame: "x"}`` → `` data-turbo-frame="x"``."""
    parts: list[str] = []
    for key, value in attrs.items():
        name = attr_name(key)
        if isinstance(value, Mapping) and name in ("data", "aria"):
            parts.append(attributes({f"{name}-{k}": v for k, v in value.items()}).lstrip())
            continue
        if value is None or value is False:
            continue
        if value is True:
            parts.append(name)
        else:
            parts.append(f'{name}="{escape(str(value))}"')
    return Markup(" " + " ".join(parts) if parts else "")


def tag(name: str, attrs: Mapping[str, Any], content: Any = None) -> Markup:
    """``<name attrs>`` (void) or ``<name attrs>content</name>``; ``content`` is escaped
    unless it is markup."""
    head = Markup(f"<{name}{attributes(attrs)}>")
    if content is None:
        return head
    return head + escape(content) + Markup(f"</{name}>")


class Html:
    """Markup that is also a function: ``<%= f.error_summary %>`` prints it with defaults,
    ``<%= f.error_summary(title: "...") %>`` calls it with arguments."""

    __slots__ = ("_make",)

    def __init__(self, make: Callable[..., Markup]) -> None:
        self._make = make

    def __call__(self, *args: Any, **kwargs: Any) -> Markup:
        return self._make(*args, **kwargs)

    def __html__(self) -> str:
        return str(self._make())

    def __str__(self) -> str:
        return str(self._make())

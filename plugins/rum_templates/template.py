"""``Template``: the seed's API, ``Template.from_str(src)`` and ``await Template.cached(path)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from rum.context import current_app, current_request
from rum_templates.engine import Templates


def engine() -> Templates:
    """The engine of the app serving the current request (or running the current task), else
    a standalone one rooted in the current directory.

    The standalone engine (no app running) does not cache: each call compiles afresh.
    """
    request = current_request()
    app = request.app if request is not None and request.app is not None else current_app()
    if app is not None:
        found = app.extensions.get("templates")
        if isinstance(found, Templates):
            return found
    return Templates([Path.cwd() / "templates"], root=Path.cwd(), cache=False)


class Template:
    """A compiled template.

    ``Template.from_str(source)`` compiles Rum syntax (``native=True``: Jinja2 syntax);
    ``await Template.cached("templates/index.html")`` loads a file relative to the app's root
    (else the current directory), compiled once in production and recompiled on change in
    development. ``render(context)`` accepts a dict, a dataclass or any object with attributes,
    plus keyword arguments.
    """

    __slots__ = ("_engine", "_template", "name")

    def __init__(self, template: jinja2.Template, engine: Templates, name: str) -> None:
        self._template = template
        self._engine = engine
        self.name = name

    @classmethod
    def from_str(cls, source: str, *, name: str = "<string>", native: bool = False) -> Template:
        """Compile ``source``. ``name`` appears in errors; its extension decides escaping
        (``"mail.txt"`` is not HTML-escaped; the default name is)."""
        eng = engine()
        return cls(eng.from_string(source, name, native=native), eng, name)

    @classmethod
    async def cached(cls, path: str | Path) -> Template:
        """The template at ``path`` (relative to the app root), from the app's cache."""
        eng = engine()
        name = eng.name_for_path(path)
        return cls(eng.get(name), eng, name)

    def render(self, context: Any = None, /, **kwargs: Any) -> str:
        """Render with ``context`` (and ``kwargs``, which win) to a string."""
        if kwargs:
            merged = dict(context if isinstance(context, dict) else
                          ({} if context is None else _mapping(context)))
            merged.update(kwargs)
            context = merged
        return self._engine.render_template(self._template, context)

    def __repr__(self) -> str:
        return f"<Template {self.name!r}>"


def _mapping(context: Any) -> Any:
    from rum_templates.engine import as_mapping

    return as_mapping(context)

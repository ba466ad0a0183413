"""The per-app template engine: lookup, caching, context building, rendering, error mapping."""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
from collections import ChainMap
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from rum.context import current_request
from rum.errors import HTTPError, RumError
from rum.response import Response
from rum_templates.environment import (
    RumLoader,
    TemplateNotFoundError,
    autoescape_for,
    content_type_for,
    make_environment,
)
from rum_templates.environment import nil_as_empty as _nil_as_empty
from rum_templates.errors import (
    TemplateError,
    TemplateNotFound,
    TemplateRenderError,
    TemplateSyntaxError,
)
from rum_templates.methods import HELPERS
from rum_templates.translator import SEMANTICS, Translation, translate

if TYPE_CHECKING:
    from rum.app import App

_UNDEFINED_NAME = re.compile(r"^'([A-Za-z_][A-Za-z0-9_]*)' is undefined$")


class Templates:
    """Renders an app's templates; lives in ``app.extensions["templates"]``.

    ``dirs`` are searched in order, then ``root`` (so paths like ``"templates/index.html"``
    work too). With ``cache`` compiled templates stay in memory; without it a template is
    recompiled whenever its file (or a file it includes) changed.
    """

    def __init__(self, dirs: list[Path], *, root: Path | None = None, cache: bool = False,
                 trim: bool = True, nil_as_empty: bool = False, semantics: str = "ruby",
                 app: App | None = None) -> None:
        if semantics not in SEMANTICS:
            raise RumError(f"[templates] semantics must be one of "
                           f"{', '.join(map(repr, SEMANTICS))}, got {semantics!r}")
        self.app = app
        self.dirs = [Path(d).resolve() for d in dirs]
        self.root = Path(root).resolve() if root is not None else Path.cwd()
        self.cache = cache
        self.trim = trim
        self.semantics = semantics
        self._names: dict[str, str] = {}
        self._columns: dict[str, dict[int, list[int]]] = {}
        self.loader = RumLoader(self.dirs, fallback=self.root, trim=trim, semantics=semantics,
                                on_load=self._loaded)
        # Under Ruby semantics nil already prints as nothing (rum_print); no finalize needed.
        options: dict[str, Any] = \
            {"finalize": _nil_as_empty} if nil_as_empty and semantics == "python" else {}
        self.env = make_environment(self.loader, cache=cache, **options)
        # Jinja2 asks for the escaping mode of every render (EvalContext): answer from a dict.
        self._escaping: dict[str | None, bool] = {}
        self._content_types: dict[str, str] = {}
        self.env.autoescape = self._autoescape
        self.env.globals["url_for"] = app.url_for if app is not None else _no_url_for
        self.env.globals.update(HELPERS)
        self._compiled: dict[str, jinja2.Template] = {}
        self._hooks = self._global_hooks() if app is not None else []
        on_change = getattr(getattr(app, "plugins", None), "on_change", None)
        if on_change is not None:  # a plugin registered later contributes its globals too
            on_change(self._rebind_hooks)

    @classmethod
    def for_app(cls, app: App) -> Templates:
        """The engine configured by ``app``'s ``[templates]`` and ``[general]`` settings."""
        config = app.config
        dirs = [config.get_path("templates", "path", "templates")]
        dirs += [(config.root / p).resolve() for p in config.get_list("templates", "extra_paths")]
        cache = config.get("templates", "cache")
        if cache is None:
            cache = not config.is_development
        return cls([d for d in dirs if d is not None], root=config.root, cache=bool(cache),
                   trim=config.get_bool("templates", "trim_code_lines", True),
                   nil_as_empty=config.get_bool("templates", "nil_as_empty", False),
                   semantics=config.get_str("templates", "semantics", "ruby") or "ruby",
                   app=app)

    # -- lookup ---------------------------------------------------------------------------------

    def _loaded(self, filename: str, name: str, columns: dict[int, list[int]]) -> None:
        self._names[filename] = name
        self._columns[filename] = columns

    def _autoescape(self, name: str | None) -> bool:
        escaping = self._escaping.get(name)
        if escaping is None:
            escaping = self._escaping[name] = autoescape_for(name)
        return escaping

    def content_type(self, name: str) -> str:
        """The ``Content-Type`` of template ``name``'s output (by its extension)."""
        found = self._content_types.get(name)
        if found is None:
            found = self._content_types[name] = content_type_for(name)
        return found

    def get(self, name: str) -> jinja2.Template:
        """The compiled template ``name`` (cached, or recompiled if changed, by the settings)."""
        template = self._compiled.get(name)
        if template is not None:
            return template
        try:
            template = self.env.get_template(name)
        except TemplateNotFoundError as exc:
            raise TemplateNotFound(exc.message or f"template {name!r} not found",
                                   name) from None
        except jinja2.TemplateNotFound:
            raise TemplateNotFound(f"invalid template name {name!r}: use a path relative to "
                                   f"the template directory, without '..'", name) from None
        except jinja2.TemplateSyntaxError as exc:
            raise self._syntax_error(exc) from None
        if self.cache:
            self._compiled[name] = template
        return template

    def name_for_path(self, path: str | Path) -> str:
        """The template name of a file path (relative to the project root, or absolute)."""
        full = (self.root / path).resolve()
        for directory in self.dirs:
            if full.is_relative_to(directory):
                return full.relative_to(directory).as_posix()
        if full.is_relative_to(self.root):
            return full.relative_to(self.root).as_posix()
        raise TemplateNotFound(f"template file {str(full)!r} is outside the project root "
                               f"{str(self.root)!r} and the template directories", str(path))

    def translate(self, source: str, name: str = "<string>") -> Translation:
        """Rum ``source`` translated to Jinja2 with this engine's settings (trimming,
        semantics)."""
        return translate(source, name, trim=self.trim, semantics=self.semantics)

    def from_string(self, source: str, name: str = "<string>", *,
                    native: bool = False) -> jinja2.Template:
        """Compile template ``source`` (Rum syntax unless ``native``)."""
        columns: dict[int, list[int]] = {}
        if not native:
            translation = self.translate(source, name)
            source, columns = translation.source, translation.columns
        self._loaded(name, name, columns)
        try:
            code = self.env.compile(source, name, name)
        except jinja2.TemplateSyntaxError as exc:
            raise self._syntax_error(exc) from None
        template = self.env.template_class.from_code(self.env, code,
                                                     self.env.make_globals(None))
        template._rum_columns = columns  # type: ignore[attr-defined]  # many share "<string>"
        return template

    # -- rendering ------------------------------------------------------------------------------

    def variables(self, context: Any) -> dict[str, Any]:
        """The names a template sees: ``request``, plugin globals, then ``context``."""
        request = current_request()
        names: dict[str, Any] = {"request": request}
        for fn in self._hooks:
            result = fn(app=self.app, request=request)
            if result:
                names.update(result)
        if context:
            names.update(context if type(context) is dict else as_mapping(context))
        return names

    def _rebind_hooks(self) -> None:
        self._hooks = self._global_hooks()

    def _global_hooks(self) -> list[Any]:
        assert self.app is not None
        for impl in self.app.plugins.hook.rum_template_globals.get_hookimpls():
            if inspect.iscoroutinefunction(impl.function):
                raise RumError(f"rum_template_globals in {impl.function.__module__} is async; "
                               "it runs on every render and must be a plain function")
        # Merged in registration order (the reverse of calling order), so later plugins win.
        return self.app.plugins.bind("rum_template_globals", reverse=True)

    def render_template(self, template: jinja2.Template, context: Any = None) -> str:
        """Render a compiled template; errors name the template, line and column."""
        variables = self.variables(context)
        try:
            return self._render(template, variables)
        except (TemplateError, HTTPError):
            raise
        except jinja2.TemplateSyntaxError as exc:
            raise self._syntax_error(exc) from None
        except TemplateNotFoundError as exc:
            raise self._runtime_error(exc, template, variables) from None
        except Exception as exc:
            raise self._runtime_error(exc, template, variables) from exc

    def _render(self, template: jinja2.Template, variables: dict[str, Any]) -> str:
        """``template.render(variables)``, with the render context built from a copy of the
        environment's globals (a C-level dict copy) when the template has no globals of its
        own. Jinja2 would read them through the template's ``ChainMap`` in Python, twice per
        render (~15k instructions)."""
        env = self.env
        own = template.globals
        if env.is_async or type(own) is not ChainMap or len(own.maps) != 2 or own.maps[0] \
                or own.maps[1] is not env.globals:
            return template.render(variables)
        parent = env.globals.copy()
        parent.update(variables)
        # Context(globals=None): its globals_keys only matter to templates with own globals
        ctx = env.context_class(env, parent, template.name, template.blocks)
        try:
            return env.concat(template.root_render_func(ctx))  # type: ignore[attr-defined]
        except Exception:
            env.handle_exception()  # as Template.render: raises with the template's lines

    def render(self, name: str, context: Any = None) -> str:
        """Render template ``name`` with ``context`` (dict, dataclass or object) to a string."""
        return self.render_template(self.get(name), context)

    async def render_response(self, name: str, context: Any = None) -> Response:
        """Render ``name`` into a :class:`~rum.Response` whose content type follows the
        extension (``.html`` -> ``text/html``, ``.css``, ``.js``, ``.json``, ``.txt``...)."""
        template = self._compiled.get(name) or self.get(name)
        body = self.render_template(template, context)
        return Response(body, content_type=self.content_type(name))

    # -- errors ---------------------------------------------------------------------------------

    def _syntax_error(self, exc: jinja2.TemplateSyntaxError) -> TemplateSyntaxError:
        name = exc.name or self._names.get(exc.filename or "", exc.filename or "<string>")
        column = self._column(exc.filename or name, exc.lineno)
        return TemplateSyntaxError(exc.message or str(exc), name, exc.lineno, column)

    def _column(self, filename: str, line: int | None) -> int | None:
        if line is None:
            return None
        cols = self._columns.get(filename, {}).get(line, [])
        return cols[0] if len(cols) == 1 else None

    def _runtime_error(self, exc: Exception, template: jinja2.Template,
                       variables: Mapping[str, Any]) -> TemplateRenderError:
        filename, line = template.filename or template.name or "<string>", None
        tb = exc.__traceback__
        while tb is not None:
            if "__jinja_exception__" in tb.tb_frame.f_globals:
                filename, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
            tb = tb.tb_next
        name = self._names.get(filename, template.name or filename)
        message = exc.message if isinstance(exc, jinja2.TemplateError) and exc.message \
            else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, jinja2.UndefinedError):
            m = _UNDEFINED_NAME.match(message)
            if m:
                close = difflib.get_close_matches(m.group(1), list(variables), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                message += (f"; {hint}pass it in the render context "
                            f"(known names: {', '.join(sorted(variables))})")
        own = getattr(template, "_rum_columns", None)
        if own is not None and filename == template.filename and line is not None:
            cols = own.get(line, [])
            column = cols[0] if len(cols) == 1 else None
        else:
            column = self._column(filename, line)
        return TemplateRenderError(message, name, line, column)


def as_mapping(context: Any) -> Mapping[str, Any]:
    """A render context as a mapping: dicts as they are, dataclasses by field, other objects
    by their public attributes (properties included)."""
    if isinstance(context, Mapping):
        return context
    if dataclasses.is_dataclass(context) and not isinstance(context, type):
        return {f.name: getattr(context, f.name) for f in dataclasses.fields(context)}
    out: dict[str, Any] = {}
    for attr in dir(context):
        if attr.startswith("_"):
            continue
        try:
            out[attr] = getattr(context, attr)
        except Exception:
            continue
    return out


def _no_url_for(name: str, **params: Any) -> str:
    raise RumError(f"url_for({name!r}) needs an app: render inside a Rum app")

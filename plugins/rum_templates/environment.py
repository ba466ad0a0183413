"""The Jinja2 side: the loader that translates Rum files, escaping rules, undefined values."""

from __future__ import annotations

import difflib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jinja2
from jinja2.loaders import split_template_path

from rum_templates.codegen import RumCodeGenerator
from rum_templates.methods import METHODS
from rum_templates.translator import translate

#: Suffixes of native Jinja2 templates (rendered as they are, not translated).
NATIVE_SUFFIXES = (".jinja", ".j2", ".jinja2")
#: Output extensions whose ``<%= %>`` is HTML-escaped.
ESCAPED_EXTENSIONS = frozenset({"html", "htm", "xhtml", "xml", "svg", ""})

#: After this long, a file's timestamp is trusted to reveal later edits.
_SETTLED_NS = 2_000_000_000

CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "htm": "text/html; charset=utf-8",
    "": "text/html; charset=utf-8",
    "xhtml": "application/xhtml+xml; charset=utf-8",
    "xml": "application/xml; charset=utf-8",
    "svg": "image/svg+xml; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "mjs": "text/javascript; charset=utf-8",
    "json": "application/json",
    "txt": "text/plain; charset=utf-8",
    "text": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
}


def is_native(name: str) -> bool:
    """Whether ``name`` is a native Jinja2 template (``*.jinja``, ``*.j2``, ``*.jinja2``)."""
    return name.endswith(NATIVE_SUFFIXES)


def output_extension(name: str | None) -> str:
    """The extension of what ``name`` renders: ``page.html.j2`` -> ``html``; none -> ``""``."""
    if not name or name.startswith("<"):
        return ""
    for suffix in NATIVE_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[1].lower() if "." in base else ""


def autoescape_for(name: str | None) -> bool:
    """HTML escaping applies to HTML-like output (and to templates without an extension)."""
    return output_extension(name) in ESCAPED_EXTENSIONS


def content_type_for(name: str) -> str:
    """The ``Content-Type`` of a rendered template, by its output extension."""
    return CONTENT_TYPES.get(output_extension(name), "text/plain; charset=utf-8")


class RumUndefined(jinja2.Undefined):
    """A missing name or attribute: false in ``if``, an error when printed or iterated.

    The error suggests a close Rum method (``.upcse`` -> ``.upcase``) or attribute.
    """

    __slots__ = ()

    __str__ = jinja2.Undefined._fail_with_undefined_error
    __iter__ = jinja2.Undefined._fail_with_undefined_error
    __len__ = jinja2.Undefined._fail_with_undefined_error
    __contains__ = jinja2.Undefined._fail_with_undefined_error

    @property
    def _undefined_message(self) -> str:
        message = super()._undefined_message
        name = self._undefined_name
        if self._undefined_hint is not None or not isinstance(name, str):
            return message
        if self._undefined_obj is jinja2.utils.missing:
            return message
        attrs = [a for a in dir(self._undefined_obj) if not a.startswith("_")]
        close = difflib.get_close_matches(name, [*METHODS, *attrs], n=1, cutoff=0.7)
        if close:
            kind = "the Rum method" if close[0] in METHODS and close[0] not in attrs else \
                "the attribute"
            message += f"; did you mean {kind} `.{close[0]}`?"
        return message


class TemplateNotFoundError(jinja2.TemplateNotFound):
    """Jinja2's not-found error with the directories searched and a close name."""


class RumLoader(jinja2.BaseLoader):
    """Finds templates in ``dirs`` (first match wins), then under ``fallback`` (the project
    root, so ``Template.cached("templates/index.html")`` works), and translates Rum ones.

    Native Jinja2 files are returned as they are. ``on_translate(filename, name, columns)``
    records each translation's tag columns for error messages. The up-to-date check compares
    the file's size and modification time, and its bytes while the file is fresh, so an edit is
    seen even within the file system's timestamp granularity.
    """

    def __init__(self, dirs: Sequence[Path], *, fallback: Path | None = None,
                 trim: bool = True, semantics: str = "ruby",
                 on_load: Callable[[str, str, dict[int, list[int]]], None] | None = None) -> None:
        self.dirs = [Path(d) for d in dirs]
        self.fallback = fallback
        self.trim = trim
        self.semantics = semantics
        self.on_load = on_load

    def find(self, name: str) -> Path:
        """The file for template ``name``; raise :class:`TemplateNotFoundError`."""
        pieces = split_template_path(name)
        search = [*self.dirs, self.fallback] if self.fallback is not None else self.dirs
        for directory in search:
            path = directory.joinpath(*pieces)
            if path.is_file():
                return path
        raise TemplateNotFoundError(name, self._not_found_message(name))

    def _not_found_message(self, name: str) -> str:
        known = self.list_templates()
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        where = ", ".join(str(d) for d in self.dirs) or "(no template directories)"
        return (f"template {name!r} not found in {where}{hint} (template directories come "
                f"from [templates] path and extra_paths in Rum.toml)")

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        """Jinja2 loader protocol: (translated source, filename, up-to-date check)."""
        path = self.find(template)
        stat = path.stat()  # before reading: an edit in between shows as a newer signature
        data = path.read_bytes()
        text = data.decode("utf-8")
        filename = str(path)
        columns: dict[int, list[int]] = {}
        if not is_native(template):
            translation = translate(text, template, trim=self.trim, semantics=self.semantics)
            text, columns = translation.source, translation.columns
        if self.on_load is not None:
            self.on_load(filename, template, columns)

        signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        # A file modified just before it was read may be edited again within the same
        # timestamp tick (coarse file system clocks) at the same size: for such files compare
        # the bytes too. An older file's next edit always gets a newer timestamp.
        fresh = time.time_ns() - stat.st_mtime_ns < _SETTLED_NS

        def uptodate() -> bool:
            try:
                now = path.stat()
                if (now.st_mtime_ns, now.st_size, now.st_ino) != signature:
                    return False
                return not fresh or path.read_bytes() == data
            except OSError:
                return False

        return text, filename, uptodate

    def list_templates(self) -> list[str]:
        """Every template name under the template directories."""
        found: set[str] = set()
        for directory in self.dirs:
            if not directory.is_dir():
                continue
            for base, _dirs, files in os.walk(directory):
                rel = Path(base).relative_to(directory)
                for file in files:
                    found.add((rel / file).as_posix().removeprefix("./"))
        return sorted(found)


def make_environment(loader: jinja2.BaseLoader, *, cache: bool,
                     env_class: type[jinja2.Environment] = jinja2.Environment,
                     **options: Any) -> jinja2.Environment:
    """A Jinja2 environment for Rum: autoescape by extension, strict undefined values, loop
    controls, trailing newlines kept, Rum's code generator (inline ``rum_print``, blocks as
    lambdas); compiled templates cached (``cache``) or reloaded when their file changes."""
    from rum_templates.methods import FILTERS

    env = env_class(
        loader=loader,
        autoescape=autoescape_for,
        undefined=RumUndefined,
        auto_reload=not cache,
        cache_size=-1 if cache else 400,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.loopcontrols"],
        **options,
    )
    env.code_generator_class = RumCodeGenerator
    env.filters.update(FILTERS)
    return env


def nil_as_empty(value: Any) -> Any:
    """``finalize`` for ``[templates] nil_as_empty`` (Python semantics): print ``None`` as
    nothing."""
    return "" if value is None else value

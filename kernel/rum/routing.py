"""Paths with typed parameters, matched to controllers; 404 and 405 with helpful messages."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from rum.config import close_match
from rum.errors import MethodNotAllowed, NotFound

if TYPE_CHECKING:
    from rum.auth import Authentication
    from rum.middleware import Middleware
    from rum.request import Request
    from rum.response import Response


class Handler(Protocol):
    """What a route binds a path to: a :class:`~rum.Controller`, or anything that answers."""

    async def handle(self, request: Request) -> Response:
        """Answer one request."""

    def allowed_methods(self) -> frozenset[str]:
        """The HTTP methods it answers (when the route does not name them)."""


@dataclass(frozen=True)
class Converter:
    """How one ``<kind:name>`` path parameter is matched (``regex``) and typed (``convert``)."""

    regex: str
    convert: Callable[[str], Any]
    format: Callable[[Any], str] = str


CONVERTERS: dict[str, Converter] = {
    "str": Converter(r"[^/]+", str),
    "int": Converter(r"-?[0-9]+", int),
    "float": Converter(r"-?[0-9]+(?:\.[0-9]+)?", float),
    "uuid": Converter(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                      r"[0-9a-fA-F]{12}", uuid.UUID),
    "slug": Converter(r"[-a-zA-Z0-9_]+", str),
    "path": Converter(r".*", str),
}

_PARAM = re.compile(r"<(?:(?P<kind>[a-z]+):)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)>")


@dataclass
class Route:
    """One path bound to one controller.

    ``methods`` limits the HTTP methods (``None``: what the controller implements);
    ``name`` lets :meth:`Router.url_for` build its URL. ``auth`` and ``middleware`` are taken
    from the controller once, when the route is made. ``api`` marks an API route (``None``:
    the controller's ``api`` attribute): its errors are always problem+json, and the sessions
    plugin gives it no cookie of its own (see ``docs/errors.md``).
    """

    path: str
    controller: Handler
    methods: frozenset[str] | None = None
    name: str | None = None
    auth: Authentication | str | None = None
    middleware: list[Middleware] = field(default_factory=list)
    regex: re.Pattern[str] | None = field(default=None, repr=False)
    converters: dict[str, Converter] = field(default_factory=dict, repr=False)
    api: bool | None = None

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"route path {self.path!r} must start with '/'")
        if self.api is None:
            self.api = bool(getattr(self.controller, "api", False))
        if self.methods is None:
            self.methods = self.controller.allowed_methods()
        self.methods = frozenset(m.upper() for m in self.methods)
        if "GET" in self.methods:
            self.methods |= {"HEAD"}
        if _PARAM.search(self.path):
            self.regex, self.converters = _compile(self.path)

    @property
    def is_static(self) -> bool:
        """True when the path has no parameters (matched by a dict lookup)."""
        return self.regex is None

    def match(self, path: str) -> dict[str, Any] | None:
        """The typed parameters if ``path`` matches this route, else ``None``."""
        if self.regex is None:
            return {} if path == self.path else None
        m = self.regex.fullmatch(path)
        if m is None:
            return None
        try:
            return {k: self.converters[k].convert(v) for k, v in m.groupdict().items()}
        except ValueError:
            return None

    def url(self, **params: Any) -> str:
        """This route's path with ``params`` filled in."""
        def fill(m: re.Match[str]) -> str:
            name = m.group("name")
            if name not in params:
                raise KeyError(f"route {self.path!r} needs parameter {name!r}")
            conv = CONVERTERS[m.group("kind") or "str"]
            return conv.format(params[name])

        return _PARAM.sub(fill, self.path)


def _compile(path: str) -> tuple[re.Pattern[str], dict[str, Converter]]:
    pattern, pos, converters = "", 0, {}
    for m in _PARAM.finditer(path):
        kind = m.group("kind") or "str"
        if kind not in CONVERTERS:
            hint = close_match(kind, CONVERTERS, "; did you mean {!r}?")
            raise ValueError(f"unknown path parameter type {kind!r} in route {path!r}{hint} "
                             f"(known: {', '.join(CONVERTERS)})")
        name = m.group("name")
        if name in converters:
            raise ValueError(f"parameter {name!r} appears twice in route {path!r}")
        converters[name] = CONVERTERS[kind]
        pattern += re.escape(path[pos:m.start()]) + f"(?P<{name}>{CONVERTERS[kind].regex})"
        pos = m.end()
    pattern += re.escape(path[pos:])
    return re.compile(pattern), converters


class Router:
    """Finds the route for a method and path.

    Static paths are a dictionary lookup; paths with parameters are tried in the order they
    were added. A path that matches but not for the method raises
    :class:`~rum.errors.MethodNotAllowed` (405 with ``Allow``); no match raises
    :class:`~rum.errors.NotFound`, whose message suggests the closest known path.
    """

    def __init__(self, routes: Iterable[Route] = ()) -> None:
        self.routes: list[Route] = []
        self._static: dict[str, list[Route]] = {}
        self._dynamic: list[Route] = []
        self._names: dict[str, Route] = {}
        for route in routes:
            self.add(route)

    def add(self, route: Route) -> None:
        """Register ``route``; a second route with the same name is an error."""
        if route.name:
            if route.name in self._names:
                raise ValueError(f"two routes are named {route.name!r}: "
                                 f"{self._names[route.name].path!r} and {route.path!r}")
            self._names[route.name] = route
        self.routes.append(route)
        if route.is_static:
            self._static.setdefault(route.path, []).append(route)
        else:
            self._dynamic.append(route)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, Any]]:
        """Return ``(route, params)`` or raise NotFound / MethodNotAllowed."""
        candidates = self._static.get(path)
        api = False  # whether a route at this path is an API route (for the 405's format)
        if candidates is not None:
            for route in candidates:
                if method in route.methods:  # type: ignore[operator]
                    return route, {}
            allowed = {m for r in candidates for m in r.methods}  # type: ignore[union-attr]
            api = any(r.api for r in candidates)
        else:
            allowed = set()
        for route in self._dynamic:
            params = route.match(path)
            if params is not None:
                if method in route.methods:  # type: ignore[operator]
                    return route, params
                allowed |= route.methods  # type: ignore[arg-type]
                api = api or bool(route.api)
        if allowed:
            raise MethodNotAllowed(method, sorted(allowed), api=api)
        raise NotFound(self._not_found_message(path))

    def _not_found_message(self, path: str) -> str:
        # Compare with each route's path with its parameters filled from the request, so that
        # "/userz/1" is close to "/users/<int:id>".
        parts = path.split("/")
        filled: dict[str, str] = {}
        for route in self.routes:
            tmpl = route.path.split("/")
            if len(tmpl) == len(parts):
                candidate = "/".join(p if _PARAM.search(t) else t for t, p in zip(tmpl, parts,
                                                                                   strict=True))
            else:
                candidate = route.path
            filled.setdefault(candidate, route.path)
        close = close_match(path, filled, "{}", cutoff=0.75)
        hint = f"; did you mean {filled[close]}?" if close else ""
        return f"no route matches {path}{hint}"

    def url_for(self, name: str, **params: Any) -> str:
        """The path of the route called ``name`` with ``params`` filled in."""
        try:
            route = self._names[name]
        except KeyError:
            hint = close_match(name, self._names, "; did you mean {!r}?")
            raise KeyError(f"no route is named {name!r}{hint}") from None
        return route.url(**params)

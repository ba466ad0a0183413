"""The HTTP request as plain data: the server plugin fills it in, controllers read it."""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from time import perf_counter
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, unquote

from rum import jsonutil
from rum.errors import BadRequest, RumError, UnsupportedMediaType
from rum.formdata import URLENCODED, FormData, QueryParams, parse_urlencoded
from rum.headers import Headers
from rum.negotiation import prefers_json

if TYPE_CHECKING:
    from collections.abc import Generator

    from rum.formdata import Files
    from rum.services import AppLike

__all__ = ["BodyParser", "BodyStream", "FormData", "LazyUser", "QueryParams", "Request",
           "current_request"]

#: media types the kernel does not parse, and the bundled plugin that does
_PARSER_PLUGINS = {"multipart/form-data": "forms"}
#: what a plugin registers through ``rum_body_parsers``: ``await parser(request)``; a parser
#: reads ``await request.read_body()`` or streams ``request.stream()`` (a server may hand it
#: the body still on the socket when the parser has ``streams_body = True``)
BodyParser = Callable[["Request"], Awaitable[FormData]]
#: the request the current task is handling; set by ``App.handle``
_current: ContextVar[Request | None] = ContextVar("rum_request", default=None)


class BodyStream(Protocol):
    """A request body still on the socket, as a server hands it to :class:`Request`.

    Read once, by one task at a time; each method raises an :class:`~rum.errors.HTTPError`
    (400 for a malformed or cut-off body, 413 over the server's limit).
    """

    async def receive(self) -> bytes:
        """The next chunk of the body as it arrives (a bounded size), ``b""`` at its end."""
        ...  # pragma: no cover

    async def read(self) -> bytes:
        """The rest of the body, buffered, under the server's body size limit."""
        ...  # pragma: no cover


class LazyUser:
    """An answer of :func:`rum.hookspecs.rum_authenticate` worked out only when needed.

    ``LazyUser(resolve)``: the kernel calls ``resolve(request)`` the first time
    ``request.user`` is read (by a controller, an authentication handler, a template), never
    for a request that does not read it; ``resolve`` is a plain function (it cannot await)
    returning the user or ``None``. Return one from ``rum_authenticate`` when finding the
    user costs something a request may not need (the sessions plugin reads the session
    cookie only then). Implementations called after a ``LazyUser`` answer still run, at
    once; the first other answer is what ``request.user`` becomes when ``resolve`` gives
    ``None``. One instance may serve every request (it holds no request).
    """

    __slots__ = ("resolve",)

    def __init__(self, resolve: Callable[[Request], Any]) -> None:
        self.resolve = resolve

    def __repr__(self) -> str:
        return f"LazyUser({self.resolve!r})"


#: where a lazy attribute's value is kept on a request (``_lazy_<name>``)
_LAZY_PREFIX = "_lazy_"
#: an escape inside a quoted cookie value: ``\ooo`` (octal), or a backslash and any character
_COOKIE_ESCAPES = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))")


def _cookie_escape(match: re.Match[str]) -> str:
    octal, char = match.groups()
    return chr(int(octal, 8)) if octal else char


def _unquote_cookie(inner: str) -> str:
    """A quoted cookie value's text: ``\\ooo`` (octal) and ``\\c`` escapes resolved, in one
    linear pass (``http.cookies`` before Python 3.11.10/3.12.6 took time quadratic in the
    backslashes: CVE-2024-7592)."""
    return _COOKIE_ESCAPES.sub(_cookie_escape, inner) if "\\" in inner else inner


_UNSET: Any = object()
#: lazy attribute name -> where its value is kept (``_lazy_<name>``)
_LAZY_SLOTS: dict[str, str] = {}


class _LazyAttribute:
    """The descriptor behind :meth:`Request.add_lazy_attribute`: a data descriptor (so reads
    always come here) keeping the value in the request's ``_lazy_<name>`` attribute."""

    __slots__ = ("load", "name", "slot")

    def __init__(self, name: str, load: Callable[[Request], Any]) -> None:
        self.name = name
        self.slot = _LAZY_PREFIX + name
        self.load = load

    def __get__(self, request: Request | None, owner: type | None = None) -> Any:
        if request is None:
            return self
        value = getattr(request, self.slot)  # the class holds _UNSET until it is set
        if value is _UNSET:
            value = self.load(request)
            setattr(request, self.slot, value)
        return value

    def __set__(self, request: Request, value: Any) -> None:
        setattr(request, self.slot, value)


@functools.lru_cache(maxsize=4096)
def _ipv6_network(host: str) -> str:
    try:
        address = ipaddress.IPv6Address(host.split("%", 1)[0])
    except ValueError:
        return host
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))


def current_request() -> Request | None:
    """The request the current task is handling, or ``None`` outside a request."""
    return _current.get()


class Request:
    """An HTTP request.

    Attributes set by the server: ``method`` (upper case), ``path`` (percent-decoded),
    ``query_string``, ``headers`` (:class:`~rum.Headers`), ``body`` (bytes, already limited
    to ``[http] max_body_size``; a body the server left on the socket for a streaming parser,
    ``body_stream``, is read by ``await request.read_body()`` or ``request.stream()``),
    ``client`` (``(host, port)`` or ``None``), ``scheme``, ``http_version``; ``started``
    is ``time.perf_counter()`` when the request was made. The kernel adds ``app``,
    ``path_params`` (typed values captured by the route), ``route``, ``id`` (the request id
    used in logs) and ``user`` (see
    :func:`rum.hookspecs.rum_authenticate`). Plugins add their own attributes, e.g.
    ``session``; ``state`` is a free namespace for per-request data.
    """

    session: Any = None
    # ``user`` is a property (see below); these are its values until set per request
    _user: Any = None
    #: ``(LazyUser, fallback)`` while a lazy answer of rum_authenticate waits to be read
    _user_lazy: tuple[LazyUser, Any] | None = None

    def __init__(
        self,
        method: str,
        path: str,
        query_string: str = "",
        headers: Headers | dict[str, str] | list[tuple[str, str]] | None = None,
        body: bytes = b"",
        *,
        client: tuple[str, int] | None = None,
        scheme: str = "http",
        http_version: str = "1.1",
        app: AppLike | None = None,
        raw_path: str | None = None,
        body_stream: BodyStream | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.raw_path = raw_path if raw_path is not None else path
        self.query_string = query_string
        # ``type() is`` first: isinstance() on an ABC subclass goes through ABCMeta (hot path)
        self.headers = (headers if type(headers) is Headers or isinstance(headers, Headers)
                        else Headers(headers))
        self._body = body
        #: the body still to be read from the client (``None``: ``body`` holds all of it)
        self._stream = body_stream
        self.client = client
        self.scheme = scheme
        self.http_version = http_version
        self.app = app
        self.path_params: dict[str, Any] = {}
        self.route: Any = None
        self.id: str = ""
        self._query: QueryParams | None = None
        self._cookies: dict[str, str] | None = None
        self._state: SimpleNamespace | None = None
        self._form: FormData | None = None
        #: ``time.perf_counter()`` when the request was made (the server makes it once the
        #: head is parsed): what plugins time a request from (metrics, the admin dashboards)
        self.started = perf_counter()

    @classmethod
    def from_target(cls, method: str, target: str, **kwargs: Any) -> Request:
        """Build a request from a raw request target such as ``/users/1?page=2``."""
        raw_path, _, query = target.partition("?")
        return cls(method, unquote(raw_path), query, raw_path=raw_path, **kwargs)

    # -- attributes plugins add, read on first use ---------------------------------------------

    @classmethod
    def add_lazy_attribute(cls, name: str, load: Callable[[Request], Any]) -> None:
        """Give every request an attribute ``name`` worked out by ``load(request)`` on its
        first read, then kept; assigning it sets the value outright.

        For per-request state that costs something many requests never need (the sessions
        plugin's ``request.session``: a request that does not read it opens no cookie).
        ``load`` is a plain function (reads cannot await); it serves every app in the process,
        so it finds its app through ``request.app`` and answers ``None`` where its plugin is
        not enabled. :meth:`loaded` tells whether a request's value was worked out. Adding
        the same name again replaces ``load``; a name the class already uses for something
        else than a ``None`` placeholder (``session``) is refused.
        """
        current = cls.__dict__.get(name, _UNSET)
        placeholder = current is None or isinstance(current, _LazyAttribute)
        taken = name in dir(cls) or name in vars(cls("GET", "/"))  # methods, fields
        if not name.isidentifier() or name.startswith("_") or (taken and not placeholder):
            raise RumError(f"cannot add a lazy attribute {name!r} to rum.Request: "
                           + ("it already has one of that name" if taken else
                              "the name must be a public identifier")
                           + "; choose another name")
        attribute = _LazyAttribute(name, load)
        setattr(cls, attribute.slot, _UNSET)
        setattr(cls, name, attribute)
        _LAZY_SLOTS[name] = attribute.slot

    def loaded(self, name: str) -> bool:
        """True when the lazy attribute ``name`` (:meth:`add_lazy_attribute`) was read or
        assigned on this request, without reading it."""
        slot = _LAZY_SLOTS.get(name)
        return slot is not None and getattr(self, slot) is not _UNSET

    # -- who sent it ----------------------------------------------------------------------------

    @property
    def user(self) -> Any:
        """Who sent the request: what :func:`rum.hookspecs.rum_authenticate` answered
        (``None`` for nobody). A :class:`rum.auth.LazyUser` answer is resolved here, on the
        first read; assigning sets the user outright (``request.login`` does)."""
        lazy = self._user_lazy
        if lazy is not None:
            self._user_lazy = None
            user = lazy[0].resolve(self)
            if user is None:
                user = lazy[1]
                if isinstance(user, LazyUser):
                    user = user.resolve(self)
            self._user = user
        return self._user

    @user.setter
    def user(self, value: Any) -> None:
        self._user_lazy = None
        self._user = value

    def defer_user(self, lazy: LazyUser, fallback: Any = None) -> None:
        """Let ``request.user`` be ``lazy.resolve(request)``, or ``fallback`` (a user, or
        another :class:`~rum.auth.LazyUser`) when that is ``None``, worked out on its first
        read: what the kernel does with a lazy ``rum_authenticate`` answer (setting the same
        fields itself, without this call), for code that builds requests on its own."""
        self._user_lazy = (lazy, fallback)

    # -- derived values (parsed lazily, once) ---------------------------------------------------

    @property
    def query(self) -> QueryParams:
        """Parsed query string; ``request.query.getall("tag")`` for repeated keys."""
        if self._query is None:
            self._query = QueryParams(parse_qsl(self.query_string, keep_blank_values=True))
        return self._query

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies sent by the client. A malformed ``Cookie`` header yields what parses."""
        if self._cookies is None:
            jar: dict[str, str] = {}
            for header in self.headers.getall("cookie"):
                for part in header.split(";"):
                    name, sep, value = part.strip().partition("=")
                    if not sep or not name:
                        continue
                    if value.startswith('"') and value.endswith('"') and len(value) > 1:
                        value = _unquote_cookie(value[1:-1])
                    jar.setdefault(name, value)
            self._cookies = jar
        return self._cookies

    @property
    def state(self) -> SimpleNamespace:
        """A free namespace for per-request data shared by middleware and the controller."""
        if self._state is None:
            self._state = SimpleNamespace()
        return self._state

    _trailers: Headers | None = None

    @property
    def trailers(self) -> Headers:
        """Trailer fields of a chunked body (:class:`~rum.Headers`, empty when none).

        The server fills them in once the body is read; they are never merged into
        ``headers``, so a trailer cannot pose as a header such as ``Authorization``.
        """
        if self._trailers is None:
            self._trailers = Headers()
        return self._trailers

    @trailers.setter
    def trailers(self, value: Headers) -> None:
        self._trailers = value

    @property
    def content_type(self) -> str:
        """The media type of the body, without parameters, lower case (``""`` when absent)."""
        return (self.headers.get("content-type") or "").split(";", 1)[0].strip().lower()

    @property
    def client_network(self) -> str:
        """Who the request is counted as where clients are counted (rate limits, log-in
        throttles): the client's IP address; an IPv6 address stands for its /64 (one
        subscriber's network, in which a client may pick any of 2**64 addresses) and an
        IPv4-mapped one for its IPv4 form; ``"unknown"`` without a client address."""
        if not self.client:
            return "unknown"
        host = self.client[0]
        return _ipv6_network(host) if ":" in host else host

    @property
    def host(self) -> str:
        """The ``Host`` header (``""`` when absent)."""
        return self.headers.get("host") or ""

    @property
    def url(self) -> str:
        """The full URL the client asked for."""
        q = f"?{self.query_string}" if self.query_string else ""
        return f"{self.scheme}://{self.host}{self.raw_path}{q}"

    def accepts(self, media_type: str) -> bool:
        """True if the ``Accept`` header names ``media_type`` (or its ``type/*``)."""
        accept = self.headers.get("accept") or ""
        major = media_type.split("/", 1)[0]
        return media_type in accept or f"{major}/*" in accept

    @property
    def wants_json(self) -> bool:
        """True when the client prefers JSON over HTML (:func:`rum.negotiation.prefers_json`)."""
        return prefers_json(self.headers.get("accept"), self.content_type)

    # -- the body -------------------------------------------------------------------------------

    @property
    def body(self) -> bytes:
        """The whole body. A body still on the socket (:attr:`body_pending`) must be read
        first: reading ``body`` then raises :class:`~rum.errors.UnsupportedMediaType` (a 415
        saying to ``await request.read_body()``)."""
        if self._stream is not None:
            if self._stream is _CONSUMED:
                raise RumError("the request body was consumed by request.stream() (or a "
                               "read_body() that failed); no copy is kept")
            # a 415, not a 500: only a form body a streaming parser handles is left unread,
            # so code reading it synchronously did not expect this media type
            raise UnsupportedMediaType(
                f"the {self.content_type or 'request'} body is streamed from the client and "
                "not read yet: `await request.read_body()` reads it (or `await "
                "request.form()` parses it)")
        return self._body

    @body.setter
    def body(self, value: bytes) -> None:
        self._body = value
        self._stream = None

    @property
    def body_pending(self) -> bool:
        """True while the body is still on the socket (only a streaming server leaves it)."""
        return self._stream is not None

    async def read_body(self) -> bytes:
        """The whole body: reads the rest from the client if the server streams it (under
        ``[http] max_body_size``), then :attr:`body` holds it."""
        if self._stream is not None:
            stream = self._stream
            self._stream = _CONSUMED
            self._body = await stream.read()
            self._stream = None
        return self.body

    async def stream(self) -> AsyncIterator[bytes]:
        """The body chunk by chunk as it arrives: ``async for chunk in request.stream():``.

        A body the server left on the socket streams once and is not kept (:attr:`body` is
        ``b""`` afterwards); a buffered body comes as one chunk and stays in :attr:`body`.
        """
        stream = self._stream
        if stream is _CONSUMED:
            raise RumError("request.stream() reads the body once: it was already streamed")
        if stream is None:
            if self._body:
                yield self._body
            return
        self._stream = _CONSUMED
        while chunk := await stream.receive():
            yield chunk
        self._stream, self._body = None, b""

    # -- body decoding --------------------------------------------------------------------------

    def text(self) -> str:
        """The body decoded as UTF-8; a body that is not UTF-8 is a 400."""
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest(f"request body is not valid UTF-8: {exc}") from None

    def json(self) -> Any:
        """The body parsed as JSON; invalid JSON is a 400 saying where it broke."""
        try:
            return jsonutil.loads(self.body)
        except jsonutil.JSONLimitError as exc:
            raise BadRequest(f"invalid JSON body: {exc.msg}") from None
        except json.JSONDecodeError as exc:
            raise BadRequest(f"invalid JSON body: {exc.msg} at line {exc.lineno} "
                             f"column {exc.colno}") from None
        except UnicodeDecodeError as exc:
            raise BadRequest(f"request body is not valid UTF-8: {exc}") from None

    def form(self) -> Awaitable[FormData]:
        """Parse the form body (once): ``form = await request.form()``.

        Returns a :class:`~rum.formdata.FormData`: the text fields (``form["title"]``,
        ``form.getall("tag")``) and ``form.files`` (uploads by field name). The kernel parses
        ``application/x-www-form-urlencoded`` (and a body without a content type); other media
        types go to the parser a plugin registered through ``rum_body_parsers`` (the ``forms``
        plugin parses ``multipart/form-data``), else 415. Malformed bodies are a 400, bodies
        over a configured limit a 413 or 400 naming the setting; parsing large bodies happens
        off the event loop.
        """
        return _PendingForm(self)

    async def _read_form(self) -> FormData:
        if self._form is None:
            ctype = self.content_type or URLENCODED
            parsers = getattr(self.app, "body_parsers", None) or {}
            parser = parsers.get(ctype)
            if parser is not None:
                form = await parser(self)
            elif ctype == URLENCODED:
                form = await parse_urlencoded(await self.read_body())
            elif ctype in _PARSER_PLUGINS:
                where = self.app.config.describe_file() if self.app is not None else "Rum.toml"
                raise UnsupportedMediaType(
                    f"{ctype} bodies are parsed by the {_PARSER_PLUGINS[ctype]!r} plugin, which "
                    f"is not enabled: add \"{_PARSER_PLUGINS[ctype]}\" to [plugins] enabled in "
                    f"{where}")
            else:
                raise UnsupportedMediaType(f"expected a form body, got content type {ctype!r}")
            self._form = form
        return self._form

    @property
    def parsed_form(self) -> FormData | None:
        """The form if :meth:`form` has already parsed it, else ``None`` (never parses)."""
        return self._form

    @property
    def files(self) -> Files:
        """Uploaded files by field name, once ``await request.form()`` has parsed the body."""
        if self._form is None:
            raise RumError("request.files is filled by `await request.form()`: await it first "
                           "(or use `(await request.form()).files`)")
        return self._form.files

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.raw_path}>"


class _Consumed:
    """The body stream of a request whose body was streamed (or is being read) already."""

    async def receive(self) -> bytes:
        raise RumError("the request body was already consumed by request.stream() (or a "
                       "read_body() that failed): it can be read once")

    read = receive


_CONSUMED = _Consumed()


class _PendingForm:
    """What :meth:`Request.form` returns: awaitable, with a clear error for sync use."""

    __slots__ = ("_request",)

    def __init__(self, request: Request) -> None:
        self._request = request

    def __await__(self) -> Generator[Any, None, FormData]:
        return self._request._read_form().__await__()

    def _sync_use(self, *args: Any) -> Any:
        raise TypeError("request.form() must be awaited: write `form = await request.form()` "
                        "(form parsing runs off the event loop)")

    __getitem__ = __contains__ = __iter__ = __len__ = _sync_use
    get = getall = keys = values = items = _sync_use

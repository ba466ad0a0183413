"""The application: plugins + configuration + router, and the request dispatch path."""

from __future__ import annotations

import itertools
import logging
import os
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from types import CoroutineType
from typing import TYPE_CHECKING, Any, cast

import trio

from rum import coreplugin, hookspecs
from rum import request as _request
from rum.auth import Authentication, LazyUser
from rum.config import Config
from rum.errorpage import error_response
from rum.errors import ConfigError, HTTPError, RumError
from rum.log import _request_id
from rum.middleware import Middleware, run_middleware
from rum.plugins import Plugins, awaitable
from rum.routing import Route, Router
from rum.tally import RequestTally

if TYPE_CHECKING:
    from rum.request import Request
    from rum.response import Response
    from rum.services import JobBackend, Storage
    from rum.testing.client import TestClient

logger = logging.getLogger("rum.app")
_NOT_SET: Any = object()
#: the app of the current task; set by ``app.running()`` and while ``app.handle`` answers
_current: ContextVar[App | None] = ContextVar("rum_app", default=None)


def current_app() -> App | None:
    """The :class:`~rum.App` of the current task (set by ``app.running()`` and ``app.handle``)."""
    return _current.get()


#: A client's ``X-Request-Id`` is used as it is when it matches this (what load balancers and
#: tracing systems send); otherwise it is cleaned (:func:`_clean_request_id`).
_SAFE_REQUEST_ID = re.compile(r"[\w\-.@:/+=]{1,200}", re.ASCII).fullmatch


def _clean_request_id(rid: str) -> str:
    """A client's request id kept to what logs and error pages show safely: letters, digits
    and ``_-.@:/+=``, at most 200 of them (``""`` when nothing is left: one is made)."""
    return re.sub(r"[^\w\-.@:/+=]", "", rid, flags=re.ASCII)[:200]


class App:
    """A Rum application.

    ``App(routes=[Index.route("/")])`` loads ``Rum.toml`` from ``root`` (default: the current
    directory), the plugins it enables, and builds the router from ``routes`` plus what plugins
    contribute. Then:

    - ``await app.serve()`` serves it over HTTP (needs the ``http`` plugin);
    - ``async with app.running():`` starts plugins (pools, workers) without a server, for
      embedding Rum in another trio program;
    - ``app.test_client()`` answers requests in-process, for tests.

    ``plugins`` lists entry-point names and/or plugin objects to load in addition to
    ``[plugins] enabled``; with neither, every installed plugin is loaded. ``config`` values
    override the files and environment.
    """

    def __init__(
        self,
        routes: Iterable[Route] = (),
        *,
        plugins: Iterable[str | object] | None = None,
        config: Config | Mapping[str, Mapping[str, Any]] | None = None,
        root: str | Path | None = None,
        env: str | None = None,
        middleware: Sequence[Middleware] = (),
    ) -> None:
        if isinstance(config, Config):
            self.config = config
        else:
            self.config = Config.load(root, env=env, overrides=config)
        self.root = self.config.root
        self.extensions: dict[str, Any] = {}
        self._storage: Any = _NOT_SET  # services are asked for lazily, on first use
        self._jobs: Any = _NOT_SET
        self.plugins = Plugins(hookspecs)
        self.plugins.register(coreplugin, "rum")
        self.plugins.load(self.config, plugins)
        schema: dict[str, dict[str, Any]] = {}
        for part in self.plugins.call("rum_config_schema"):
            for section, keys in part.items():
                schema.setdefault(section, {}).update(keys)
        self.config.validate(schema, self.plugins.disabled_sections)
        self.debug = self.config.get("general", "debug")
        if self.debug is None:
            self.debug = self.config.env == "development"
        self.plugins.call("rum_configure", config=self.config, app=self)

        self.auth_handlers: dict[str, Any] = self.plugins.call_merged("rum_auth_handlers",
                                                                      app=self)
        self.router = Router()
        for route in [*routes, *self.plugins.call_list("rum_routes", app=self)]:
            if isinstance(route.auth, str):
                route.auth = self.auth_handler(route.auth)
            self.router.add(route)
        self.middleware: list[Middleware] = [
            *middleware, *self.plugins.call_list("rum_middleware", app=self)]
        #: media type -> async body parser behind ``await request.form()`` (rum_body_parsers)
        self.body_parsers: dict[str, Any] = self.plugins.call_merged("rum_body_parsers",
                                                                     app=self)

        #: every answered request, in batches for the ``rum_request_observer`` observers
        self.tally = RequestTally()
        self._bind_hooks()
        self.plugins.on_change(self._bind_hooks)
        self._ids = itertools.count(1)
        self._id_prefix = f"{os.getpid():x}-"
        self.nursery: trio.Nursery | None = None
        self.started = False

    def _bind_hooks(self) -> None:
        """(Re)bind the per-request hooks; also run whenever plugins register or unregister.
        Each is a new list, so a request already iterating one finishes with what it began."""
        self._request_hooks = self.plugins.bind("rum_request", positional=True)
        self._auth_hooks = self.plugins.bind("rum_authenticate", positional=True)
        self._response_hooks = self.plugins.bind("rum_response", reverse=True,
                                                 positional=True)
        tally = self.tally
        tally.flush()  # what was noted goes to the observers it was noted for
        tally.observers = [observe for observe in
                           self.plugins.call("rum_request_observer", app=self)
                           if observe is not None]
        self._note = tally.note if tally.observers else None

    # -- plugin-provided services ---------------------------------------------------------------

    @property
    def storage(self) -> Storage:
        """The database a plugin provides through ``rum_storage`` (the ORM's pool)."""
        if self._storage is _NOT_SET:
            self._storage = self.plugins.call_first("rum_storage", app=self)
        if self._storage is None:
            raise RumError("no storage plugin is enabled: add \"orm\" to [plugins] enabled in "
                           f"{self.config.describe_file()}")
        return cast("Storage", self._storage)

    @property
    def jobs(self) -> JobBackend:
        """The job queue a plugin provides through ``rum_job_backend``."""
        if self._jobs is _NOT_SET:
            self._jobs = self.plugins.call_first("rum_job_backend", app=self)
        if self._jobs is None:
            raise RumError("no job backend is enabled: add \"jobs\" to [plugins] enabled in "
                           f"{self.config.describe_file()}")
        return cast("JobBackend", self._jobs)

    def auth_handler(self, name: str, **kwargs: Any) -> Authentication:
        """Build the authentication handler registered under ``name``."""
        try:
            factory = self.auth_handlers[name]
        except KeyError:
            known = ", ".join(sorted(self.auth_handlers)) or "none (enable \"auth\"/\"sessions\")"
            raise ConfigError(f"unknown authentication handler {name!r}; known: {known}") from None
        return cast("Authentication", factory(**kwargs) if callable(factory) else factory)

    def url_for(self, name: str, **params: Any) -> str:
        """The path of the route named ``name``."""
        return self.router.url_for(name, **params)

    # -- request dispatch (the hot path) ----------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        """Answer one request: hooks, routing, auth, middleware, controller, error pages.

        Never raises for errors in user code: they become error responses. The order is
        documented in ``docs/ARCHITECTURE.md``.
        """
        request.app = self
        rid = request.headers.get("x-request-id")
        if rid is not None and not _SAFE_REQUEST_ID(rid):
            rid = _clean_request_id(rid)
        if not rid:
            rid = f"{self._id_prefix}{next(self._ids)}"
        request.id = rid
        rid_token = _request_id.set(rid)
        # a server's tasks inherit the app from app.running(): setting it again costs a
        # context copy-on-write per request for the same value
        app_token = _current.set(self) if _current.get() is not self else None
        req_token = _request._current.set(request)
        try:
            try:
                response = await self._dispatch(request)
            except BaseException as exc:
                if not isinstance(exc, Exception):
                    raise
                response = await self._error(request, exc)
            # an implementation is a plain function or ``async def`` (see Plugins.bind): await
            # only what is awaitable; the type test first is the common case's quick answer
            for fn in self._response_hooks:
                try:
                    new = fn(request, response)
                    if new is not None and (type(new) is CoroutineType or awaitable(new)):
                        new = await new
                except Exception as exc:
                    new = await self._error(request, exc)
                if new is not None:
                    response = new
            if self._note is not None:
                self._note(request, response.status)
            return response
        finally:
            _request._current.reset(req_token)
            if app_token is not None:
                _current.reset(app_token)
            _request_id.reset(rid_token)

    async def _dispatch(self, request: Request) -> Response:
        for fn in self._request_hooks:
            answer = fn(request)
            if answer is not None:
                if type(answer) is CoroutineType or awaitable(answer):
                    answer = await answer
                if answer is not None:
                    return cast("Response", answer)
        if self.middleware:
            return await run_middleware(self.middleware, request, self._route)
        return await self._route(request)

    async def _route(self, request: Request) -> Response:
        route, params = self.router.match(request.method, request.path)
        request.route = route
        request.path_params = params
        lazy: LazyUser | None = None
        for fn in self._auth_hooks:
            user = fn(request)
            if user is None:
                continue
            if type(user) is CoroutineType or (type(user) is not LazyUser and awaitable(user)):
                user = await user
                if user is None:
                    continue
            if lazy is None and (type(user) is LazyUser or isinstance(user, LazyUser)):
                lazy = user  # resolved when request.user is read; go on for a fallback
                continue
            # (the kernel owns Request: its fields are set without the property's call)
            if lazy is None:
                request._user = user
            else:  # the user if the lazy answer resolves to nobody (maybe lazy too)
                request._user_lazy = (lazy, user)
                lazy = None
            break
        if lazy is not None:
            request._user_lazy = (lazy, None)
        auth = cast("Authentication | None", route.auth)  # names were resolved in __init__
        if auth is not None and not await auth.authorize(request):
            return await auth.denied(request)
        if route.middleware:
            return await run_middleware(route.middleware, request, route.controller.handle)
        return await route.controller.handle(request)

    async def _error(self, request: Request, exc: Exception) -> Response:
        try:
            custom = await self.plugins.acall_first("rum_exception", request=request, exc=exc)
        except Exception:
            logger.exception("rum_exception hook failed while handling %r", exc)
            custom = None
        if custom is not None:
            return cast("Response", custom)
        if isinstance(exc, HTTPError):
            return error_response(request, exc.status, exc.detail, data=exc.data,
                                  headers=exc.headers, api=exc.api, type=exc.type,
                                  extra=exc.extra)
        logger.error("unhandled error in %s %s", request.method, request.path, exc_info=exc)
        detail = f"{type(exc).__name__}: {exc}" if self.debug else "Something went wrong."
        return error_response(request, 500, detail, exc=exc, debug=self.debug)

    # -- lifecycle --------------------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[App]:
        """Start the app's plugins (``rum_startup``, ``rum_schedule``) and stop them on exit.

        Use it to embed Rum in a trio program without the HTTP server::

            async with app.running():
                users = await User.all().fetch_all()
        """
        if self.started:
            yield self
            return
        app_token = _current.set(self)
        try:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                try:
                    await self.plugins.acall("rum_startup", app=self)
                    for item in self.plugins.call_list("rum_schedule", app=self):
                        if callable(item):
                            nursery.start_soon(item)
                    nursery.start_soon(self.tally.flush_every_interval)
                    self.started = True
                    yield self
                finally:
                    self.started = False
                    await self._shutdown()
                    nursery.cancel_scope.cancel()
        finally:
            self.nursery = None
            _current.reset(app_token)

    async def _shutdown(self) -> None:
        self.tally.flush()  # observers see every request before they shut down
        with trio.CancelScope(shield=True):
            for fn in self.plugins.bind("rum_shutdown", reverse=True):
                try:
                    with trio.move_on_after(30):
                        result = fn(app=self)
                        if awaitable(result):
                            await result
                except Exception:
                    logger.exception("rum_shutdown hook %s failed", fn.__module__)

    async def serve(self, host: str | None = None, port: int | None = None,
                    **options: Any) -> None:
        """Serve the app over HTTP until cancelled (or SIGINT/SIGTERM); needs a server plugin.

        The server plugin starts the app (``app.running()``) in the process that answers
        requests; a reload supervisor does not.
        """
        served = await self.plugins.acall_first("rum_serve", app=self, host=host, port=port,
                                                options=options)
        if not served:
            raise RumError("no HTTP server plugin is enabled: add \"http\" to [plugins] "
                           f"enabled in {self.config.describe_file()}")

    def run(self, host: str | None = None, port: int | None = None, **options: Any) -> None:
        """Blocking ``serve()``: ``trio.run(app.serve)``."""
        trio.run(lambda: self.serve(host, port, **options))

    def test_client(self, **kwargs: Any) -> TestClient:
        """An in-process client (no socket): ``async with app.test_client() as client:``."""
        from rum.testing.client import TestClient

        return TestClient(self, **kwargs)

    def __repr__(self) -> str:
        return f"<App root={str(self.root)!r} env={self.config.env!r}>"

"""Rum's hook specifications: the whole contract between the kernel and its plugins.

A plugin is a module (or object) with functions decorated by :data:`rum.hookimpl` whose names
match the specs below. Plugins are found through the ``rum.plugins`` entry-point group and
enabled in ``Rum.toml``; see ``docs/plugins.md`` for a walk-through.

Hooks are listed in the order the kernel calls them:

1. configuration: :func:`rum_config_schema`, :func:`rum_configure`
2. wiring: :func:`rum_routes`, :func:`rum_middleware`, :func:`rum_auth_handlers`,
   :func:`rum_body_parsers`, :func:`rum_request_observer`, :func:`rum_cli_commands`
3. lifecycle: :func:`rum_serve` when the app is served (the server then starts the app),
   :func:`rum_storage`, :func:`rum_job_backend`, :func:`rum_startup`, :func:`rum_schedule`
4. per request: :func:`rum_request`, :func:`rum_authenticate`, the controller,
   (:func:`rum_render` when it renders a template), :func:`rum_exception` on error,
   :func:`rum_response`
5. shutdown: :func:`rum_shutdown`

Async hooks (``async def`` implementations) are awaited by the kernel one by one, in pluggy's
call order (last registered first, adjusted by ``tryfirst``/``trylast``); an implementation of
an async hook that never awaits may be a plain function (the kernel awaits a result only when
it is awaitable, and a plain function costs no coroutine per request); where a spec says
"the first non-``None`` result wins", the kernel stops at that result. Every hook receives only
the arguments it names, so an implementation may declare any subset of them. ``app`` is the
:class:`~rum.App`; the specs type it by :class:`~rum.services.AppLike`, the part of it plugins
rely on, so that the contract depends on no module that uses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rum.plugins import hookimpl as hookimpl
from rum.plugins import hookspec as hookspec

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from rum.auth import Authentication
    from rum.commands import Command
    from rum.config import Config, Setting
    from rum.middleware import Middleware
    from rum.request import BodyParser, Request
    from rum.response import Response
    from rum.routing import Route
    from rum.services import AppLike
    from rum.tally import RequestObserver

#: The version of the hook contract documented in ``docs/hooks.md``. Hooks and arguments are
#: only removed after a release in which they warn (pluggy's ``warn_on_impl``).
HOOKS_VERSION = 1


# -- configuration ----------------------------------------------------------------------------


@hookspec
def rum_config_schema() -> Mapping[str, Mapping[str, Setting | Any]]:
    """Declare the ``Rum.toml`` settings this plugin reads.

    Called once, right after plugins are loaded and before the configuration is validated.
    Return ``{section: {key: Setting(...) or default value}}``. A plain default value declares
    a setting of that value's type. Sections declared by several plugins are merged, so a
    plugin may add keys to ``[general]``. Keys found in ``Rum.toml`` that no plugin declares
    are errors naming the key, the file and the closest known key.
    """


@hookspec
def rum_configure(config: Config, app: AppLike) -> None:
    """Check and absorb the validated configuration.

    Called once per :class:`~rum.App`, after validation, before routes are collected. Raise
    :class:`rum.ConfigError` to refuse a setting; the message is shown to the user as is.
    """


# -- wiring -----------------------------------------------------------------------------------


@hookspec
def rum_routes(app: AppLike) -> Iterable[Route]:
    """Contribute routes (usually ``SomeController.route("/path")``) to the app's router.

    Called once when the app is built, after :func:`rum_configure`. Routes passed to
    ``App(routes=...)`` come first; plugin routes are added after them in call order.
    """


@hookspec
def rum_middleware(app: AppLike) -> Iterable[Middleware]:
    """Contribute app-wide :class:`~rum.Middleware` instances.

    Called once when the app is built. App-wide middleware runs for every routed request, before
    the controller's own middleware (requests first to last, responses last to first).
    """


@hookspec
def rum_auth_handlers(app: AppLike) -> Mapping[str, Callable[..., Authentication]]:
    """Name authentication handler factories, e.g. ``{"basic": BasicAuth}``.

    Called once when the app is built. A controller may then say ``auth = "basic"`` or
    ``app.auth_handler("basic", user=..., password=...)`` builds one by name.
    """


@hookspec
def rum_request_observer(app: AppLike) -> RequestObserver | None:
    """Observe answered requests in batches, for plugins that only count and time them.

    Called when the app is built (and again when plugins change). Return a plain function
    that takes a :class:`rum.tally.RequestBatch`, or ``None``. The kernel notes every answered
    request once, grouped by ``(method, route, status)`` with its duration, and calls the
    observers with a batch at least every quarter of a second, at once for a
    ``5xx``, whenever ``app.tally.flush()`` is called and before :func:`rum_shutdown` (see
    :mod:`rum.tally`). Observers run on the app's trio thread and must not block. Cheaper than
    :func:`rum_response` for metrics and dashboards: no call per request.
    """


@hookspec
def rum_cli_commands(app: AppLike | None) -> Iterable[Command]:
    """Contribute ``rum`` subcommands (:class:`rum.cli.Command` objects).

    Called when the CLI builds its parser. ``app`` is the project's app when one was found in
    the current directory, else ``None``.
    """


@hookspec
def rum_body_parsers(app: AppLike) -> Mapping[str, BodyParser]:
    """Parse request bodies of the media types named, for ``await request.form()``.

    Return ``{media_type: parser}`` with lower-case media types without parameters, e.g.
    ``{"multipart/form-data": parse}``. A parser is an async callable taking the
    :class:`~rum.Request` and returning a :class:`rum.formdata.FormData`. Called once when
    the app is built; for a type several plugins register, later plugins win. Parsers must
    bound what they accept (raise :class:`rum.PayloadTooLarge` / :class:`rum.BadRequest`
    naming the setting that raises a limit) and keep CPU-heavy work off the event loop
    (``trio.to_thread``). Without a parser the kernel parses
    ``application/x-www-form-urlencoded`` itself and answers other types with 415.
    A parser reads ``await request.read_body()`` or streams ``request.stream()``; one with
    the attribute ``streams_body = True`` may get the body still on the socket (a server
    such as the http plugin then leaves it there, see :class:`rum.request.BodyStream`).
    """


# -- lifecycle --------------------------------------------------------------------------------


@hookspec(firstresult=True)
def rum_storage(app: AppLike) -> Any:
    """Provide the app's database backend (the object ``app.storage`` returns).

    Called lazily the first time ``app.storage`` is read. The first non-``None`` result wins.
    The ORM plugin answers with its connection pool; the jobs plugin uses whatever is returned.
    """


@hookspec(firstresult=True)
def rum_job_backend(app: AppLike) -> Any:
    """Provide the app's background job backend (the object ``app.jobs`` returns).

    Called lazily the first time ``app.jobs`` is read. The first non-``None`` result wins.
    """


@hookspec
async def rum_startup(app: AppLike) -> None:
    """Open resources (pools, listeners) when the app starts running.

    Awaited in call order inside ``async with app.running()``; ``app.nursery`` is open, so
    long-running tasks may be started with ``app.nursery.start_soon``. An exception aborts the
    start-up: hooks that already ran get :func:`rum_shutdown`.
    """


@hookspec
def rum_schedule(app: AppLike) -> Iterable[Any]:
    """Contribute background work for the app's lifetime.

    Called once after :func:`rum_startup`. Each item that is an async callable taking no
    arguments is run in the app's nursery until shutdown. Other items (e.g. cron entries) are
    left for the job backend, which collects them with this same hook.
    """


@hookspec
async def rum_serve(app: AppLike, host: str, port: int, options: Mapping[str, Any]) -> bool | None:
    """Serve ``app`` over the network until cancelled or told to stop.

    Awaited by ``await app.serve(...)``, before the app is started; the first plugin that
    serves returns ``True`` when it is done. The process that answers requests enters
    ``async with app.running():`` around its serving (a no-op when the caller already did);
    a supervisor that only runs other processes (``rum run --reload``) does not, so start-up
    hooks run only where the app serves. ``options`` carries server settings from the CLI
    (e.g. ``workers``).
    """


@hookspec
async def rum_shutdown(app: AppLike) -> None:
    """Release resources. Awaited in reverse call order when ``app.running()`` exits."""


# -- per request ------------------------------------------------------------------------------


@hookspec
async def rum_request(request: Request) -> Response | None:
    """See every request before routing; return a :class:`~rum.Response` to answer it.

    Awaited for each request in call order. Returning ``None`` passes the request on;
    returning a response stops the chain and skips routing and the controller (response hooks
    still run). Implementations may annotate the request (``request.session``,
    ``request.state``).
    """


@hookspec
async def rum_authenticate(request: Request) -> Any:
    """Identify who sent the request; the first non-``None`` result becomes ``request.user``.

    Awaited for each routed request, after :func:`rum_request`, before the controller's
    authentication handler runs. An answer that costs work a request may never need can be
    a :class:`rum.auth.LazyUser`: it is resolved on the first read of ``request.user`` (not at
    all when nothing reads it), and the implementations after it still run, the first other
    answer being the user when the lazy one resolves to ``None``.
    """


@hookspec
async def rum_render(request: Request, template: str,
                     context: Mapping[str, Any]) -> Response | None:
    """Render ``template`` with ``context`` into a response, for ``Controller.render``.

    The first non-``None`` response wins; the templates plugin answers for its templates.
    """


@hookspec
async def rum_exception(request: Request, exc: BaseException) -> Response | None:
    """Turn an exception raised while handling ``request`` into a response.

    Awaited when a controller, middleware or hook raises. The first non-``None`` response is
    sent; with none, the kernel maps :class:`rum.HTTPError` to its status and anything else to
    a logged ``500`` with the default error page.
    """


@hookspec
async def rum_response(request: Request, response: Response) -> Response | None:
    """Rewrite the response about to be sent. Return a new response, or ``None`` to keep it.

    Awaited for every request, in reverse call order (the plugin that saw the request first
    sees the response last), after the controller and middleware, also for error responses.
    """


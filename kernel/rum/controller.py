"""Controllers: the C of MVC. One instance serves every request to its routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rum.errors import MethodNotAllowed, RumError
from rum.request import current_request
from rum.routing import Route

if TYPE_CHECKING:
    from rum.auth import Authentication
    from rum.middleware import Middleware
    from rum.request import Request
    from rum.response import Response

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class _ClassOrInstanceMethod:
    """Bind to the instance when there is one, else to a fresh instance of the class."""

    def __init__(self, func: Any) -> None:
        self.func = func
        self.__doc__ = func.__doc__

    def __get__(self, obj: Any, owner: type) -> Any:
        def bound(*args: Any, **kwargs: Any) -> Any:
            return self.func(obj if obj is not None else owner(), *args, **kwargs)

        bound.__doc__ = self.func.__doc__
        return bound


class Controller:
    """Handles requests routed to it.

    Either override :meth:`handle` (called for every method), or define any of ``get``,
    ``post``, ``put``, ``patch``, ``delete``, ``options`` as ``async def get(self, request)``;
    other methods then get a 405. ``HEAD`` is answered by ``get`` without the body.

    Override :meth:`auth` to protect the controller with an authentication handler and
    :meth:`middleware` to wrap it in middleware; both are read once, when the route is made.

    Set ``api = True`` on controllers that serve API clients: their errors are always
    ``application/problem+json``, and the sessions plugin neither creates a session cookie
    for them nor refuses their cookie-less JSON posts (see ``docs/errors.md``).
    """

    #: True for API controllers (JSON errors, no anonymous session cookie).
    api: bool = False

    async def handle(self, request: Request) -> Response:
        """Answer ``request``. The default calls the method named after the HTTP method."""
        method = request.method
        if method == "HEAD":
            method = "GET"
        fn = getattr(self, method.lower(), None)
        if fn is None:
            raise MethodNotAllowed(request.method, sorted(self.allowed_methods()))
        response: Response = await fn(request)
        return response

    def allowed_methods(self) -> frozenset[str]:
        """Methods it answers: those it defines (``get``...), else all if ``handle`` is new."""
        defined = frozenset(m for m in HTTP_METHODS if callable(getattr(self, m.lower(), None)))
        if not defined and type(self).handle is not Controller.handle:
            return frozenset((*HTTP_METHODS, "HEAD"))
        return defined

    def auth(self) -> Authentication | str | None:
        """The authentication handler guarding this controller (``None``: allow everyone).

        May be a handler instance (``BasicAuth(user=..., password=...)``) or the name of one
        registered by a plugin (``"session"``).
        """
        return None

    def middleware(self) -> list[Middleware]:
        """Middleware wrapping this controller, applied in list order to requests."""
        return []

    @_ClassOrInstanceMethod
    def route(self, path: str, *, name: str | None = None,
              methods: list[str] | None = None, api: bool | None = None) -> Route:
        """Bind this controller to ``path``: ``Index.route("/")`` or ``Index(...).route("/")``.

        ``api=True`` marks this route as an API route even if the controller is not.
        """
        return Route(path, self, frozenset(methods) if methods else None, name,
                     self.auth(), list(self.middleware()), api=api)

    async def render(self, template: str, /, **context: Any) -> Response:
        """Render ``template`` with ``context`` into a response (hook ``rum_render``, which
        the templates plugin answers)."""
        request = current_request()
        app = request.app if request is not None else None
        response = None
        if app is not None:
            response = await app.plugins.acall_first("rum_render", request=request,
                                                     template=template, context=context)
        if response is None:
            where = app.config.describe_file() if app is not None else "Rum.toml"
            raise RumError(f"Controller.render({template!r}) needs a plugin that renders "
                           f"templates: add \"templates\" to [plugins] enabled in {where}")
        return cast("Response", response)

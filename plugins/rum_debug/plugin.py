"""Hook implementations of the debug plugin: ``rum_exception`` answers browsers' errors.

API clients keep the kernel's problem+json answer (the hook returns ``None`` for them). For
a browser: an app template ``errors/<status>.html`` when the templates plugin renders one,
else the built-in page; an unhandled exception gets the debug page in development
(``[general] debug``) and a page without details otherwise.
"""

from __future__ import annotations

import logging

from rum import HTTPError, Request, Response, hookimpl
from rum.errorpage import wants_problem_json
from rum_debug.pages import debug_page, error_page

name = "debug"
works_with = ("templates",)
logger = logging.getLogger("rum.app")


@hookimpl(trylast=True)
async def rum_exception(request: Request, exc: BaseException) -> Response | None:
    """The HTML page for ``exc``, or ``None`` for API clients (the kernel answers them)."""
    http = exc if isinstance(exc, HTTPError) else None
    if (http is not None and http.api) or wants_problem_json(request):
        return None
    app = request.app
    assert app is not None  # set by App.handle before any hook runs
    if http is None:
        logger.error("unhandled error in %s %s", request.method, request.path, exc_info=exc)
        if app.debug:
            return debug_page(request, exc, app.root, app.plugins)
    status = http.status if http is not None else 500
    detail = http.detail if http is not None else "Something went wrong on our side."
    response = await app_error_page(request, status, detail) or error_page(request, status,
                                                                           detail)
    for header, value in (http.headers if http is not None else {}).items():
        response.headers[header] = value
    return response


async def app_error_page(request: Request, status: int, detail: str) -> Response | None:
    """The app's ``errors/<status>.html`` rendered through ``rum_render``, if it has one."""
    assert request.app is not None
    try:
        response = await request.app.plugins.acall_first(
            "rum_render", request=request, template=f"errors/{status}.html",
            context={"status": status, "detail": detail, "request_id": request.id})
    except Exception as exc:
        if not isinstance(exc, _template_not_found()):
            logger.exception("the app's errors/%s.html failed; using the built-in page", status)
        return None
    if response is not None:
        response.status = status
    return response


def _template_not_found() -> tuple[type[BaseException], ...]:
    try:
        from rum_templates import TemplateNotFound
    except ImportError:
        return ()
    return (TemplateNotFound,)

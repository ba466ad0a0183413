"""The default error responses: RFC 9457 problem details for API clients, HTML for browsers."""

from __future__ import annotations

import traceback
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from rum import jsonutil
from rum.negotiation import PROBLEM_JSON, prefers_json
from rum.response import Response

if TYPE_CHECKING:
    from rum.request import Request


def wants_problem_json(request: Request, *, api: bool = False) -> bool:
    """True when an error for ``request`` should be ``application/problem+json``.

    That is when the route is an API route (``Controller.api = True`` or
    ``route(..., api=True)``; ``api=True`` forces it) or the client prefers JSON
    (:func:`rum.negotiation.prefers_json`).
    """
    route = request.route
    if api or (route is not None and getattr(route, "api", False)):
        return True
    return prefers_json(request.headers.get("accept"), request.headers.get("content-type") or "")


def status_title(status: int) -> str:
    """The reason phrase of ``status`` (``"Not Found"``), or ``"Error"`` for unknown codes."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem(status: int, detail: str, *, request: Request | None = None,
            type: str | None = None, title: str | None = None, errors: Any = None,
            extra: dict[str, Any] | None = None,
            traceback_text: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem-details object.

    ``type`` defaults to ``about:blank`` (the title is then the status's reason phrase);
    ``instance`` is the request's path; ``errors`` (per-field messages), ``request_id``,
    ``traceback`` (debug only) and ``extra`` are extension members.
    """
    body: dict[str, Any] = {"type": type or "about:blank",
                            "title": title or status_title(status),
                            "status": status, "detail": detail}
    if request is not None:
        body["instance"] = request.raw_path
    if errors is not None:
        body["errors"] = errors
    if extra:
        for key, value in extra.items():
            body.setdefault(key, value)
    if request is not None and request.id:
        body["request_id"] = request.id
    if traceback_text:
        body["traceback"] = traceback_text
    return body


def problem_response(status: int, detail: str, *, request: Request | None = None,
                     headers: dict[str, str] | None = None, **members: Any) -> Response:
    """A ``application/problem+json`` response; ``members`` go to :func:`problem`."""
    response = Response(jsonutil.dumps(problem(status, detail, request=request, **members)),
                        status, content_type=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def error_response(request: Request | None, status: int, detail: str, *,
                   exc: BaseException | None = None, debug: bool = False,
                   data: Any = None, headers: dict[str, str] | None = None,
                   api: bool = False, type: str | None = None,
                   extra: dict[str, Any] | None = None) -> Response:
    """Build the response for an error: problem JSON for API clients, else an HTML page.

    Problem JSON when the route is an API route (or ``api``), or the client prefers JSON
    (``Accept``, or a JSON request body); see :func:`wants_problem_json`.
    With ``debug`` the traceback of ``exc`` is included (never in production).
    """
    trace = "".join(traceback.format_exception(exc)) if (debug and exc is not None) else None
    if api or (request is not None and wants_problem_json(request)):
        return problem_response(status, detail, request=request, headers=headers, type=type,
                                errors=data, extra=extra, traceback_text=trace)
    import html  # (html.entities is large: imported with the first HTML error page)

    title = status_title(status)
    rid = request.id if request is not None else ""
    extra_html = f"<pre>{html.escape(trace)}</pre>" if trace else ""
    rid_line = f"<p><small>request id {html.escape(rid)}</small></p>" if rid else ""
    response = Response.html(
        f"<!doctype html><html><head><title>{status} {html.escape(title)}</title></head>"
        f"<body><h1>{status} {html.escape(title)}</h1><p>{html.escape(detail)}</p>"
        f"{rid_line}{extra_html}</body></html>", status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response

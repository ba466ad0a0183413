"""The default error page: HTML for browsers, JSON for API clients."""

from __future__ import annotations

import html
import traceback
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from rum.response import Response

if TYPE_CHECKING:
    from rum.request import Request


def error_response(request: Request | None, status: int, detail: str, *,
                   exc: BaseException | None = None, debug: bool = False,
                   data: Any = None, headers: dict[str, str] | None = None) -> Response:
    """Build the response for an error: JSON when the client wants JSON, else an HTML page.

    With ``debug`` the traceback of ``exc`` is included (never in production).
    """
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    trace = "".join(traceback.format_exception(exc)) if (debug and exc is not None) else None
    rid = request.id if request is not None else ""
    if request is not None and request.wants_json:
        body: dict[str, Any] = {"error": title, "status": status, "detail": detail}
        if data is not None:
            body["errors"] = data
        if rid:
            body["request_id"] = rid
        if trace:
            body["traceback"] = trace
        response = Response.json(body, status)
    else:
        extra = f"<pre>{html.escape(trace)}</pre>" if trace else ""
        rid_line = f"<p><small>request id {html.escape(rid)}</small></p>" if rid else ""
        response = Response.html(
            f"<!doctype html><html><head><title>{status} {html.escape(title)}</title></head>"
            f"<body><h1>{status} {html.escape(title)}</h1><p>{html.escape(detail)}</p>"
            f"{rid_line}{extra}</body></html>", status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response

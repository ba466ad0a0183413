"""Does a client want JSON or HTML? ``Accept`` preferences and the body's media type.

Functions of header values, used by ``request.wants_json``, the error pages
(:func:`rum.errorpage.wants_problem_json`) and plugins that choose between a redirect and a JSON
answer. See ``docs/errors.md``.
"""

from __future__ import annotations

PROBLEM_JSON = "application/problem+json"
_JSON_TYPES = frozenset({"application/json", PROBLEM_JSON})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def is_json_type(media_type: str) -> bool:
    """True for ``application/json`` and structured ``+json`` types (``application/vnd.x+json``)."""
    media_type = media_type.split(";", 1)[0].strip().lower()
    return media_type in _JSON_TYPES or (media_type.startswith("application/")
                                         and media_type.endswith("+json"))


def _preferences(accept: str) -> tuple[float, int, float, int]:
    """The best quality and first position of a JSON type and of an HTML type in ``accept``."""
    json_q = html_q = 0.0
    json_at = html_at = len(accept) + 1
    for index, item in enumerate(accept.split(",")):
        media, *params = item.split(";")
        media = media.strip().lower()
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        if is_json_type(media):
            if q > json_q:
                json_q, json_at = q, index
        elif media in _HTML_TYPES and q > html_q:
            html_q, html_at = q, index
    return json_q, json_at, html_q, html_at


def prefers_json(accept: str | None, content_type: str = "") -> bool:
    """True when a client with this ``Accept`` header and request body wants a JSON answer.

    - ``Accept`` naming a JSON type (``application/json``, ``application/problem+json``,
      ``application/*+json``) with a higher quality than any HTML type, or the same quality
      but listed first: JSON.
    - ``Accept`` preferring an HTML type: HTML.
    - Neither named (no ``Accept``, or only wildcards such as ``*/*``): JSON when the request
      body is JSON (``Content-Type: application/json``), else HTML.
    """
    if accept:
        json_q, json_at, html_q, html_at = _preferences(accept)
        if json_q > 0 or html_q > 0:
            return json_q > html_q or (json_q == html_q and json_at < html_at)
    return bool(content_type) and is_json_type(content_type)

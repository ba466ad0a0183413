"""Exceptions that map to HTTP statuses, and the kernel's own configuration errors."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class RumError(Exception):
    """Base class of every error Rum raises on purpose."""


class ConfigError(RumError):
    """A problem with ``Rum.toml``, an environment override or the plugin set.

    The message names the file, the section and the key, and suggests a fix where it can.
    """


class PluginError(RumError):
    """A plugin could not be found, loaded or registered."""


class HTTPError(RumError):
    """Raise from a controller, middleware or hook to answer with ``status``.

    ``detail`` is shown on the error page: an HTML page for browsers, an RFC 9457
    ``application/problem+json`` object for API clients and API routes (see
    ``docs/errors.md``). ``headers`` are added to the error response (e.g. ``Allow`` or
    ``Retry-After``); ``data`` becomes the problem's ``errors`` member (per-field messages);
    ``type`` is the problem type URI (default ``about:blank``) and ``extra`` holds further
    members of the problem object (``{"code": "csrf_failed"}``). ``api=True`` answers with
    problem JSON whatever the client asked for.
    """

    status: int = 500

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        data: Any = None,
        type: str | None = None,
        extra: dict[str, Any] | None = None,
        api: bool = False,
    ) -> None:
        if status is not None:
            self.status = status
        self.detail = detail or HTTPStatus(self.status).phrase
        self.headers = dict(headers or {})
        self.data = data
        self.type = type
        self.extra = dict(extra or {})
        self.api = api
        super().__init__(self.detail)


class BadRequest(HTTPError):
    """400: the request is malformed (bad JSON, bad form, bad parameter)."""

    status = 400


class Unauthorized(HTTPError):
    """401: credentials are missing or wrong."""

    status = 401


class Forbidden(HTTPError):
    """403: the credentials are fine but access is refused."""

    status = 403


class NotFound(HTTPError):
    """404: no route or no record matches."""

    status = 404


class MethodNotAllowed(HTTPError):
    """405: the path exists but not for this method; ``Allow`` lists the ones that do."""

    status = 405

    def __init__(self, method: str, allowed: list[str], *, api: bool = False) -> None:
        super().__init__(
            f"{method} is not allowed here; use {', '.join(allowed)}",
            headers={"allow": ", ".join(allowed)}, api=api,
        )
        self.allowed = allowed


class PayloadTooLarge(HTTPError):
    """413: the request body is over the configured limit."""

    status = 413


class UnsupportedMediaType(HTTPError):
    """415: the body's content type is not one this app (or its enabled plugins) can parse."""

    status = 415


class UnprocessableEntity(HTTPError):
    """422: the request is well-formed but its content is invalid (``data`` holds field errors)."""

    status = 422


class TooManyRequests(HTTPError):
    """429: rate limited; pass ``headers={"retry-after": "..."}``."""

    status = 429

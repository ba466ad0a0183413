"""Hook implementations of the forms plugin: bounded multipart/form-data parsing, uploads,
and the form helpers templates see."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from rum import hookimpl
from rum_forms.builder import button_to, form_with
from rum_forms.forms import Forms
from rum_forms.settings import SCHEMA, SECTION

if TYPE_CHECKING:
    from rum.app import App
    from rum.config import Config
    from rum.request import Request
    from rum.response import Response

name = "forms"
#: Model forms use the ORM, the template helpers the templates plugin, and forms carry the
#: sessions plugin's CSRF field; each is optional.
works_with = ("orm", "templates", "sessions")


@hookimpl
def rum_config_schema() -> dict[str, dict[str, Any]]:
    """``[forms]``: parser limits, spooling, parse threads, upload storage."""
    return {SECTION: dict(SCHEMA)}


@hookimpl
def rum_configure(config: Config, app: App) -> None:
    """Build the app's :class:`Forms` (``app.extensions["forms"]``) from ``[forms]``."""
    app.extensions["forms"] = Forms.from_config(config)


@hookimpl
def rum_body_parsers(app: App) -> dict[str, Any]:
    """``multipart/form-data`` (streamed from the socket, bounded, large chunks in a worker
    thread) and urlencoded with the ``[forms] max_parts`` field cap."""
    forms: Forms = app.extensions["forms"]
    return {"multipart/form-data": forms.parse_multipart,
            "application/x-www-form-urlencoded": forms.parse_urlencoded}


@hookimpl
def rum_response(request: Request, response: Response) -> None:
    """Close the request's uploads (spooled temporary files are deleted); a plain function,
    which the kernel calls without making a coroutine."""
    form = request.parsed_form
    if form is not None and form.files:
        form.close()


@hookimpl(optionalhook=True)  # the templates plugin's hook: templates may be disabled
def rum_template_globals(app: App, request: Request | None) -> dict[str, Any]:
    """``form_with(form, action: ...)`` and ``button_to(text, action)``, bound to the request
    (for the CSRF field); none outside a request (a mail has no forms)."""
    if request is None:
        return {}
    return {"form_with": functools.partial(form_with, request),
            "button_to": functools.partial(button_to, request)}

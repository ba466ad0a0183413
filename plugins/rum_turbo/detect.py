"""Recognising requests made by Turbo."""

from __future__ import annotations

from rum import Request
from rum_turbo.streams import TURBO_STREAM_MIME


def turbo_frame_id(request: Request) -> str | None:
    """The id of the ``<turbo-frame>`` that made ``request`` (``Turbo-Frame`` header), or None.

    Answer such requests with a page containing a frame of the same id; a layout-less
    template is enough.
    """
    return request.headers.get("turbo-frame") or None


def is_turbo_frame_request(request: Request) -> bool:
    """True when a Turbo Frame navigation made ``request``."""
    return turbo_frame_id(request) is not None


def accepts_turbo_stream(request: Request) -> bool:
    """True when the client accepts Turbo Stream responses (Turbo form submissions do)."""
    return TURBO_STREAM_MIME in (request.headers.get("accept") or "")

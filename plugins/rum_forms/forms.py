"""The per-app state of the forms plugin: limits, the parse threads, and upload storage."""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from rum.context import current_app
from rum.errors import RumError
from rum.formdata import parse_urlencoded
from rum_forms.parser import parse_multipart
from rum_forms.settings import SECTION, FormLimits, UploadSettings, parse_threads
from rum_forms.storage import LocalStorage, Storage
from rum_forms.streaming import parse_stream

if TYPE_CHECKING:
    from rum.app import App
    from rum.config import Config
    from rum.formdata import FormData
    from rum.request import Request


class Forms:
    """``app.extensions["forms"]``: parses form bodies for ``await request.form()``.

    ``limits`` are the ``[forms]`` limits; ``storage`` is where :func:`rum_forms.storage`
    points (a :class:`LocalStorage` under ``[forms] upload_root`` unless a plugin replaces
    it); ``limiter`` caps how many bodies are parsed at once in worker threads.
    """

    def __init__(self, limits: FormLimits, storage: Storage, threads: int = 2) -> None:
        self.limits = limits
        self.storage = storage
        self.limiter = trio.CapacityLimiter(threads)

    @classmethod
    def from_config(cls, config: Config) -> Forms:
        """Build from ``[forms]``."""
        uploads = UploadSettings.from_config(config)
        return cls(FormLimits.from_config(config), LocalStorage(uploads.root, uploads.url),
                   parse_threads(config))

    async def parse_multipart(self, request: Request) -> FormData:
        """Parse ``request``'s multipart body under :attr:`limits`.

        A body still on the socket (the HTTP server streams it, see ``streams_body``) is fed
        to the parser chunk by chunk as it arrives, so a limit is answered (413) as soon as
        it is crossed and only one chunk is in memory at a time; a buffered body (test
        client, ASGI) is parsed whole in a worker thread.
        """
        content_type = request.headers.get("content-type") or ""
        if request.body_pending:
            return await parse_stream(content_type, request.stream(), self.limits,
                                      self.limiter)
        return await trio.to_thread.run_sync(
            parse_multipart, content_type, request.body, self.limits, limiter=self.limiter)

    #: tells the HTTP server to leave multipart bodies on the socket for this parser
    parse_multipart.streams_body = True  # type: ignore[attr-defined]

    async def parse_urlencoded(self, request: Request) -> FormData:
        """The kernel's urlencoded parser with ``[forms] max_parts`` as its field cap."""
        return await parse_urlencoded(await request.read_body(),
                                      max_fields=self.limits.max_parts,
                                      setting=f"[{SECTION}] max_parts", limiter=self.limiter)


def storage(app: App | None = None) -> Storage:
    """The upload storage of ``app`` (default: the app serving the current request)."""
    app = app or current_app()
    if app is None:
        raise RumError("rum_forms.storage() outside a running app: pass the app, "
                       "storage(app)")
    forms = app.extensions.get("forms")
    if forms is None:
        raise RumError("upload storage needs the forms plugin: add \"forms\" to [plugins] "
                       f"enabled in {app.config.describe_file()}")
    return forms.storage

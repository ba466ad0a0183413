"""``StaticFiles``: one directory served over HTTP with validators, ranges and precompression."""

from __future__ import annotations

import mimetypes
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import trio

from rum import Controller, NotFound, Request, Response
from rum.errors import MethodNotAllowed
from rum_static.httpcache import (
    FINGERPRINT,
    Unsatisfiable,
    accepted_encodings,
    http_date,
    if_range_matches,
    make_etag,
    not_modified,
    parse_range,
)
from rum_static.safepath import resolve_inside, split_url_path

#: Precompressed siblings tried in order of preference: ``app.js.br``, then ``app.js.gz``.
ENCODINGS: tuple[tuple[str, str], ...] = (("br", ".br"), ("gzip", ".gz"))
_TEXT_TYPES = ("application/javascript", "application/json", "image/svg+xml",
               "application/xml", "text/javascript")


def content_type_for(name: str) -> str:
    """The ``Content-Type`` for file ``name``; text types get ``charset=utf-8``."""
    ctype, _ = mimetypes.guess_type(name, strict=False)
    if ctype is None:
        if name.endswith(".mjs"):
            ctype = "text/javascript"
        elif name.endswith(".webmanifest"):
            ctype = "application/manifest+json"
        else:
            return "application/octet-stream"
    if ctype.startswith("text/") or ctype in _TEXT_TYPES:
        return f"{ctype}; charset=utf-8"
    return ctype


@dataclass
class _Plan:
    """What the file-system side found for one request (computed in a worker thread)."""

    path: Path
    size: int
    mtime: float
    etag: str
    encoding: str
    content_type: str
    vary: bool
    fresh: bool  # the client's copy is current: 304
    byte_range: tuple[int, int] | None
    body: bytes | None  # small files are read right away


class StaticFiles(Controller):
    """Serve the files under ``root``.

    Used by the plugin for each ``[static]`` mount, and usable as a controller on a route
    with a ``<path:path>`` parameter::

        StaticFiles("assets").route("/assets/<path:path>")

    Only ``GET`` and ``HEAD`` are answered. Paths with ``..``, ``.``, NUL, backslashes,
    hidden names (unless ``allow_hidden``) or symbolic links leading out of ``root`` are
    never served. Directories are served only through ``index_files`` (none by default).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        prefix: str = "",
        index_files: Sequence[str] = (),
        max_age: int = 3600,
        immutable_max_age: int = 31_536_000,
        precompressed: bool = True,
        chunk_size: int = 64 * 1024,
        small_file_size: int = 64 * 1024,
        allow_hidden: bool = False,
    ) -> None:
        self.root = Path(root).resolve()
        self.prefix = prefix.rstrip("/")
        self.index_files = tuple(index_files)
        self.max_age = max_age
        self.immutable_max_age = immutable_max_age
        self.precompressed = precompressed
        self.chunk_size = chunk_size
        self.small_file_size = small_file_size
        self.allow_hidden = allow_hidden

    def __repr__(self) -> str:
        return f"<StaticFiles {self.prefix or '(route)'} -> {self.root}>"

    # -- controller use -------------------------------------------------------------------------

    def allowed_methods(self) -> frozenset[str]:
        """Static files answer ``GET`` and ``HEAD`` only."""
        return frozenset(("GET", "HEAD"))

    async def handle(self, request: Request) -> Response:
        """Serve ``request.path_params["path"]`` (the route's ``<path:path>``), else 404."""
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowed(request.method, ["GET", "HEAD"])
        rel = request.path_params.get("path")
        if rel is None:
            raise NotFound(f"route {request.route.path!r} serving static files needs a "
                           "<path:path> parameter")
        response = await self.serve(request, str(rel))
        if response is None:
            raise NotFound(f"no file {rel!r} in {self.root}")
        return response

    # -- serving --------------------------------------------------------------------------------

    def cache_control(self, name: str) -> str:
        """``Cache-Control`` for file ``name``: immutable when fingerprinted."""
        if FINGERPRINT.search(name):
            return f"public, max-age={self.immutable_max_age}, immutable"
        if self.max_age <= 0:
            return "no-cache"
        return f"public, max-age={self.max_age}"

    async def serve(self, request: Request, rel_path: str) -> Response | None:
        """The response for ``rel_path`` (relative to :attr:`root`), or ``None`` if no file.

        A refused path (traversal, hidden name) is also ``None``: callers answer 404 without
        saying why, so probing learns nothing.
        """
        parts = split_url_path(rel_path, allow_hidden=self.allow_hidden)
        if parts is None:
            return None
        headers = request.headers
        plan = await trio.to_thread.run_sync(
            self._plan, parts, request.method == "GET", headers.get("accept-encoding"),
            headers.get("range"), headers.get("if-range"), headers.get("if-none-match"),
            headers.get("if-modified-since"))
        if plan is None:
            return None
        return self._respond(request, plan)

    def _find(self, parts: list[str]) -> Path | None:
        found = resolve_inside(self.root, parts)
        if found is None and self.index_files:
            for index in self.index_files:
                found = resolve_inside(self.root, [*parts, index])
                if found is not None:
                    break
        return found

    def _plan(self, parts: list[str], is_get: bool, accept_encoding: str | None,
              range_header: str | None, if_range: str | None, if_none_match: str | None,
              if_modified_since: str | None) -> _Plan | None:
        """File-system work for one request, run in a worker thread (blocking calls)."""
        path = self._find(parts)
        if path is None:
            return None
        send, encoding, vary = path, "", False
        if self.precompressed:
            accepted = accepted_encodings(accept_encoding)
            for coding, ext in ENCODINGS:
                folder = path.relative_to(self.root).parts[:-1]
                sibling = resolve_inside(self.root, [*folder, path.name + ext])
                if sibling is None:
                    continue
                vary = True
                if not encoding and not range_header and (coding in accepted or
                                                          "*" in accepted):
                    send, encoding = sibling, coding
        st = send.stat()
        etag = make_etag(st.st_mtime_ns, st.st_size, encoding)
        fresh = not_modified(if_none_match, if_modified_since, etag, st.st_mtime)
        byte_range: tuple[int, int] | None = None
        if not fresh and range_header and if_range_matches(if_range, etag, st.st_mtime):
            try:
                byte_range = parse_range(range_header, st.st_size)
            except Unsatisfiable:
                byte_range = (-1, -1)
        body = None
        if is_get and not fresh and byte_range != (-1, -1) and st.st_size <= self.small_file_size:
            body = send.read_bytes()
        return _Plan(send, st.st_size, st.st_mtime, etag, encoding, content_type_for(path.name),
                     vary, fresh, byte_range, body)

    def _respond(self, request: Request, plan: _Plan) -> Response:
        response = Response(b"", 200)
        h = response.headers
        h["etag"] = plan.etag
        h["last-modified"] = http_date(plan.mtime)
        h["cache-control"] = self.cache_control(plan.path.name.removesuffix(
            ".br" if plan.encoding == "br" else ".gz" if plan.encoding else ""))
        if plan.vary:
            h["vary"] = "Accept-Encoding"
        if plan.fresh:
            response.status = 304
            return response
        h["content-type"] = plan.content_type
        h["accept-ranges"] = "bytes"
        h["x-content-type-options"] = "nosniff"
        if plan.encoding:
            h["content-encoding"] = plan.encoding
        start, end = 0, plan.size - 1
        if plan.byte_range == (-1, -1):
            response.status = 416
            h["content-range"] = f"bytes */{plan.size}"
            h["content-type"] = "text/plain; charset=utf-8"
            response.body = f"range {request.headers.get('range')!r} is outside the file " \
                            f"({plan.size} bytes)".encode()
            h["content-length"] = str(len(response.body))
            return response
        if plan.byte_range is not None:
            start, end = plan.byte_range
            response.status = 206
            h["content-range"] = f"bytes {start}-{end}/{plan.size}"
        length = max(0, end - start + 1)
        h["content-length"] = str(length)
        if request.method == "HEAD" or length == 0:
            return response
        if plan.body is not None:
            response.body = plan.body[start:end + 1]
        else:
            response.stream = file_chunks(plan.path, start, length, self.chunk_size)
        return response


async def file_chunks(path: Path, start: int, length: int,
                      chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """Yield ``length`` bytes of ``path`` from offset ``start`` in chunks (trio file I/O)."""
    async with await trio.open_file(path, "rb") as f:
        if start:
            await f.seek(start)
        remaining = length
        while remaining > 0:
            chunk = await f.read(min(chunk_size, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk

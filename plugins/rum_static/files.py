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
class _Variant:
    """One representation of a file: the file itself or a ``.br``/``.gz`` sibling."""

    path: str
    size: int
    mtime: float
    etag: str
    body: bytes | None  # read in advance when small


@dataclass
class _FileInfo:
    """What the file system says about one URL path (cached for ``cache_seconds``)."""

    name: str  # the name asked for: content type and cache policy follow it
    content_type: str
    variants: dict[str, _Variant]  # by content coding; "" is the file itself
    expires: float = 0.0
    cached_bytes: int = 0


@dataclass
class _Plan:
    """The representation to send for one request, and how."""

    variant: _Variant
    encoding: str
    fresh: bool  # the client's copy is current: 304
    byte_range: tuple[int, int] | None  # (-1, -1): unsatisfiable


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
        chunk_size: int = 256 * 1024,
        small_file_size: int = 64 * 1024,
        allow_hidden: bool = False,
        cache_seconds: float = 0.0,
        cache_max_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.root = Path(root).resolve()
        self._root = str(self.root)
        self.prefix = prefix.rstrip("/")
        self.index_files = tuple(index_files)
        self.max_age = max_age
        self.immutable_max_age = immutable_max_age
        self.precompressed = precompressed
        self.chunk_size = chunk_size
        self.small_file_size = small_file_size
        self.allow_hidden = allow_hidden
        self.cache_seconds = cache_seconds
        self.cache_max_bytes = cache_max_bytes
        self._cache: dict[tuple[str, ...], _FileInfo] = {}
        self._cache_bytes = 0

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
        info = await self._info(tuple(parts))
        if info is None:
            return None
        return self._respond(request, self._plan(request, info), info)

    async def _info(self, key: tuple[str, ...]) -> _FileInfo | None:
        """File-system facts for ``key``: from the cache, else looked up in a worker thread."""
        if self.cache_seconds > 0:
            info = self._cache.get(key)
            now = trio.current_time()
            if info is not None and info.expires > now:
                return info
            info = await trio.to_thread.run_sync(self._lookup, list(key))
            self._remember(key, info, now)
            return info
        return await trio.to_thread.run_sync(self._lookup, list(key))

    def _remember(self, key: tuple[str, ...], info: _FileInfo | None, now: float) -> None:
        old = self._cache.pop(key, None)
        if old is not None:
            self._cache_bytes -= old.cached_bytes
        if info is None:
            return
        if len(self._cache) >= 4096:
            self._cache.clear()
            self._cache_bytes = 0
        size = sum(len(v.body) for v in info.variants.values() if v.body is not None)
        if self._cache_bytes + size > self.cache_max_bytes:
            for variant in info.variants.values():  # keep the facts, drop the bytes
                variant.body = None
            size = 0
        info.expires = now + self.cache_seconds
        info.cached_bytes = size
        self._cache_bytes += size
        self._cache[key] = info

    def _find(self, parts: list[str]) -> tuple[str, os.stat_result] | None:
        found = resolve_inside(self._root, parts)
        if found is None and self.index_files:
            for index in self.index_files:
                found = resolve_inside(self._root, [*parts, index])
                if found is not None:
                    break
        return found

    def _variant(self, path: str, st: os.stat_result, encoding: str) -> _Variant:
        body = None
        if st.st_size <= self.small_file_size:
            with open(path, "rb") as f:
                body = f.read()
        return _Variant(path, st.st_size, st.st_mtime, make_etag(st.st_mtime_ns, st.st_size,
                                                                 encoding), body)

    def _lookup(self, parts: list[str]) -> _FileInfo | None:
        """Blocking file-system work (run in a worker thread): the file and its siblings."""
        found = self._find(parts)
        if found is None:
            return None
        path, st = found
        variants = {"": self._variant(path, st, "")}
        if self.precompressed:
            folder, name = os.path.split(path)
            for coding, ext in ENCODINGS:
                candidate = os.path.join(folder, name + ext)
                if not os.path.exists(candidate):
                    continue
                sibling = resolve_inside(self._root,
                                         os.path.relpath(candidate, self._root).split(os.sep))
                if sibling is not None:
                    variants[coding] = self._variant(*sibling, coding)
        name = os.path.basename(path)
        return _FileInfo(name, content_type_for(name), variants)

    def _plan(self, request: Request, info: _FileInfo) -> _Plan:
        """Pick the representation and status for ``request`` (no I/O)."""
        headers = request.headers
        range_header = headers.get("range")
        encoding = ""
        if len(info.variants) > 1 and not range_header:
            accepted = accepted_encodings(headers.get("accept-encoding"))
            for coding, _ in ENCODINGS:
                if coding in info.variants and (coding in accepted or "*" in accepted):
                    encoding = coding
                    break
        variant = info.variants[encoding]
        fresh = not_modified(headers.get("if-none-match"), headers.get("if-modified-since"),
                             variant.etag, variant.mtime)
        byte_range: tuple[int, int] | None = None
        if not fresh and range_header and if_range_matches(headers.get("if-range"),
                                                           variant.etag, variant.mtime):
            try:
                byte_range = parse_range(range_header, variant.size)
            except Unsatisfiable:
                byte_range = (-1, -1)
        return _Plan(variant, encoding, fresh, byte_range)

    def _respond(self, request: Request, plan: _Plan, info: _FileInfo) -> Response:
        variant = plan.variant
        response = Response(b"", 200)
        h = response.headers
        h["etag"] = variant.etag
        h["last-modified"] = http_date(variant.mtime)
        h["cache-control"] = self.cache_control(info.name)
        if len(info.variants) > 1:
            h["vary"] = "Accept-Encoding"
        if plan.fresh:
            response.status = 304
            return response
        h["content-type"] = info.content_type
        h["accept-ranges"] = "bytes"
        h["x-content-type-options"] = "nosniff"
        if plan.encoding:
            h["content-encoding"] = plan.encoding
        start, end = 0, variant.size - 1
        if plan.byte_range == (-1, -1):
            response.status = 416
            h["content-range"] = f"bytes */{variant.size}"
            h["content-type"] = "text/plain; charset=utf-8"
            response.body = f"range {request.headers.get('range')!r} is outside the file " \
                            f"({variant.size} bytes)".encode()
            h["content-length"] = str(len(response.body))
            return response
        if plan.byte_range is not None:
            start, end = plan.byte_range
            response.status = 206
            h["content-range"] = f"bytes {start}-{end}/{variant.size}"
        length = max(0, end - start + 1)
        h["content-length"] = str(length)
        if request.method == "HEAD" or length == 0:
            return response
        if variant.body is not None:
            response.body = variant.body[start:end + 1] if plan.byte_range else variant.body
        else:
            response.stream = file_chunks(variant.path, start, length, self.chunk_size)
        return response


async def file_chunks(path: str | os.PathLike[str], start: int, length: int,
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

"""Where uploads are kept: the :class:`Storage` interface and :class:`LocalStorage`."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import trio

from rum_forms.uploads import safe_filename

if TYPE_CHECKING:
    from rum_forms.uploads import UploadedFile

_KEY = re.compile(r"[0-9a-f]{32}/[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")


@runtime_checkable
class Storage(Protocol):
    """A place to keep uploaded files under string keys.

    :class:`LocalStorage` keeps them on the local disk; a plugin can provide another (e.g. S3)
    by assigning an object with these four methods to ``app.extensions["forms"].storage``.
    """

    async def save(self, upload: UploadedFile) -> str:
        """Store ``upload``'s data; return the new key."""
        ...

    async def open(self, key: str) -> Any:
        """An async readable file for ``key`` (``await f.read()``, ``async with``)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key``; deleting a missing key is not an error."""
        ...

    def url(self, key: str) -> str:
        """The URL the stored file is served at."""
        ...


class LocalStorage:
    """Uploads kept under ``root`` on the local disk, as ``<random hex>/<safe file name>``.

    Keys are unguessable (128 random bits) and keep a sanitised version of the client's file
    name. Every key is checked against that shape before it touches the file system, so a
    key from a request can never name a path outside ``root``. ``url(key)`` is
    ``base_url + "/" + key``; serve ``root`` at ``base_url`` with the static plugin when the
    files are public.
    """

    def __init__(self, root: str | os.PathLike[str], base_url: str = "/uploads") -> None:
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")

    def path(self, key: str) -> Path:
        """The file behind ``key``; ``ValueError`` for a key this storage never makes."""
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ValueError(f"not a LocalStorage key: {key!r}")
        return self.root / key

    def _write(self, upload: UploadedFile, key: str) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        upload._copy_to(path)

    async def save(self, upload: UploadedFile) -> str:
        """Copy ``upload`` under a new key (in a worker thread); return the key."""
        key = f"{secrets.token_hex(16)}/{safe_filename(upload.filename)}"
        await trio.to_thread.run_sync(self._write, upload, key)
        return key

    async def open(self, key: str) -> Any:
        """The stored file, opened for reading as a trio async file (close it when done).

        ``FileNotFoundError`` if no file is stored under ``key``.
        """
        return await trio.open_file(self.path(key), "rb")

    def _delete(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()
        except OSError:
            pass

    async def delete(self, key: str) -> None:
        """Remove the file stored under ``key`` (no error if it is already gone)."""
        await trio.to_thread.run_sync(self._delete, self.path(key))

    def url(self, key: str) -> str:
        """``base_url/key``."""
        self.path(key)
        return f"{self.base_url}/{key}"

    def __repr__(self) -> str:
        return f"<LocalStorage {str(self.root)!r} at {self.base_url!r}>"

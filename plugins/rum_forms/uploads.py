"""``UploadedFile``: one file of a multipart body, kept in memory or spooled to disk."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import IO

import trio

_CHUNK = 256 * 1024


def safe_filename(filename: str) -> str:
    """The client's file name reduced to a harmless basename (no directories, no dotfiles).

    Keeps letters, digits, ``.``, ``-`` and ``_``; anything else becomes ``_``. Never empty.
    """
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in base)
    cleaned = cleaned.lstrip(".")[:200]
    return cleaned or "upload"


class UploadedFile:
    """One uploaded file: ``filename`` (the client's, basename only), ``content_type``,
    ``size`` in bytes, and the data in :attr:`file` (a ``SpooledTemporaryFile``).

    Small files stay in memory; past ``[forms] spool_threshold`` bytes (counted over all the
    files of the body) they are written to an anonymous temporary file. :meth:`read` and
    :meth:`save` run file I/O in a worker thread once the data is on disk. The file is closed
    (and the temporary file deleted) when the response is ready; save what you keep before
    returning.
    """

    def __init__(self, name: str, filename: str, content_type: str,
                 file: tempfile.SpooledTemporaryFile[bytes], size: int,
                 headers: dict[str, str] | None = None) -> None:
        self.name = name
        self.filename = filename
        self.content_type = content_type
        self.file = file
        self.size = size
        self.headers = headers or {}

    @classmethod
    def from_bytes(cls, name: str, filename: str, content: bytes,
                   content_type: str = "application/octet-stream") -> UploadedFile:
        """An upload holding ``content`` (for tests and for code that makes files itself)."""
        spool: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=len(content) + 1)
        spool.write(content)
        spool.seek(0)
        return cls(name, filename, content_type, spool, len(content))

    @property
    def in_memory(self) -> bool:
        """True while the data is held in memory, False once it was spooled to disk."""
        return not getattr(self.file, "_rolled", False)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran (the data is gone)."""
        return bool(self.file.closed)

    def _read(self, size: int) -> bytes:
        if size < 0:
            self.file.seek(0)
        return self.file.read(size)

    async def read(self, size: int = -1) -> bytes:
        """Read ``size`` bytes from the current position (``-1``: the whole file, from the
        start). Disk reads happen in a worker thread."""
        if self.in_memory:
            return self._read(size)
        return await trio.to_thread.run_sync(self._read, size)

    def _copy_to(self, path: Path) -> Path:
        self.file.seek(0)
        with open(path, "wb") as out:
            shutil.copyfileobj(self.file, out, _CHUNK)  # type: ignore[misc]
        return path

    async def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the file to ``path`` (replacing it), in a worker thread; returns the path.

        The parent directory must exist. Saving does not consume the upload: it can be read or
        saved again afterwards.
        """
        return await trio.to_thread.run_sync(self._copy_to, Path(path))

    def open(self) -> IO[bytes]:
        """The underlying file object, rewound to the start (blocking I/O: use in a thread)."""
        self.file.seek(0)
        return self.file  # type: ignore[return-value]

    def close(self) -> None:
        """Free the data: memory, or the temporary file on disk."""
        self.file.close()

    def __repr__(self) -> str:
        where = "memory" if self.in_memory else "disk"
        return f"<UploadedFile {self.name}={self.filename!r} {self.size} bytes in {where}>"

"""Fingerprinted copies of ``static/`` files: ``app.css`` is served as ``app.<hash>.css``.

The static plugin gives names that carry a content hash a year-long ``immutable`` cache
lifetime, so a new deploy (new hash, new URL) is picked up at once while unchanged files are
never fetched twice. Templates ask for ``asset_path("app.css")``.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import weakref
from pathlib import Path

PREFIX = "/assets"


class Assets:
    """Copies each file of ``source`` under its fingerprinted name into a private directory."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.directory = Path(tempfile.mkdtemp(prefix="rum-sample-assets-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.directory, True)
        self.names: dict[str, str] = {}
        self.build()

    def build(self) -> None:
        """(Re)build the fingerprinted copies."""
        for path in sorted(p for p in self.source.rglob("*") if p.is_file()):
            relative = path.relative_to(self.source)
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            name = relative.with_name(f"{relative.stem}.{digest}{relative.suffix}").as_posix()
            target = self.directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            self.names[relative.as_posix()] = name

    def path(self, name: str) -> str:
        """The URL of ``name``'s fingerprinted copy (``/assets/app.3f2a9c1b5e7d.css``)."""
        try:
            return f"{PREFIX}/{self.names[name]}"
        except KeyError:
            raise LookupError(f"no static file {name!r} in {self.source}; known: "
                              f"{', '.join(sorted(self.names)) or 'none'}") from None

    def close(self) -> None:
        """Delete the copies."""
        self._cleanup()

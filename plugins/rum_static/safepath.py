"""Map a URL path onto a file inside a root directory, refusing every way out of it."""

from __future__ import annotations

import os
from pathlib import Path

#: Characters that never appear in a served path segment: NUL, backslash (a separator on
#: Windows), and the drive-letter colon.
_FORBIDDEN = ("\x00", "\\", ":")


def split_url_path(path: str, *, allow_hidden: bool = False) -> list[str] | None:
    """The safe segments of a percent-decoded URL path, or ``None`` if any segment is unsafe.

    Refused: ``.`` and ``..`` segments, NUL bytes, backslashes, colons and (unless
    ``allow_hidden``) names starting with a dot such as ``.env`` or ``.git``. Empty segments
    (``a//b``, a leading ``/``) are dropped, so an absolute path stays relative to the root.
    """
    parts: list[str] = []
    for segment in path.split("/"):
        if not segment:
            continue
        if segment in (".", "..") or any(ch in segment for ch in _FORBIDDEN):
            return None
        if segment.startswith(".") and not allow_hidden:
            return None
        parts.append(segment)
    return parts


def resolve_inside(root: Path, parts: list[str]) -> Path | None:
    """The real path of ``root/parts...`` if it exists and lies inside ``root``, else ``None``.

    ``root`` must already be resolved. Symbolic links are followed, and a link that leads
    out of ``root`` yields ``None``, as does anything that is not a regular file.
    """
    if not parts:
        return None
    try:
        real = Path(os.path.realpath(root.joinpath(*parts), strict=True))
    except (OSError, ValueError):
        return None
    if real != root and root not in real.parents:
        return None
    return real if real.is_file() else None

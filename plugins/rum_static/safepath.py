"""Map a URL path onto a file inside a root directory, refusing every way out of it."""

from __future__ import annotations

import os
import stat

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


def resolve_inside(root: str, parts: list[str]) -> tuple[str, os.stat_result] | None:
    """The real path and stat of ``root/parts...`` if it is a regular file inside ``root``.

    ``root`` must already be resolved (no symbolic links). Components are checked one by
    one with ``lstat``; a symbolic link is followed, and one that leads out of ``root``
    yields ``None``, as does anything missing or not a regular file. A plain path costs one
    ``lstat`` per component below the root.
    """
    if not parts:
        return None
    path = root
    st: os.stat_result | None = None
    try:
        for part in parts:
            path = os.path.join(path, part)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                path = os.path.realpath(path, strict=True)
                if not (path == root or path.startswith(root + os.sep)):
                    return None
                st = os.stat(path)
    except (OSError, ValueError):
        return None
    if st is None or not stat.S_ISREG(st.st_mode):
        return None
    return path, st

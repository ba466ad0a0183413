"""Rum static plugin: serve directories under URL prefixes (``[static]`` in Rum.toml).

See ``docs/static.md``. :class:`StaticFiles` is also a controller for custom routes.
"""

from rum_static.files import StaticFiles, content_type_for

__all__ = ["StaticFiles", "content_type_for"]

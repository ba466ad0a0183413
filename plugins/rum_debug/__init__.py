"""Rum debug plugin: a styled development error page, and clean 404/500 pages for production
that the app can replace with its own templates (``templates/errors/404.html``).

See the "Error pages" section of ``docs/errors.md``.
"""

from rum_debug.pages import debug_page, error_page, split_frames

__all__ = ["debug_page", "error_page", "split_frames"]

"""The app and request being served by the current trio task (context variables, no globals).

Each lives with the class that sets it: :func:`current_app` in :mod:`rum.app` (set by
``app.running()``), :func:`current_request` in :mod:`rum.request` (set by ``app.handle``).
"""

from rum.app import current_app
from rum.request import current_request

__all__ = ["current_app", "current_request"]

"""Test support for Rum apps: the in-process :class:`TestClient` and pytest fixtures.

Nothing here is imported when an app runs: ``app.test_client()`` imports :mod:`rum.testing.client`
lazily, and pytest loads :mod:`rum.testing.fixtures` (``rum_app_factory``, ``rum_app``,
``rum_client``, ``unused_port``) through the ``pytest11`` entry point. This package itself
imports no pytest, so a program may use the client without it.
"""

from rum.testing.client import TestClient

__all__ = ["TestClient"]

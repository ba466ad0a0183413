"""Fixtures shared by the plugin tests: the WebSocket test client from
``rum_websockets.testing``."""

from __future__ import annotations

import pytest

from rum_websockets.testing import Closed, Rejected, ws_connect


@pytest.fixture(name="ws_connect")
def ws_connect_fixture():
    """The :func:`rum_websockets.testing.ws_connect` async context manager."""
    return ws_connect


@pytest.fixture(name="Closed")
def closed_fixture():
    return Closed


@pytest.fixture(name="Rejected")
def rejected_fixture():
    return Rejected

"""Fixtures for the sample project's tests: the order tracker on a fresh database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sample_support import merged


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Callable[..., Any]:
    """``make_app(tracker={...}, ...)``: the sample app on this test's fresh database.

    The summary cron is off unless a test turns it on; the access log is quiet; mail goes to
    the in-memory test backend (``rum_mail.testing``) and uploads under ``tmp_path``.
    """
    from tracker import create_app

    def make(**sections: dict[str, Any]) -> Any:
        config = merged({"database": {"url": database_url},
                         "http": {"access_log": False},
                         "mail": {"backend": "test"},
                         "accounts": {"hash_profile": "test"},
                         "forms": {"upload_root": str(tmp_path / "uploads")},
                         "tracker": {"summary_cron": ""}}, sections)
        return create_app(config=config)

    return make

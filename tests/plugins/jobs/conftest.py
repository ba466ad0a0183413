"""Fixtures for the jobs plugin tests: a fresh database with the jobs schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from rum_jobs import ensure_schema


@pytest.fixture
async def jdb(db: Any) -> AsyncIterator[Any]:
    """The ``db`` fixture (an open ``rum_orm.Database``) with the jobs tables created."""
    await ensure_schema(db)
    yield db

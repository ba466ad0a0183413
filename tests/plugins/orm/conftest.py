"""Fixtures of the ORM tests: the seed README's shop schema on a fresh database."""

from __future__ import annotations

import pytest
from orm_shop import seed_shop

from rum_orm import Database


@pytest.fixture
async def shop(db: Database) -> dict[str, int]:
    """The users/orders/products tables with a few rows; ids by label."""
    return await seed_shop(db)

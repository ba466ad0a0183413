"""One-filter reads (``find(pk)``, ``filter(col=value).fetch()``) take their SQL from a cache
keyed by model, column, operator and limit: the statement must be exactly what the builder
writes, for every shape the cache takes and none it must not, and the rows must be right."""

from __future__ import annotations

from typing import Any

import pytest
from orm_shop import Order, User

from rum_orm import NotFound, Scope
from rum_orm.sql import Params

SHAPES: list[Any] = [
    User.find(3),
    User.find("3"),
    Order.find(3),
    User.filter(email="a@example.com"),
    User.filter_gt(id=2),
    User.filter_lte("id", 5),
    User.not_(name="bob"),
    # shapes the cache must leave to the builder
    User.filter(email=None),
    User.filter(id=[1, 2]),
    User.filter(id={1, 2}),
    User.filter(email="a@example.com", name="x"),
    User.filter(email="a@example.com").order("id"),
    User.filter(email="a@example.com").limit(1),
    User.filter(email="a@example.com").offset(1),
    User.filter(email="a@example.com").distinct(),
    User.filter(email="a@example.com").lock(),
    User.find(3).join(Order),
    User.find(10**30),
]


def built(scope: Scope[Any], limit: int) -> tuple[str, list[Any]]:
    params = Params()
    return scope._select(params, limit=limit), params.values


@pytest.mark.parametrize("scope", SHAPES, ids=repr)
def test_the_read_runs_what_the_builder_writes(scope: Scope[Any]) -> None:
    for _ in range(2):  # a miss fills the cache, then a hit
        for read, limit in ((scope.fetch_optional(), 2), (scope.fetch(), 2),
                            (scope.fetch_first(), 1)):
            assert (read.sql, read.args) == built(scope, limit)


def test_the_cache_tells_models_columns_operators_and_limits_apart() -> None:
    assert User.find(1).fetch().sql != Order.find(1).fetch().sql
    assert User.filter(email="x").fetch().sql != User.filter(name="x").fetch().sql
    assert User.filter_gt(id=1).fetch().sql != User.filter_lt(id=1).fetch().sql
    assert User.find(1).fetch().sql.endswith("LIMIT 2")
    assert User.filter(email="x").fetch_first().sql.endswith("LIMIT 1")


async def test_cached_reads_return_their_own_rows(shop: dict[str, int]) -> None:
    for name in ("alice", "bob", "carol"):
        user = await User.find(shop[name]).fetch()
        assert user.id == shop[name]
        again = await User.filter(email=user.email).fetch()
        first = await User.filter(email=user.email).fetch_first()
        assert again.id == user.id and first is not None and first.id == user.id
    assert await User.filter(email="nobody@example.com").fetch_optional() is None
    with pytest.raises(NotFound, match="User not found"):
        await User.find(10**9).fetch()

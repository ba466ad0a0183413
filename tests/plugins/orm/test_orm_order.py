"""``order("-id")`` / ``order("id desc")``: directions in the column string, against PostgreSQL."""

from __future__ import annotations

import pytest
from orm_shop import Order, User

from rum_orm import UnknownColumn


async def test_minus_prefix_sorts_descending(shop: dict[str, int]) -> None:
    scope = Order.all().order("-id")
    assert scope.to_sql() == 'SELECT * FROM "orders" ORDER BY "orders"."id" DESC'
    assert [o.id for o in await scope.fetch_all()] == [shop[k] for k in ("o4", "o3", "o2", "o1")]
    totals = await Order.all().order("-total_amount").fetch_all()
    assert [o.total_amount for o in totals] == [99.0, 30.0, 12.0, 0.5]


@pytest.mark.parametrize("text", ["id desc", "id DESC", "  id   Desc ", "-id"])
async def test_direction_words_in_the_string(shop: dict[str, int], text: str) -> None:
    first = await Order.all().order(text).fetch_first()
    assert first is not None and first.id == shop["o4"]


async def test_ascending_and_mixed_terms(shop: dict[str, int]) -> None:
    asc = await Order.all().order("id asc").fetch_all()
    assert [o.id for o in asc] == [shop[k] for k in ("o1", "o2", "o3", "o4")]
    # user_id ascending, then total descending within a user
    mixed = await Order.all().order("user_id", "-total_amount").fetch_all()
    assert [o.total_amount for o in mixed] == [30.0, 0.5, 12.0, 99.0]
    assert Order.all().order("refunded_at desc nulls last").to_sql().endswith(
        'ORDER BY "orders"."refunded_at" DESC NULLS LAST')
    assert Order.all().order("refunded_at", "desc  nulls first").to_sql().endswith(
        'ORDER BY "orders"."refunded_at" DESC NULLS FIRST')
    # the old forms keep working
    assert (Order.all().order("id", "DESC").to_sql()
            == Order.all().order(("id", "desc")).to_sql() == Order.all().order("-id").to_sql())


async def test_minus_on_a_joined_column(shop: dict[str, int]) -> None:
    users = await User.all().join(Order).order("-orders.total_amount").fetch_all()
    assert [u.id for u in users] == [shop[k] for k in ("carol", "alice", "bob", "alice")]
    users = await User.all().join(Order).order("-total_amount").fetch_all()
    assert users[0].id == shop["carol"]


async def test_unknown_column_still_suggests_the_closest(shop: dict[str, int]) -> None:
    with pytest.raises(UnknownColumn, match="did you mean 'total_amount'"):
        await Order.all().order("-total_amont").fetch_all()
    with pytest.raises(UnknownColumn, match="did you mean 'id'"):
        await Order.all().order("idd desc").fetch_all()


@pytest.mark.parametrize(("text", "message"), [
    ("id; DROP TABLE orders", "direction"),
    ("id desc; DROP TABLE orders", "direction"),
    ("id sideways", "direction"),
    ("-id desc", "direction once"),
    ("--id", "not a column name"),
    ("-", "not a column name"),
    ("", "empty column name"),
    ("   ", "empty column name"),
    ("id,total_amount", "not a column name"),
    ('"id"', "not a column name"),
    ("a.b.c", "not a column name"),
    ("total_amount)", "not a column name"),
])
async def test_anything_else_is_a_clear_error(shop: dict[str, int], text: str,
                                              message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Order.all().order(text)
    assert await Order.all().count() == 4  # nothing ran, the table is intact


def test_tuples_take_the_direction_once() -> None:
    with pytest.raises(ValueError, match="direction once"):
        Order.all().order(("-id", "ASC"))
    with pytest.raises(ValueError, match="not a column name"):
        Order.all().order(("id;", "ASC"))
    with pytest.raises(TypeError, match="column names"):
        Order.all().order(3)

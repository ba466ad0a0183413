"""``Model.bulk_update``: several existing records written in one round trip, against a real
PostgreSQL."""

from __future__ import annotations

from typing import Annotated

import pytest
from orm_shop import Order, User

from rum_orm import Database, Model, OrmError, ValidationError, transaction
from rum_orm.changes import on_change, remove_change_listener
from rum_orm.validators import numericality
from rum_orm.values import ValueRejected


async def test_writes_each_record_its_own_values(shop: dict[str, int]) -> None:
    orders = await Order.all().order("id").fetch_all()
    for n, order in enumerate(orders):
        order.total_amount = 100.0 + n
    assert await Order.bulk_update(orders, ["total_amount"]) == len(orders)
    again = await Order.all().order("id").fetch_all()
    assert [o.total_amount for o in again] == [100.0 + n for n in range(len(orders))]


async def test_only_the_named_fields_are_written(shop: dict[str, int]) -> None:
    users = await User.all().order("id").fetch_all()
    before = {u.id: u.email for u in users}
    for user in users:
        user.admin = True
        user.email = "changed-" + user.email  # not in fields: stays as it is in the table
    await User.bulk_update(users, ["admin"])
    after = await User.all().order("id").fetch_all()
    assert all(u.admin for u in after)
    assert {u.id: u.email for u in after} == before


async def test_default_fields_are_every_column_but_the_key(shop: dict[str, int]) -> None:
    users = await User.all().order("id").fetch_all()
    for user in users:
        user.email = f"bulk-{user.id}@test.com"
    await User.bulk_update(users)
    assert sorted(u.email for u in await User.all().fetch_all()) == \
        sorted(f"bulk-{u.id}@test.com" for u in users)


async def test_bad_input_is_refused_before_anything_is_written(shop: dict[str, int]) -> None:
    users = await User.all().order("id").fetch_all()
    emails = sorted(u.email for u in users)
    users[0].email = "fine@test.com"
    users[-1].email = "nul\x00byte@test.com"
    with pytest.raises(ValueRejected, match="email"):
        await User.bulk_update(users, ["email"])
    with pytest.raises(OrmError, match="did you mean 'email'"):
        await User.bulk_update(users, ["emial"])
    with pytest.raises(OrmError, match="cannot change it"):
        await User.bulk_update(users, ["id", "email"])
    with pytest.raises(OrmError, match="has no id"):
        await User.bulk_update([User(email="new@test.com")], ["email"])
    with pytest.raises(TypeError, match="takes User records"):
        await User.bulk_update([users[0], await Order.all().fetch_first()], ["email"])
    assert sorted(u.email for u in await User.all().fetch_all()) == emails
    assert await User.bulk_update([], ["email"]) == 0


class Gauge(Model):
    id: int | None = None
    level: Annotated[int, numericality(between=(0, 10))]


async def test_validation_fails_the_whole_batch(db: Database) -> None:
    await db.execute("CREATE TEMP TABLE gauges (id serial PRIMARY KEY, level int NOT NULL)")
    gauges = [await Gauge(level=n).save(db) for n in range(3)]
    gauges[0].level, gauges[2].level = 5, 99
    with pytest.raises(ValidationError, match="Level must be between 0 and 10"):
        await Gauge.bulk_update(gauges, ["level"], conn=db)
    assert [g.level for g in await Gauge.all().order("id").fetch_all(db)] == [0, 1, 2]
    await Gauge.bulk_update(gauges, ["level"], conn=db, validate=False)
    assert [g.level for g in await Gauge.all().order("id").fetch_all(db)] == [5, 1, 99]


async def test_joins_the_current_transaction(shop: dict[str, int]) -> None:
    users = await User.all().fetch_all()
    for user in users:
        user.admin = True

    class Undo(Exception):
        pass

    with pytest.raises(Undo):
        async with transaction():
            await User.bulk_update(users, ["admin"])
            assert await User.filter(admin=True).count() == len(users)
            raise Undo
    assert await User.filter(admin=True).count() < len(users)


async def test_change_listeners_hear_each_record(shop: dict[str, int]) -> None:
    heard: list[tuple[str, int]] = []

    async def listen(change: object) -> None:
        heard.append((change.action, change.record.id))  # type: ignore[attr-defined]

    users = await User.all().order("id").fetch_all()
    on_change(listen)
    try:
        await User.bulk_update(users, ["admin"])
    finally:
        remove_change_listener(listen)
    assert heard == [("update", u.id) for u in users]

"""Values the ORM checks before they reach PostgreSQL: clear errors naming the column."""

from __future__ import annotations

import decimal
from typing import Any

import pytest

import rum
from rum_orm import (
    INT64_MAX,
    INT64_MIN,
    Database,
    InvalidValue,
    Model,
    NotFound,
    ValueRejected,
    check_value,
    problem_with,
)

pytestmark = pytest.mark.postgres

SCHEMA = """
CREATE TABLE items (
    id bigserial PRIMARY KEY,
    qty bigint NOT NULL DEFAULT 0,
    name text NOT NULL DEFAULT '',
    price numeric,
    ratio double precision,
    data jsonb
)
"""


class Item(Model):
    id: int | None = None
    qty: int = 0
    name: str = ""
    price: decimal.Decimal | None = None
    ratio: float | None = None
    data: dict[str, Any] | None = None


INT_RANGE = f"must be between {INT64_MIN} and {INT64_MAX}"


@pytest.fixture
async def items(db: Database) -> Database:
    await db.execute(SCHEMA)
    await Item.create(qty=1, name="one").fetch(db)
    return db


def test_value_rejected_is_a_422_and_an_invalid_value() -> None:
    exc = ValueRejected("qty", INT_RANGE, model=Item)
    assert isinstance(exc, InvalidValue) and isinstance(exc, ValueError)
    assert isinstance(exc, rum.errors.UnprocessableEntity) and exc.status == 422
    assert str(exc) == f"Item.qty: {INT_RANGE}"
    assert exc.data == {"qty": [INT_RANGE]} and exc.column == "qty"


@pytest.mark.parametrize(("value", "kind", "problem"), [
    (2**63, int, INT_RANGE),
    (-(2**63) - 1, None, INT_RANGE),
    (2**63 - 1, int, None),
    (2**70, decimal.Decimal, None),  # numeric takes it
    ("a\x00b", str, "must not contain NUL characters (\\u0000)"),
    ("caf\u00e9", str, None),
    ("x\ud800", str, "must be valid Unicode text; it holds a lone surrogate ('\\ud800') at "
                     "position 1"),
    (float("nan"), float, None),  # double precision takes NaN
    (float("inf"), decimal.Decimal, "must be a finite number"),
    (decimal.Decimal("1e200000"), decimal.Decimal,
     "must have at most 131072 digits before the decimal point and 16383 after it"),
    (decimal.Decimal("NaN"), decimal.Decimal, None),
    ({"k": ["ok", "nul\x00"]}, dict, "must not contain NUL characters (\\u0000)"),
    ({"k\ud800": 1}, dict, "key 'k\\ud800': must be valid Unicode text; it holds a lone "
                           "surrogate ('\\ud800') at position 1"),
    ({"k": [1.5, float("nan")]}, dict, "must not hold NaN or Infinity"),
    ([1, 2**64], None, INT_RANGE),
])
def test_problem_with(value: Any, kind: Any, problem: str | None) -> None:
    assert problem_with(value, kind) == problem


def test_check_value_names_the_column() -> None:
    assert check_value(5, int, "qty") == 5
    with pytest.raises(ValueRejected, match=r"^qty: must be between"):
        check_value(2**64, int, "qty")


async def test_model_queries_refuse_bad_values_before_postgres(items: Database) -> None:
    with pytest.raises(ValueRejected) as caught:
        await Item.create(qty=2**70).fetch(items)
    assert str(caught.value) == f"Item.qty: {INT_RANGE}"
    assert caught.value.data == {"qty": [INT_RANGE]}

    with pytest.raises(ValueRejected, match=r"^Item\.qty: must be between"):
        await Item.all().filter(qty=99999999999999999999).fetch_all(items)
    with pytest.raises(ValueRejected, match=r"^Item\.qty: must be between"):
        await Item.all().filter(qty=[1, 2**63]).fetch_all(items)
    with pytest.raises(ValueRejected, match=r"^Item\.name: must not contain NUL"):
        await Item.all().filter_gt("name", "a\x00").count(items)
    with pytest.raises(ValueRejected, match=r"^Item\.name: must be valid Unicode text"):
        await Item.create(name="\udcff").fetch(items)
    with pytest.raises(ValueRejected, match=r"^Item\.data: must not contain NUL"):
        await Item.create(data={"a": "\x00"}).fetch(items)
    one = await Item.all().fetch(items)
    one.qty = -(2**63) - 1
    with pytest.raises(ValueRejected, match=r"^Item\.qty: "):
        await one.save(items)
    with pytest.raises(ValueRejected, match=r"^Item\.qty: "):
        await Item.all().update_all(qty=2**64, conn=items)
    with pytest.raises(ValueRejected, match=r"^\$1: must not contain NUL"):
        await Item.find_by_sql("SELECT * FROM items WHERE name = $1 || ''",
                               ["\x00"]).fetch_all(items)
    # nothing was written
    assert [(i.qty, i.name) for i in await Item.all().fetch_all(items)] == [(1, "one")]


async def test_values_at_the_limits_are_stored(items: Database) -> None:
    top = await Item.create(qty=INT64_MAX, name="caf\u00e9 \U0001f600",
                            price=decimal.Decimal(2**80), ratio=float("inf")).fetch(items)
    assert top.qty == INT64_MAX and top.price == 2**80 and top.ratio == float("inf")
    # a big int compared with a numeric column is fine: only bigint columns are bounded
    assert await Item.all().filter_lt("price", 2**90).count(items) == 1
    low = await Item.create(qty=INT64_MIN).fetch(items)
    assert (await Item.find(low.id).fetch(items)).qty == INT64_MIN


async def test_ids_beyond_bigint_are_not_found(items: Database) -> None:
    for pk in (2**63, -(2**63) - 1, "99999999999999999999999"):
        assert await Item.find(pk).fetch_optional(items) is None
        with pytest.raises(NotFound):
            await Item.find(pk).fetch(items)


def test_limit_and_offset_are_bounded() -> None:
    assert Item.all().limit(INT64_MAX).offset(INT64_MAX).limit_ == INT64_MAX
    with pytest.raises(ValueRejected, match=r"^offset: must be between 0 and "):
        Item.all().offset(2**63)
    with pytest.raises(ValueError, match="non-negative"):
        Item.all().limit(-1)


class Gizmo(Model):
    id: int | None = None
    small: int = 0
    code: str = ""
    price: decimal.Decimal = decimal.Decimal(0)


async def test_narrower_columns_refused_by_the_driver_or_postgres(db: Database) -> None:
    await db.execute("CREATE TABLE gizmos (id bigserial PRIMARY KEY, small smallint NOT NULL "
                     "DEFAULT 0, code varchar(3) NOT NULL DEFAULT '', price numeric(5, 2) "
                     "NOT NULL DEFAULT 0)")
    with pytest.raises(ValueRejected) as caught:
        await Gizmo.create(small=40000).fetch(db)
    assert str(caught.value) == "Gizmo.small: must be between -32768 and 32767"
    assert caught.value.status == 422 and caught.value.data == {
        "small": ["must be between -32768 and 32767"]}
    with pytest.raises(ValueRejected, match=r"^Gizmo: value too long for type character "
                                            r"varying\(3\)"):
        await Gizmo.create(code="abcd").fetch(db)
    with pytest.raises(ValueRejected, match=r"^Gizmo: numeric field overflow \(A field with "
                                            r"precision 5, scale 2"):
        await Gizmo.create(price=decimal.Decimal("123456")).fetch(db)
    with pytest.raises(InvalidValue) as wrong_type:  # a wrong type stays a programming error
        await Gizmo.create(small="many").fetch(db)
    assert not isinstance(wrong_type.value, ValueRejected)
    assert await Gizmo.all().count(db) == 0

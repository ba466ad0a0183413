"""Models, scopes and records against a real PostgreSQL (the seed README's operation table)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest
import trio
from orm_shop import Order, Product, User

import rum
from rum_orm import (
    Database,
    Model,
    ModelDefinitionError,
    MultipleFound,
    NotFound,
    OrmError,
    UnknownColumn,
    has_many,
    table_name,
    transaction,
)


def emails(users: list[User]) -> list[str]:
    return sorted(u.email.split("@")[0] for u in users)


# -- declaration ------------------------------------------------------------------------------


def test_table_names_and_fields() -> None:
    assert User.__table__ == "users" and Order.__table__ == "orders"
    assert table_name("OrderItem") == "order_items"
    assert table_name("Category") == "categories" and table_name("Box") == "boxes"

    class Legacy(Model):
        __table__ = "tbl_legacy"
        name: str

    assert Legacy.all().to_sql() == 'SELECT * FROM "tbl_legacy"'
    assert list(Legacy.__fields__) == ["id", "name"]  # id primary key added
    assert list(User.__fields__) == ["id", "email", "created_at", "admin"]
    # string annotations (from __future__ import annotations) are resolved
    assert User.__fields__["created_at"].annotation is datetime
    assert Order.__fields__["refunded_at"].optional
    assert Order.__fields__["refunded_at"].base_type is datetime
    assert User.__fields__["id"].base_type is int

    class Local:
        pass

    class Odd(Model):
        thing: Local  # only exists in this function: kept as a string

    assert Odd.__fields__["thing"].annotation == "Local"


def test_to_sql_matches_the_seed() -> None:
    assert User.all().to_sql() == 'SELECT * FROM "users"'
    assert User.find(15).to_sql() == 'SELECT * FROM "users" WHERE "users"."id" = $1'
    assert Order.column("name").to_sql() == '"orders"."name"'
    assert str(Product.column("name")) == '"products"."name"'
    scope = (User.all().filter("admin", True)
             .filter_gte("created_at", datetime.now(UTC))
             .filter_lte("created_at", datetime.now(UTC)))
    assert scope.to_sql() == ('SELECT * FROM "users" WHERE "users"."admin" = $1 AND '
                              '"users"."created_at" >= $2 AND "users"."created_at" <= $3')
    assert User.all().order("id").limit(25).offset(25).to_sql() == \
        'SELECT * FROM "users" ORDER BY "users"."id" LIMIT 25 OFFSET 25'
    nested = (User.all().join(Order).filter_gte(Order.column("total_amount"), 25.0)
              .join_nested(Order.join(Product)).filter(Product.column("name"), "apples"))
    assert nested.to_sql() == (
        'SELECT "users".* FROM "users" '
        'INNER JOIN "orders" ON "orders"."user_id" = "users"."id" '
        'INNER JOIN "products" ON "products"."order_id" = "orders"."id" '
        'WHERE "orders"."total_amount" >= $1 AND "products"."name" = $2')
    assert nested.params == [25.0, "apples"]


def test_scopes_are_immutable() -> None:
    base = User.all()
    admins = base.filter(admin=True)
    assert base.to_sql() == 'SELECT * FROM "users"'
    assert admins is not base and "admin" in admins.to_sql()


def test_bad_arguments_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="direction"):
        User.all().order(("id", "; DROP TABLE users"))
    with pytest.raises(ValueError, match="non-negative"):
        User.all().limit(-1)
    with pytest.raises(ValueError, match="limit"):
        User.all().limit("5; DROP TABLE users")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="IS NULL"):
        User.all().filter_lt("created_at", None)
    with pytest.raises(OrmError, match="no field 'emial'; did you mean 'email'"):
        User(emial="x")
    with pytest.raises(OrmError, match="did you mean 'email'"):
        User.create(emial="x")
    with pytest.raises(ModelDefinitionError, match="no relation declared"):
        Product.all().join(User)


def test_unknown_relation_target_is_named() -> None:
    class Lonely(Model):
        friends = has_many("Frend")

    with pytest.raises(ModelDefinitionError, match="no model named 'Frend'"):
        Lonely.all().join("Frend")


# -- the operation table ----------------------------------------------------------------------


async def test_operation_table(shop: dict[str, int]) -> None:
    # =
    assert emails(await User.all().filter("admin", True).fetch_all()) == ["alice", "carol"]
    assert emails(await User.filter(admin=False).fetch_all()) == ["bob", "dave"]
    # < > <= >=
    assert len(await Order.filter_lt("total_amount", 12.0).fetch_all()) == 1
    assert len(await Order.filter_gt("total_amount", 12.0).fetch_all()) == 2
    assert len(await Order.filter_lte("total_amount", 12.0).fetch_all()) == 2
    assert len(await Order.filter_gte("total_amount", 12.0).fetch_all()) == 3
    # !=
    assert emails(await User.not_("email", "bob@hello.com").fetch_all()) == \
        ["alice", "carol", "dave"]
    assert emails(await User.all().filter_not(admin=True).fetch_all()) == ["bob", "dave"]
    # IN / NOT IN from lists
    assert emails(await User.filter("email", ["bob@hello.com", "dave@hello.com"])
                  .fetch_all()) == ["bob", "dave"]
    assert emails(await User.not_("email", ["joe@hello.com", "alice@hello.com"])
                  .fetch_all()) == ["bob", "carol", "dave"]
    assert await User.filter("email", []).fetch_all() == []
    # IS NULL from None
    assert await Order.filter(refunded_at=None).count() == 4
    assert await Order.not_(refunded_at=None).count() == 0
    # OR
    either = User.all().or_({"email": "bob@hello.com"}, User.filter(admin=True)
                            .filter_gte("created_at", datetime.now(UTC)
                                        - timedelta(days=1)))
    assert emails(await either.fetch_all()) == ["alice", "bob"]


async def test_filters_compose_with_times(shop: dict[str, int]) -> None:
    now = datetime.now(UTC)
    new_admins = await (User.all().filter("admin", True)
                        .filter_gte("created_at", now - timedelta(days=1))
                        .filter_lte("created_at", now).fetch_all())
    assert emails(new_admins) == ["alice"]


async def test_scopes_as_classmethods(shop: dict[str, int]) -> None:
    assert emails(await User.admins().fetch_all()) == ["alice", "carol"]
    assert emails(await User.new_admins().fetch_all()) == ["alice"]
    assert await User.admins().count() == 2


async def test_find_fetch_and_not_found(shop: dict[str, int]) -> None:
    alice = await User.find(shop["alice"]).fetch()
    assert alice.email == "alice@hello.com" and alice.admin is True
    assert alice.created_at.tzinfo is not None
    assert await User.find(999_999).fetch_optional() is None
    with pytest.raises(NotFound, match="User not found where id = 999999") as info:
        await User.find(999_999).fetch()
    assert isinstance(info.value, rum.NotFound) and info.value.status == 404
    assert info.value.params == [999_999]
    with pytest.raises(MultipleFound, match="expected one User"):
        await User.filter(admin=True).fetch()
    with pytest.raises(MultipleFound):
        await User.filter(admin=True).fetch_optional()
    assert (await User.find(str(shop["bob"])).fetch()).email == "bob@hello.com"  # from a URL
    assert await User.find("nope").fetch_optional() is None
    with pytest.raises(NotFound):
        await User.find("1; DROP TABLE users").fetch()
    first = await User.all().order(("id", "DESC")).fetch_first()
    assert first is not None and first.id == shop["dave"]


async def test_order_limit_offset_count_exists(shop: dict[str, int]) -> None:
    asc = await Order.all().order("total_amount").fetch_all()
    assert [o.total_amount for o in asc] == [0.5, 12.0, 30.0, 99.0]
    desc = await Order.all().order(("total_amount", "DESC")).fetch_all()
    assert [o.total_amount for o in desc] == [99.0, 30.0, 12.0, 0.5]
    page = await Order.all().order("id").limit(2).offset(1).fetch_all()
    assert [o.id for o in page] == [shop["o2"], shop["o3"]]
    assert await User.all().count() == 4
    assert await User.all().filter("email", None).count() == 0
    assert await User.all().limit(2).count() == 2
    assert await User.filter(admin=True).exists()
    assert not await User.filter(email="nobody").exists()


async def test_explain(shop: dict[str, int]) -> None:
    plan = await (User.all().filter_lte("created_at", datetime.now(UTC)).limit(25)
                  .explain())
    assert "Filter: (created_at <= " in plan and "Limit" in plan
    analyzed = await User.all().explain(analyze=True)
    assert "actual time" in analyzed


async def test_joins_nested_joins_and_ordering(shop: dict[str, int]) -> None:
    paying = await (User.all().join(Order).filter_gte(Order.column("total_amount"), 1.0)
                    .distinct().fetch_all())
    assert emails(paying) == ["alice", "bob", "carol"]
    apples = await (User.all().join(Order).filter_gte(Order.column("total_amount"), 25.0)
                    .join_nested(Order.join(Product)).filter(Product.column("name"), "apples")
                    .fetch_all())
    assert emails(apples) == ["alice"]
    ordered = await (User.all().join(Order).order(("total_amount", "DESC"))
                     .order((User.column("created_at"), "DESC")).limit(25).fetch_all())
    assert [u.email[0] for u in ordered] == ["c", "a", "b", "a"]
    # "table.column" strings and belongs_to joins work too
    big = await Order.all().join(User).filter("users.admin", True).order("total_amount") \
        .fetch_all()
    assert [o.total_amount for o in big] == [0.5, 30.0, 99.0]
    assert await Product.all().join(Order).join(User).filter(User.column("email"),
                                                           "bob@hello.com").count() == 1


async def test_related_in_one_query(shop: dict[str, int]) -> None:
    users = await User.all().order("id").limit(25).fetch_all()
    scope = User.related(Order, users)
    assert scope.to_sql() == 'SELECT * FROM "orders" WHERE "orders"."user_id" = ANY($1)'
    orders = await scope.fetch_all()
    assert sorted(o.id for o in orders) == sorted(shop[k] for k in ("o1", "o2", "o3", "o4"))
    owners = await Order.related(User, orders).fetch_all()
    assert emails(owners) == ["alice", "bob", "carol"]
    alice = next(u for u in users if u.email.startswith("alice"))
    assert len(await alice.orders.fetch_all()) == 2
    order = orders[0]
    assert (await order.user.fetch()).id == order.user_id


async def test_create_save_update_delete_reload(shop: dict[str, int]) -> None:
    user = User(email="hello@test.com", created_at=datetime.now(UTC), admin=False)
    assert user.id is None
    saved = await user.save()
    assert saved is user and isinstance(user.id, int)
    user.admin = True
    await user.save()
    assert (await User.find(user.id).fetch()).admin is True
    created = await User.create(email="new@test.com")
    assert created.admin is False and created.created_at is not None  # DB defaults
    explicit = await User.create([("email", "pairs@test.com"), ("admin", True)]).fetch()
    assert explicit.admin is True
    await User.find(user.id).update_all(admin=False)
    assert (await user.reload()).admin is False
    assert (await user.update(admin=True, email="upd@test.com")).email == "upd@test.com"
    assert (await User.find(user.id).fetch()).admin is True
    with pytest.raises(OrmError, match="did you mean 'admin'"):
        await user.update(admni=False)
    assert await user.delete() is True
    assert await user.delete() is False
    with pytest.raises(NotFound):
        await user.reload()
    user.email = "gone@test.com"
    with pytest.raises(NotFound, match="no longer exists"):
        await user.save()


async def test_record_with_only_defaults_and_naive_datetimes(db: Database) -> None:
    await db.execute("CREATE TABLE events (id serial PRIMARY KEY, at timestamptz DEFAULT now())")

    class Event(Model):
        at: datetime | None

    event = await Event().save()
    assert event.id == 1 and event.at is not None  # None is left out: the default applies
    explicit = await Event.create(at=None)  # create() inserts what it is given
    assert explicit.at is None
    explicit.at = None
    await explicit.save()  # an UPDATE writes every column, NULL included
    assert (await explicit.reload()).at is None
    with pytest.raises(OrmError, match="naive datetime"):
        await Event(at=datetime(2026, 1, 1)).save()


async def test_update_all_and_delete_all(shop: dict[str, int]) -> None:
    assert await User.filter("admin", True).update_all({"admin": False}) == 2
    assert await User.filter(admin=True).count() == 0
    changed = await Order.all().join(User).filter(User.column("email"), "alice@hello.com") \
        .update_all(total_amount=1.0)
    assert changed == 2
    assert await Product.all().delete_all() == 4
    assert await Order.filter_lt("total_amount", 5).delete_all() == 2
    assert await Order.all().count() == 2


async def test_upsert_and_find_or_create(shop: dict[str, int], db: Database) -> None:
    create = User.create(email="hello@test.com", admin=True).unique_by("email")
    assert create.to_sql() == (
        'INSERT INTO "users" ("email", "admin") VALUES ($1, $2) ON CONFLICT ("email") '
        'DO UPDATE SET "email" = EXCLUDED."email", "admin" = EXCLUDED."admin" RETURNING *')
    first = await create
    again = await User.create(email="hello@test.com", admin=False).unique_by("email").fetch()
    assert again.id == first.id and again.admin is False
    with pytest.raises(asyncpg.UniqueViolationError):
        await User.create(email="hello@test.com")
    found = await User.find_or_create_by(email="alice@hello.com").unique_by("email")
    assert found.id == shop["alice"]
    made = await User.find_or_create_by(email="zed@hello.com").unique_by(["email"]).fetch()
    assert made.id is not None and await User.all().count() == 6
    plain = await User.find_or_create_by(email="zed@hello.com").fetch()
    assert plain.id == made.id


async def test_concurrent_upserts_do_not_fail(shop: dict[str, int]) -> None:
    results: list[int] = []
    async with trio.open_nursery() as nursery:
        for _ in range(4):
            async def upsert() -> None:
                user = await User.find_or_create_by(email="race@x.com").unique_by("email")
                results.append(user.id)
            nursery.start_soon(upsert)
    assert len(set(results)) == 1 and await User.filter(email="race@x.com").count() == 1


async def test_find_by_sql(shop: dict[str, int]) -> None:
    users = await User.find_by_sql(
        "SELECT * FROM users WHERE email LIKE 'a%' AND created_at < $1",
        [datetime.now(UTC)]).fetch_all()
    assert emails(users) == ["alice"]
    one = await User.find_by_sql("SELECT * FROM users WHERE id = $1", [shop["bob"]]).fetch()
    assert one.email == "bob@hello.com"
    with pytest.raises(NotFound):
        await User.find_by_sql("SELECT * FROM users WHERE false").fetch()


# -- transactions and locking -------------------------------------------------------------------


async def test_transactions_commit_and_roll_back(shop: dict[str, int], db: Database) -> None:
    async with transaction():
        await User.create(email="tx@test.com")
    assert await User.filter(email="tx@test.com").exists()
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await User.create(email="rollback@test.com").fetch(tx)
            assert await User.filter(email="rollback@test.com").exists()
            raise RuntimeError("boom")
    assert not await User.filter(email="rollback@test.com").exists()


async def test_lock_blocks_a_second_transaction(shop: dict[str, int], db: Database) -> None:
    events: list[str] = []
    locked = trio.Event()
    async with trio.open_nursery() as nursery:
        async def first() -> None:
            async with db.transaction():
                user = await User.find(shop["bob"]).lock().fetch()
                locked.set()
                await trio.sleep(0.3)
                user.admin = True
                user.email = "admin@hello.com"
                await user.save()
                events.append("first committed")

        async def second() -> None:
            await locked.wait()
            async with db.transaction():
                user = await User.find(shop["bob"]).lock().fetch()  # waits for first
                events.append(f"second saw {user.email}")

        nursery.start_soon(first)
        nursery.start_soon(second)
    assert events == ["first committed", "second saw admin@hello.com"]


async def test_lock_skip_locked_and_nowait(shop: dict[str, int], db: Database) -> None:
    locked, done = trio.Event(), trio.Event()
    seen: dict[str, object] = {}
    async with trio.open_nursery() as nursery:
        async def holder() -> None:
            async with db.transaction():
                await User.find(shop["alice"]).lock().fetch()
                locked.set()
                await done.wait()

        async def other() -> None:
            await locked.wait()
            async with db.transaction():
                free = await User.filter(admin=True).order("id").lock(skip_locked=True) \
                    .fetch_all()
                seen["skip"] = emails(free)
            with pytest.raises(asyncpg.LockNotAvailableError):
                async with db.transaction():
                    await User.find(shop["alice"]).lock(nowait=True).fetch()
            seen["nowait"] = True
            done.set()

        nursery.start_soon(holder)
        nursery.start_soon(other)
    assert seen == {"skip": ["carol"], "nowait": True}
    assert "FOR UPDATE SKIP LOCKED" in User.all().lock(skip_locked=True).to_sql()
    assert User.all().join(Order).lock(nowait=True).to_sql().endswith(
        'FOR UPDATE OF "users" NOWAIT')


# -- iteration ----------------------------------------------------------------------------------


async def test_async_iteration_uses_a_cursor(db: Database) -> None:
    await db.execute("CREATE TABLE nums (id serial PRIMARY KEY, n int)")
    await db.execute("INSERT INTO nums (n) SELECT generate_series(1, 1050)")

    class Num(Model):
        n: int

    seen = [num.n async for num in Num.all().order("id")]
    assert seen == list(range(1, 1051))
    async with transaction():
        odd = [x.n async for x in Num.all().filter_lt("n", 20).cursor(batch=3)]
        assert odd == list(range(1, 20))
    cursor = Num.all().cursor(batch=10)
    async for num in cursor:
        if num.n == 5:
            break
    await cursor.aclose()  # returns the connection
    for _ in range(6):  # more than the pool's 4 connections: nothing leaked
        assert await Num.all().count() == 1050
    async with db.connection() as conn:  # an explicit connection gets its own transaction
        assert [x.n async for x in Num.filter_lte("n", 3).order("id").cursor(conn)] == [1, 2, 3]
        assert not conn.in_transaction
    # a loop left early and forgotten: garbage collection gives the connection back
    for _ in range(5):
        async for _num in Num.all():
            break
    import gc

    gc.collect()
    async with trio.open_nursery() as nursery:
        for _ in range(4):
            async def hold() -> None:
                with trio.fail_after(5):
                    async with db.connection():
                        await trio.sleep(0.05)
            nursery.start_soon(hold)


# -- safety and errors ----------------------------------------------------------------------------


async def test_sql_injection_is_harmless(shop: dict[str, int]) -> None:
    with pytest.raises(UnknownColumn, match=r'column users\."; DROP TABLE users;" does not '
                                            r"exist") as info:
        await User.all().filter('"; DROP TABLE users;"', True).fetch_all()
    assert "User (table 'users')" in str(info.value)
    assert await User.all().count() == 4
    evil = "x'; DROP TABLE users; --"
    assert await User.filter(email=evil).fetch_all() == []
    created = await User.create(email=evil)
    assert (await User.find(created.id).fetch()).email == evil
    assert await User.all().count() == 5


async def test_typo_in_column_suggests_the_closest(shop: dict[str, int]) -> None:
    with pytest.raises(UnknownColumn, match="did you mean 'email'"):
        await User.filter(emial="x").fetch_all()
    with pytest.raises(UnknownColumn, match="did you mean 'created_at'"):
        await User.all().order("created").fetch_all()


async def test_missing_table_is_explained(db: Database) -> None:
    class Ghost(Model):
        name: str

    with pytest.raises(OrmError, match=r"Ghost: .*ghosts.*migration"):
        await Ghost.all().fetch_all()


async def test_no_database_anywhere_is_explained() -> None:
    with pytest.raises(RuntimeError, match="no database to run the query on"):
        await User.all().fetch_all()


# -- types ----------------------------------------------------------------------------------------


async def test_types_round_trip(db: Database) -> None:
    import decimal
    import uuid
    from datetime import date

    await db.execute("""CREATE TABLE things (
        id bigserial PRIMARY KEY, count int, name text, flag boolean, ratio double precision,
        price numeric(10, 2), at timestamptz, day date, uid uuid, blob bytea, meta jsonb,
        tags json, note text)""")

    class Thing(Model):
        count: int
        name: str
        flag: bool
        ratio: float
        price: decimal.Decimal
        at: datetime
        day: date
        uid: uuid.UUID
        blob: bytes
        meta: dict
        tags: list
        note: str | None

    values = dict(count=7, name="ünïcode ☃", flag=True, ratio=0.25,
                  price=decimal.Decimal("12.30"),
                  at=datetime(2026, 5, 4, 3, 2, 1, tzinfo=timezone(timedelta(hours=2))),
                  day=date(2026, 5, 4), uid=uuid.uuid4(), blob=b"\x00\x01\xff",
                  meta={"a": [1, 2], "b": None}, tags=["x", 1], note=None)
    thing = await Thing(**values).save()
    back = await Thing.find(thing.id).fetch()
    for key, value in values.items():
        assert getattr(back, key) == value, key
    assert back.at.tzinfo is not None
    assert await Thing.filter(meta={"a": [1, 2], "b": None}).count() == 1
    assert json.loads(rum.Response.json(back).body)["price"] == "12.30"


# -- apps and requests ---------------------------------------------------------------------------


async def test_models_in_an_app_request_and_not_found_is_404(rum_app_factory,
                                                           database_url) -> None:
    class ShowUser(rum.Controller):
        async def handle(self, request: rum.Request) -> rum.Response:
            user = await User.find(request.path_params["id"]).fetch()
            return rum.Response.json(user)

    app = rum_app_factory([ShowUser.route("/users/<int:id>")], plugins=["orm"],
                          toml=f'[database]\nurl = "{database_url}"\npool_max = 2\n')
    async with app.running():
        from orm_shop import seed_shop

        ids = await seed_shop(app.storage)
        assert (await User.find(ids["bob"]).fetch()).email == "bob@hello.com"
        async with app.test_client() as client:
            ok = await client.get(f"/users/{ids['bob']}")
            assert ok.status == 200 and ok.json_body()["email"] == "bob@hello.com"
            missing = await client.get("/users/424242", headers={"accept": "application/json"})
            assert missing.status == 404
            body = missing.json_body()
            assert body["detail"] == "User not found"  # filter values stay in the logs
            assert "id = 424242" not in missing.text_body()


async def test_query_log_from_config(rum_app_factory, database_url, caplog) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="rum.orm")
    app = rum_app_factory(plugins=["orm"], toml=(
        f'[database]\nlog_queries = true\nurl = "{database_url}"\npool_max = 1\n'
        f'slow_query_ms = 100000\n'))
    async with app.running():
        await app.storage.execute("CREATE TABLE users (id serial PRIMARY KEY, email text)")
        await User.filter(email="x@y.z").fetch_all()
    lines = [r.getMessage() for r in caplog.records if r.name == "rum.orm"]
    assert any('SELECT * FROM "users" WHERE "users"."email" = $1' in m and "x@y.z" in m
               and " ms " in m for m in lines), lines


async def test_prepared_statements_are_reused(shop: dict[str, int], db: Database) -> None:
    async with db.connection() as conn:
        for key in ("alice", "bob", "carol", "dave", "alice"):
            await User.find(shop[key]).fetch(conn)
        prepared = await conn.fetchval(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE "
            "'SELECT * FROM \"users\" WHERE \"users\".\"id\" = $1%'")
    assert prepared == 1


async def test_badly_typed_values_name_model_and_column(shop: dict[str, int]) -> None:
    from rum_orm import InvalidValue

    with pytest.raises(InvalidValue, match=r"User\.admin: invalid input for query argument "
                                           r"\$1"):
        await User.filter(admin="yes").fetch_all()
    with pytest.raises(InvalidValue, match=r"Order\.total_amount: .*\$2"):
        await Order.filter(user_id=shop["alice"]).filter_gt("total_amount", "lots").count()
    with pytest.raises(InvalidValue, match=r"User\.email: "):
        await User.filter("email", [1, 2]).fetch_all()
    with pytest.raises(InvalidValue, match=r"Order\.total_amount: "):
        await Order.create(user_id=shop["bob"], total_amount="ten")
    with pytest.raises(InvalidValue, match=r"User\.admin: "):
        await User.filter(admin=True).update_all(admin="no")


async def test_a_read_used_without_await_says_to_await_it(db: Database) -> None:
    """A scope's read is an awaitable (``Read``) that runs when awaited; used as if it were
    its result, it names the model and the missing ``await``."""
    from rum_orm import Read

    class Widget(Model):
        id: int | None = None

    read = Widget.find(1).fetch()
    assert isinstance(read, Read) and "SELECT" in repr(read)
    with pytest.raises(AttributeError, match=r"no attribute 'id'.*query on Widget.*`await"):
        read.id  # noqa: B018
    with pytest.raises(TypeError, match=r"neither true nor false.*`await Widget.find"):
        bool(Widget.all().exists())
    await db.execute("CREATE TABLE widgets (id bigserial PRIMARY KEY)")
    assert await read.__class__(Widget, None, "fetchval", "SELECT 7", [], "primary",
                                lambda v: v + 1) == 8  # a Read runs when awaited
    assert await Widget.all().exists() is False

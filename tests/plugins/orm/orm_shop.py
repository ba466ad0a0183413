"""Models and schema of the seed README's examples (users, orders, products)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rum_orm import Database, Model, Scope, belongs_to, has_many

SCHEMA = """
CREATE TABLE users (
    id bigserial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    admin boolean NOT NULL DEFAULT false
);
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    total_amount double precision NOT NULL,
    refunded_at timestamptz
);
CREATE TABLE products (
    id bigserial PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES orders (id),
    name text NOT NULL,
    price double precision NOT NULL
);
"""


class User(Model):
    id: int | None = None
    email: str
    created_at: datetime
    admin: bool = False

    orders = has_many("Order")

    @classmethod
    def admins(cls) -> Scope[User]:
        """Get all admin users."""
        return cls.all().filter("admin", True)

    @staticmethod
    def created_recently(scope: Scope[User]) -> Scope[User]:
        """Users created in the last day."""
        return scope.filter_gte("created_at", datetime.now(UTC) - timedelta(days=1))

    @classmethod
    def new_admins(cls) -> Scope[User]:
        """Admins created recently."""
        return cls.created_recently(cls.admins())


class Order(Model):
    id: int | None = None
    user_id: int
    total_amount: float
    refunded_at: datetime | None

    user = belongs_to(User)
    products = has_many("Product")


class Product(Model):
    id: int | None = None
    order_id: int
    name: str
    price: float

    order = belongs_to(Order)


NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)


async def seed_shop(db: Database) -> dict[str, int]:
    """Create the tables and a few rows; return ids by label."""
    await db.execute(SCHEMA)
    ids: dict[str, int] = {}
    for label, email, admin, age_days in [("alice", "alice@hello.com", True, 0),
                                          ("bob", "bob@hello.com", False, 3),
                                          ("carol", "carol@hello.com", True, 10),
                                          ("dave", "dave@hello.com", False, 0)]:
        ids[label] = await db.fetchval(
            "INSERT INTO users (email, admin, created_at) VALUES ($1, $2, $3) RETURNING id",
            email, admin, datetime.now(UTC) - timedelta(days=age_days))
    for label, user, total in [("o1", "alice", 30.0), ("o2", "alice", 0.5), ("o3", "bob", 12.0),
                               ("o4", "carol", 99.0)]:
        ids[label] = await db.fetchval(
            "INSERT INTO orders (user_id, total_amount) VALUES ($1, $2) RETURNING id",
            ids[user], total)
    for order, name, price in [("o1", "apples", 3.0), ("o1", "pears", 2.0),
                               ("o3", "apples", 3.0), ("o4", "plums", 9.0)]:
        await db.execute("INSERT INTO products (order_id, name, price) VALUES ($1, $2, $3)",
                         ids[order], name, price)
    return ids

"""One command starts the app: create the database if missing, migrate it, seed it.

Two small plugin objects, passed to ``App(plugins=[...])`` by :func:`tracker.create_app`:

- :class:`CreateDatabase` runs first at start-up (``tryfirst``), before the ORM opens its
  pool, and creates the database named in the URL when the server does not have it yet;
- :class:`MigrateAndSeed` runs last (``trylast``), when the pool is open: it applies the
  app's ``migrations/`` and the jobs plugin's migration (the ORM's ``Migrator``, as
  ``rum migrate run`` does), then seeds a demo user and a few orders into an empty
  database. The in-app job worker starts after every start-up hook
  (``rum_schedule``), so it always finds its tables.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import asyncpg

from rum import hookimpl
from rum_accounts import hash_password
from rum_orm import Database, Migrator, database_url
from rum_orm.urls import redact, with_database
from tracker.jobs import SendReceipt
from tracker.models import Order, User

if TYPE_CHECKING:
    from rum import App

logger = logging.getLogger("rum.tracker")

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "rum-demo"
DEMO_NAME = "Demo User"
SEED_ORDERS = [
    ("Ada Lovelace", "Analytical engine gears", 3, Decimal("149.70")),
    ("Grace Hopper", "Compiler manual", 1, Decimal("39.00")),
    ("Alan Turing", "Paper tape, 10 rolls", 10, Decimal("25.00")),
]


class CreateDatabase:
    """Creates the configured database when it does not exist (before the pool opens)."""

    name = "tracker.create_database"

    @hookimpl(tryfirst=True)
    async def rum_startup(self, app: App) -> None:
        if app.config.get_bool("tracker", "create_database", True):
            await ensure_database(database_url(app.config) or "")


class MigrateAndSeed:
    """Applies migrations and seeds demo data once the ORM's pool is open."""

    name = "tracker.migrate_and_seed"

    @hookimpl(trylast=True)
    async def rum_startup(self, app: App) -> None:
        db: Database = app.storage
        if app.config.get_bool("tracker", "migrate", True):
            # The app's migrations/ and those shipped by plugins (jobs), like `rum migrate run`.
            for migration in await Migrator.for_app(app, db).run():
                logger.info("applied migration %s", migration.label)
        if app.config.get_bool("tracker", "seed", True):
            await seed(db)


async def ensure_database(url: str) -> bool:
    """Create the database ``url`` names on its server if it is missing; True if created.

    The server's ``postgres`` database is only used when the target does not exist, so a
    user without access to it can still start the app on an existing database.
    """
    name = urlsplit(url).path.lstrip("/")
    if not name or await _database_exists(url):
        return False
    async with Database.open(with_database(url, "postgres"), pool_min=1, pool_max=1) as admin:
        quoted = '"' + name.replace('"', '""') + '"'
        try:
            await admin.execute(f"CREATE DATABASE {quoted}")
        except asyncpg.DuplicateDatabaseError:
            return False  # another process created it at the same moment
    logger.info("created database %s", redact(url))
    return True


async def _database_exists(url: str) -> bool:
    try:
        async with Database.open(url, pool_min=1, pool_max=1) as probe:
            await probe.fetchval("SELECT 1")
    except ConnectionError as exc:
        if isinstance(exc.__cause__, asyncpg.InvalidCatalogNameError):
            return False
        raise
    return True


async def seed(db: Database) -> None:
    """Add the demo user and a few orders (and their receipt jobs) when the tables are empty
    (idempotent)."""
    password_hash = await hash_password(DEMO_PASSWORD)  # Argon2id, in a worker thread
    async with db.transaction():
        await db.execute("SELECT pg_advisory_xact_lock(hashtext('tracker.seed'))")
        if await User.all().exists():
            # Databases seeded before the accounts plugin hold the demo user's password as an
            # scrypt hash, which Argon2 cannot check: give it the same password, hashed anew.
            await db.execute("UPDATE users SET password_hash = $1 "
                             "WHERE email = $2 AND password_hash LIKE 'scrypt$%'",
                             password_hash, DEMO_EMAIL)
            return
        user = await User.create(email=DEMO_EMAIL, name=DEMO_NAME,
                                 password_hash=password_hash)
        orders = [await Order.create(user_id=user.id, customer=customer, item=item,
                                     quantity=quantity, total=total)
                  for customer, item, quantity, total in SEED_ORDERS]
        # Their receipts go out as soon as the in-app worker starts.
        await SendReceipt.enqueue_many([{"order_id": o.id} for o in orders])
    logger.info("seeded the demo user %s (password %r) and %d orders", DEMO_EMAIL,
                DEMO_PASSWORD, len(SEED_ORDERS))

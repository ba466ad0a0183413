"""The tracker's tables as ORM models (the schema itself lives in ``migrations/``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from rum_orm import (
    Model,
    Scope,
    belongs_to,
    has_many,
    length,
    matches,
    numericality,
    presence,
    uniqueness,
)
from rum_turbo import broadcasts_refreshes

#: Text without a line break or NUL (what ``str.splitlines()`` splits on).
ONE_LINE = r"\A[^\r\n\x00\x0b\x0c\x1c-\x1e\x85\u2028\u2029]*\Z"


class User(Model):
    """Someone who may sign in (``users``): the e-mail is stored in lower case, the password
    as an Argon2id hash (the accounts plugin)."""

    id: int | None = None
    email: Annotated[str, presence(), length(max=254), uniqueness(case_sensitive=False)]
    #: One line: the name goes into the To header of the mail the tracker sends (where a line
    #: break is refused as header injection, so the mail could never be sent).
    name: Annotated[str, presence(), length(max=100),
                    matches(ONE_LINE, message="must be one line of text")]
    password_hash: str
    created_at: dt.datetime | None = None

    orders = has_many("Order")

    @classmethod
    def with_email(cls, email: str) -> Scope[User]:
        """Scope: the user with this e-mail address (stored lower-case)."""
        return cls.all().filter(email=email.strip().lower())


class Order(Model):
    """An order taken for a customer (``orders``)."""

    id: int | None = None
    user_id: int
    customer: Annotated[str, presence(), length(max=200)]
    item: Annotated[str, presence(), length(max=200)]
    quantity: Annotated[int, numericality(integer=True, ge=1, le=10_000)] = 1
    total: Annotated[Decimal, presence(), numericality(ge=0, lt=100_000_000)]
    status: str = "new"
    attachment_key: str | None = None
    attachment_name: Annotated[str | None, length(max=255)] = None
    created_at: dt.datetime | None = None

    user = belongs_to(User)
    # Every committed save of an order (the admin's edits too) asks open orders pages to
    # refresh; they morph in the change (layout: turbo_refresh_tags()).
    broadcasts = broadcasts_refreshes("orders")

    @classmethod
    def newest_first(cls) -> Scope[Order]:
        """Scope: every order, the newest first."""
        return cls.all().order(("id", "DESC"))

    @classmethod
    def waiting(cls) -> Scope[Order]:
        """Scope: orders not shipped or cancelled yet."""
        return cls.all().filter(status="new")

    @classmethod
    def since(cls, moment: dt.datetime) -> Scope[Order]:
        """Scope: orders created at or after ``moment``."""
        return cls.all().filter_gte("created_at", moment)


class OutboxMessage(Model):
    """An e-mail a job "sent" (``outbox``): a receipt or a summary."""

    __table__ = "outbox"

    id: int | None = None
    kind: str
    order_id: int | None = None
    recipient: str
    subject: str
    body: str
    created_at: dt.datetime | None = None

    @classmethod
    def newest_first(cls) -> Scope[OutboxMessage]:
        """Scope: every message, the newest first."""
        return cls.all().order(("id", "DESC"))

    @classmethod
    def receipts_for(cls, order_ids: list[int]) -> Scope[OutboxMessage]:
        """Scope: the receipts of these orders."""
        return cls.all().filter(kind="receipt", order_id=order_ids)

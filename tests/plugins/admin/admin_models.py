"""The models the admin tests show (imported by ``[admin] models = ["admin_models:…"]``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from rum_orm import Model, inclusion, length, numericality, presence

SCHEMA = """
CREATE TABLE admin_products (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    category text NOT NULL,
    price numeric(8, 2) NOT NULL,
    in_stock boolean NOT NULL DEFAULT true,
    notes text
)
"""


class Product(Model):
    """A product with validations the admin's forms must apply."""

    __table__ = "admin_products"
    name: Annotated[str, presence(), length(max=60)]
    category: Annotated[str, inclusion(["rum", "gin", "tea"])]
    price: Annotated[Decimal, numericality(ge=0)]
    in_stock: bool = True
    notes: str | None = None


TOKEN_SCHEMA = """
CREATE TABLE admin_tokens (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    label text NOT NULL,
    tags text[]
)
"""


class Token(Model):
    """A model with a UUID key and a column no form edits (an array)."""

    __table__ = "admin_tokens"
    id: UUID | None = None
    label: Annotated[str, presence()]
    tags: list[str] | None = None

"""ModelController on a real ``rum_orm.Model``: migrations, the ORM and the API agree."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from rum import App
from rum_http.testing import serve_app
from rum_orm import Migrator, Model
from rum_rest import ModelController

pytestmark = pytest.mark.postgres


class Product(Model):
    sku: str
    title: str
    price: Decimal
    stock: int = 0
    tags: list | None = None
    discontinued: bool = False
    created_at: dt.datetime


UP = """
CREATE TABLE products (
    id bigserial PRIMARY KEY,
    sku text NOT NULL UNIQUE,
    title text NOT NULL,
    price numeric(8, 2) NOT NULL CHECK (price >= 0),
    stock integer NOT NULL DEFAULT 0,
    tags jsonb,
    discontinued boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""


async def test_model_crud_through_the_api_and_the_orm(tmp_path: Path,
                                                       database_url: str) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "20260101000000_create_products.up.sql").write_text(UP)
    (migrations / "20260101000000_create_products.down.sql").write_text("DROP TABLE products;")
    app = App(ModelController(Product, read_only=["created_at"]).crud("/api/products"),
              plugins=["http", "orm", "rest"], root=tmp_path,
              config={"database": {"url": database_url}, "http": {"access_log": False}})
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        applied = await Migrator.for_app(app).run()
        assert [m.name for m in applied] == ["create_products"]

        r = await client.post("/api/products", json={"sku": "RUM-1", "title": "Dark rum",
                                                     "price": 24.9, "tags": ["spirits"]})
        assert r.status_code == 201, r.text
        made: dict[str, Any] = r.json()
        assert made["price"] == "24.90" and made["stock"] == 0 and made["tags"] == ["spirits"]

        # the ORM sees what the API wrote, and the API what the ORM wrote
        product = await Product.find(made["id"]).fetch()
        assert product.price == Decimal("24.90") and product.title == "Dark rum"
        await Product.create(sku="RUM-2", title="White rum", price=Decimal("19.50"), stock=3,
                             created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        r = await client.get("/api/products", params={"stock__gt": 0})
        assert [p["sku"] for p in r.json()["items"]] == ["RUM-2"]
        assert r.json()["items"][0]["created_at"] == "2026-01-01T00:00:00+00:00"

        # PUT: a field left out goes back to the model's Python default
        r = await client.put(f"/api/products/{made['id']}",
                             json={"sku": "RUM-1", "title": "Dark rum", "price": "21",
                                   "discontinued": True})
        assert r.status_code == 200
        assert r.json()["tags"] is None and r.json()["discontinued"] is True
        assert r.json()["price"] == "21.00"

        # the model's annotations type the input; the database's CHECK is a 422
        r = await client.post("/api/products", json={"sku": "X", "title": "X", "price": "-1"})
        assert r.status_code == 422 and "products_price_check" in r.json()["detail"]
        r = await client.post("/api/products", json={"sku": 5, "price": True, "stock": "3"})
        assert r.status_code == 422
        assert set(r.json()["errors"]) == {"sku", "title", "price", "stock"}
        r = await client.post("/api/products", json={"sku": "RUM-2", "title": "again",
                                                     "price": 1})
        assert r.status_code == 409
        assert r.json()["errors"] == {"sku": ["must be unique"]}
        assert "Key (sku)=(RUM-2) already exists" in r.json()["detail"]

        r = await client.delete(f"/api/products/{made['id']}")
        assert r.status_code == 204
        assert await Product.find(made["id"]).fetch_optional() is None

        doc = (await client.get("/api/openapi.json")).json()
    validate(doc)
    schema = doc["components"]["schemas"]["ProductCreate"]
    assert schema["required"] == ["sku", "title", "price"]
    assert schema["properties"]["tags"] == {"type": ["array", "null"]}
    assert doc["components"]["schemas"]["Product"]["properties"]["price"]["format"] == "decimal"

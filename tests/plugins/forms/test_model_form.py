"""Model forms against a real PostgreSQL: fields and HTML rules derived from the model, the
model's own validations (uniqueness included) shown inline, ``save()`` creating and updating
rows; served over a real socket."""

from __future__ import annotations

import datetime as dt
import decimal
import re
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest

from rum import Controller, Request, Response
from rum_forms import (
    BooleanField,
    ChoiceField,
    DateTimeField,
    DecimalField,
    EmailField,
    IntegerField,
    ModelForm,
    PasswordField,
    StringField,
    TextField,
    render_form,
    see_other,
)
from rum_http.testing import serve_app
from rum_orm import (
    Model,
    confirmation,
    inclusion,
    length,
    numericality,
    presence,
    uniqueness,
    validates,
    virtual,
)
from rum_sessions import flash

pytestmark = pytest.mark.postgres

SCHEMA = """
CREATE TABLE shop_orders (
    id bigserial PRIMARY KEY,
    customer text NOT NULL,
    email text NOT NULL,
    quantity integer NOT NULL,
    price numeric(8, 2),
    rush boolean NOT NULL DEFAULT false,
    due_at timestamptz,
    notes text,
    code text NOT NULL DEFAULT 'web',
    size text NOT NULL DEFAULT 'm'
);
"""


class ShopOrder(Model):
    __labels__ = {"customer": "Customer name"}

    customer: Annotated[str, presence(), length(max=40)]
    email: Annotated[str, presence(), uniqueness(case_sensitive=False)]
    quantity: Annotated[int, numericality(integer=True, ge=1, le=99)]
    price: Annotated[decimal.Decimal | None, numericality(ge=0)] = None
    rush: bool = False
    due_at: dt.datetime | None = None
    notes: str | None = None
    code: Annotated[str, length(max=8)] = "web"
    size: Annotated[str, inclusion(["s", "m", "l"])] = "m"
    password: Annotated[str | None, virtual(), confirmation(), length(min=6)] = None

    @validates
    def no_rush_for_big_orders(self) -> str | None:
        if self.rush and (self.quantity or 0) > 50:
            return "Rush orders are limited to 50 items"
        return None


class OrderForm(ModelForm):
    model = ShopOrder
    fields = ["customer", "email", "quantity", "price", "rush", "due_at", "notes",
              "password", "password_confirmation", "size"]
    notes = TextField()


def test_fields_come_from_the_model() -> None:
    fields = OrderForm.form_fields
    assert list(fields) == ["customer", "email", "quantity", "price", "rush", "due_at",
                            "notes", "password", "password_confirmation", "size"]
    kinds = {name: type(field) for name, field in fields.items()}
    assert kinds == {"customer": StringField, "email": EmailField, "quantity": IntegerField,
                     "price": DecimalField, "rush": BooleanField, "due_at": DateTimeField,
                     "notes": TextField, "password": PasswordField,
                     "password_confirmation": PasswordField, "size": ChoiceField}
    assert fields["size"].choices == [("s", "s"), ("m", "m"), ("l", "l")]
    assert fields["customer"].label == "Customer name"
    assert fields["customer"].html_attrs() == {"required": True, "maxlength": 40}
    assert fields["quantity"].html_attrs() == {"required": True, "min": 1, "max": 99,
                                               "step": 1}
    assert fields["password"].html_attrs()["autocomplete"] == "new-password"
    assert OrderForm.prefix == "shop_order"


class MinimalForm(ModelForm):
    model = ShopOrder


def test_default_fields_are_the_columns_but_the_key() -> None:
    assert list(MinimalForm.form_fields) == ["customer", "email", "quantity", "price", "rush",
                                             "due_at", "notes", "code", "size"]
    # quantity is NOT NULL without a default and no presence(): the form requires it
    assert MinimalForm.form_fields["quantity"].required
    assert not MinimalForm.form_fields["code"].required  # it has a default


def test_a_model_form_needs_a_model_class() -> None:
    with pytest.raises(TypeError, match=r"must be a rum_orm\.Model subclass"):
        class Broken(ModelForm):
            model = dict


LAYOUT = "<%= flash_messages %><%= yield %>"
PAGE = """<% layout "layout.html" %>
<% f = form_with(form, action: action) %>
<%= f.open %><%= f.error_summary %>
<% for name in form.form_fields %><%= f.field(name) %>
<% end %><%= f.submit("Save") %><%= f.close %>
"""


class NewOrder(Controller):
    async def get(self, request: Request) -> Response:
        return await render_form(self, "form.html", OrderForm(), action="/orders")


class CreateOrder(Controller):
    async def post(self, request: Request) -> Response:
        form = await OrderForm.from_request(request)
        if not await form.validate():
            return await render_form(self, "form.html", form, action="/orders")
        order = await form.save()
        flash(request, f"Order {order.id} saved")
        return see_other(f"/orders/{order.id}/edit")


class EditOrder(Controller):
    async def get(self, request: Request) -> Response:
        order = await ShopOrder.find(request.path_params["id"]).fetch()
        return await render_form(self, "form.html", OrderForm(instance=order),
                                 action=f"/orders/{order.id}/edit")

    async def post(self, request: Request) -> Response:
        order = await ShopOrder.find(request.path_params["id"]).fetch()
        form = await OrderForm.from_request(request, instance=order)
        if not await form.validate():
            return await render_form(self, "form.html", form,
                                     action=f"/orders/{order.id}/edit")
        await form.save()
        flash(request, "Order updated")
        return see_other(f"/orders/{order.id}/edit")


@pytest.fixture
async def site(rum_app_factory, tmp_path: Path, database_url: str):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "layout.html").write_text(LAYOUT)
    (tmp_path / "templates" / "form.html").write_text(PAGE)
    app = rum_app_factory(
        [NewOrder.route("/orders/new"), CreateOrder.route("/orders"),
         EditOrder.route("/orders/<int:id>/edit")],
        plugins=["http", "orm", "templates", "sessions", "forms"],
        config={"database": {"url": database_url},
                "general": {"secret_key": "8e" * 32}})
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        await app.storage.execute(SCHEMA)
        client.headers["origin"] = url.rstrip("/")
        yield app, client


def token_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


GOOD = {"customer": "Ada", "email": "ada@example.org", "quantity": "2", "price": "9.50",
        "rush": "0", "due_at": "2026-12-24T10:30", "notes": "ring twice", "password": "",
        "password_confirmation": "", "size": "l"}


async def post(client: httpx.AsyncClient, path: str, data: dict[str, Any]) -> httpx.Response:
    token = token_of((await client.get("/orders/new")).text)
    return await client.post(path, data={**data, "csrf_token": token})


async def test_create_with_the_models_validations(site) -> None:
    app, client = site
    page = await client.get("/orders/new")
    assert ('<input type="text" name="customer" id="shop_order_customer" required '
            'maxlength="40" value="">') in page.text
    assert '<label for="shop_order_customer">Customer name</label>' in page.text

    bad = {**GOOD, "customer": "", "quantity": "1000", "price": "abc", "rush": "1",
           "password": "abc", "password_confirmation": "abd"}
    response = await post(client, "/orders", bad)
    assert response.status_code == 422
    html = response.text
    assert "Customer name can&#39;t be blank" in html          # the model's presence()
    assert "Quantity must be at most 99" in html               # the model's numericality()
    assert "Price must be a number" in html                    # the form's type check
    assert "Password is too short (at least 6 characters)" in html
    assert "Password confirmation doesn&#39;t match Password" in html
    assert "Rush orders are limited to 50 items" in html       # a model-wide @validates
    assert 'aria-describedby="shop_order_quantity_error"' in html
    assert 'value="1000"' in html and 'value="abc"' not in html.replace(
        'name="price" id="shop_order_price" min="0" step="any" aria-invalid="true" '
        'aria-describedby="shop_order_price_error" value="abc"', "")
    assert await app.storage.fetchval("SELECT count(*) FROM shop_orders") == 0

    created = await post(client, "/orders", {**GOOD, "password": "abcdef",
                                             "password_confirmation": "abcdef"})
    assert created.status_code == 303
    row = await app.storage.fetchrow("SELECT * FROM shop_orders")
    assert dict(row) == {"id": row["id"], "customer": "Ada", "email": "ada@example.org",
                         "quantity": 2, "price": decimal.Decimal("9.50"), "rush": False,
                         "due_at": dt.datetime(2026, 12, 24, 10, 30, tzinfo=dt.UTC),
                         "notes": "ring twice", "code": "web", "size": "l"}
    assert created.headers["location"] == f"/orders/{row['id']}/edit"
    edit = await client.get(created.headers["location"])
    assert f"Order {row['id']} saved" in edit.text
    assert 'value="2026-12-24T10:30"' in edit.text and 'value="9.50"' in edit.text
    assert ">\nring twice</textarea>" in edit.text
    assert '<option value="l" selected>l</option>' in edit.text

    # uniqueness is checked against the table (case-insensitively)
    again = await post(client, "/orders", {**GOOD, "email": "ADA@example.org"})
    assert again.status_code == 422
    assert "Email is already taken" in again.text


async def test_edit_updates_the_row(site) -> None:
    app, client = site
    created = await post(client, "/orders", GOOD)
    location = created.headers["location"]
    invalid = await post(client, location, {**GOOD, "customer": "x" * 41})
    assert invalid.status_code == 422
    assert "Customer name is too long (at most 40 characters)" in invalid.text
    updated = await post(client, location, {**GOOD, "quantity": "7", "notes": ""})
    assert updated.status_code == 303
    row = await app.storage.fetchrow("SELECT quantity, notes FROM shop_orders")
    assert (row["quantity"], row["notes"]) == (7, None)  # a blank optional text is NULL
    assert "Order updated" in (await client.get(location)).text
    assert await app.storage.fetchval("SELECT count(*) FROM shop_orders") == 1


async def test_save_refuses_an_unvalidated_or_invalid_form() -> None:
    form = OrderForm({"customer": ""})
    with pytest.raises(RuntimeError, match="before validate"):
        await form.save()

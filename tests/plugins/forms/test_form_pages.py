"""Form classes, the ERB form helpers and flash messages, over a real socket (issue 14).

An order page written with ``form_with``: an invalid post is answered 422 with the errors
inline and the typed values kept (escaped); a valid one 303 to a page that shows the flash
message once; posts without the CSRF field are refused; JSON bodies go through the same form;
hostile input is a 4xx, never a 500.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from rum import Controller, Request, Response
from rum_forms import (
    BooleanField,
    ChoiceField,
    DecimalField,
    EmailField,
    Form,
    IntegerField,
    PasswordField,
    StringField,
    TextField,
    render_form,
    see_other,
)
from rum_http.testing import serve_app
from rum_sessions import flash

SECRET = '[general]\nsecret_key = "' + "5a" * 32 + '"\n'
LAYOUT = """<!doctype html>
<html><head><title>Orders</title></head>
<body>
<%= flash_messages %>
<%= yield %>
</body></html>
"""
NEW = """<% layout "layout.html" %>
<% f = form_with(form, action: "/orders", class: "order-form") %>
<%= f.open %>
<%= f.error_summary %>
<%= f.field(:customer) %>
<%= f.field(:email) %>
<%= f.field(:quantity) %>
<%= f.field(:price) %>
<%= f.field(:size) %>
<%= f.field(:notes) %>
<%= f.field(:gift) %>
<%= f.field(:password) %>
<%= f.submit("Create order") %>
<%= f.close %>
"""
DONE = """<% layout "layout.html" %>
<h1>Thanks</h1>
"""


class OrderForm(Form):
    customer = StringField(required=True, max_length=20)
    email = EmailField(required=True)
    quantity = IntegerField(required=True, min=1, max=99)
    price = DecimalField(places=2, min=0)
    size = ChoiceField([("s", "Small"), ("l", "Large")], required=True)
    notes = TextField(max_length=200, help="Anything we should know?")
    gift = BooleanField()
    password = PasswordField(min_length=4)

    def validate_customer(self, value: str) -> str | None:
        return "is taken" if value.lower() == "taken" else None


class NewOrder(Controller):
    async def get(self, request: Request) -> Response:
        return await render_form(self, "new.html", OrderForm(initial={"quantity": 1}))


class Orders(Controller):
    async def post(self, request: Request) -> Response:
        form = await OrderForm.from_request(request)
        if not await form.validate():
            return await render_form(self, "new.html", form)
        flash(request, f"Order for {form.data['customer']} created")
        return see_other("/done")


class Done(Controller):
    async def get(self, request: Request) -> Response:
        return await self.render("done.html")


def make_app(rum_app_factory, tmp_path: Path):
    templates = tmp_path / "templates"
    templates.mkdir()
    for name, text in {"layout.html": LAYOUT, "new.html": NEW, "done.html": DONE}.items():
        (templates / name).write_text(text)
    return rum_app_factory([NewOrder.route("/orders/new"), Orders.route("/orders"),
                            Done.route("/done")],
                           plugins=["http", "templates", "sessions", "forms"], toml=SECRET)


def token_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


GOOD = {"customer": "Ada", "email": "ada@example.org", "quantity": "2", "price": "9.50",
        "size": "l", "notes": "", "gift": "0", "password": "hunter22"}


@pytest.fixture
async def site(rum_app_factory, tmp_path):
    app = make_app(rum_app_factory, tmp_path)
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        client.headers["origin"] = url.rstrip("/")
        yield client


async def test_new_page_has_accessible_fields_and_the_csrf_field(site) -> None:
    page = await site.get("/orders/new")
    assert page.status_code == 200
    html = page.text
    assert '<form action="/orders" method="post" accept-charset="UTF-8" class="order-form">' \
        in html
    assert re.search(r'<input type="hidden" name="csrf_token" value="[\w-]{40,}">', html)
    assert '<label for="order_customer">Customer</label>' in html
    assert ('<input type="text" name="customer" id="order_customer" required maxlength="20" '
            'value="">') in html
    assert ('<input type="number" name="quantity" id="order_quantity" required min="1" '
            'max="99" step="1" value="1">') in html  # the initial value
    assert 'step="0.01"' in html and 'min="0"' in html
    assert 'autocomplete="email"' in html and 'autocomplete="current-password"' in html
    assert ('<textarea name="notes" id="order_notes" maxlength="200" '
            'aria-describedby="order_notes_hint">') in html
    assert '<p class="field-hint" id="order_notes_hint">Anything we should know?</p>' in html
    assert '<option value="l">Large</option>' in html
    assert 'aria-invalid' not in html and "error-summary" not in html


async def test_invalid_post_is_422_with_inline_errors_and_kept_values(site) -> None:
    token = token_of((await site.get("/orders/new")).text)
    bad = {**GOOD, "customer": "", "email": "ada<script>", "quantity": "100",
           "price": "1.234", "size": "xl", "notes": '</textarea><b>"hi"</b>', "gift": "1",
           "password": "abc", "csrf_token": token}
    response = await site.post("/orders", data=bad)
    assert response.status_code == 422
    html = response.text
    assert 'role="alert"' in html and "Please fix 6 problems:" in html
    assert '<a href="#order_customer">Customer can&#39;t be blank</a>' in html
    assert ('<input type="text" name="customer" id="order_customer" required maxlength="20" '
            'aria-invalid="true" aria-describedby="order_customer_error" value="">') in html
    assert '<p class="field-error" id="order_customer_error">Customer can&#39;t be blank</p>' \
        in html
    assert 'value="ada&lt;script&gt;"' in html  # kept, escaped
    assert "Email is not a valid email address" in html
    assert 'value="100"' in html and "Quantity must be at most 99" in html
    assert "Price must have at most 2 digits after the point" in html
    assert "Size is not one of the choices" in html
    # the textarea keeps the text, escaped so it cannot close the element
    assert "&lt;/textarea&gt;&lt;b&gt;&#34;hi&#34;&lt;/b&gt;</textarea>" in html
    assert re.search(r'<input type="checkbox" name="gift" id="order_gift" value="1" checked>',
                     html)
    assert "Password is too short (at least 4 characters)" in html
    assert "abc" not in re.sub(r'name="csrf_token" value="[^"]+"', "", html)  # never echoed
    assert "flash" not in html


async def test_valid_post_redirects_303_and_the_flash_shows_once(site) -> None:
    token = token_of((await site.get("/orders/new")).text)
    response = await site.post("/orders", data={**GOOD, "customer": "Ada <3",
                                                "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/done"
    done = await site.get("/done")
    assert ('<div class="flash-messages"><p class="flash flash-notice" role="status">'
            "Order for Ada &lt;3 created</p></div>") in done.text
    again = await site.get("/done")
    assert "flash" not in again.text and "<h1>Thanks</h1>" in again.text


async def test_a_custom_validator_and_a_post_without_csrf(site) -> None:
    token = token_of((await site.get("/orders/new")).text)
    taken = await site.post("/orders", data={**GOOD, "customer": "Taken", "csrf_token": token})
    assert taken.status_code == 422 and "Customer is taken" in taken.text
    forged = await site.post("/orders", data=GOOD)
    assert forged.status_code == 403
    assert "CSRF token is missing" in forged.text


async def test_json_bodies_use_the_same_form(site) -> None:
    token = token_of((await site.get("/orders/new")).text)
    headers = {"x-csrf-token": token}
    good = {**GOOD, "quantity": 3, "price": 2.5, "gift": True}
    ok = await site.post("/orders", json=good, headers=headers)
    assert ok.status_code == 303
    bad = await site.post("/orders", json={**good, "quantity": "3x", "customer": ["a"],
                                           "gift": {"x": 1}}, headers=headers)
    assert bad.status_code == 422
    assert "Quantity must be a whole number" in bad.text
    assert "Customer must be text" in bad.text
    assert "Gift must be checked or unchecked" in bad.text
    not_object = await site.post("/orders", json=[1, 2], headers=headers)
    assert not_object.status_code == 400
    assert "expected a JSON object" in not_object.text


@pytest.mark.parametrize("field, value, message", [
    ("quantity", "9" * 5000, "Quantity must be a whole number"),
    ("quantity", "99999999999999999999", "Quantity must be a whole number"),
    ("quantity", "9223372036854775808", "Quantity is out of range"),
    ("price", "1e999999999", "Price must be a number"),
    ("price", "NaN", "Price must be a number"),
    ("customer", "a\x00b", "Customer contains a NUL character"),
    ("email", "x" * 300 + "@example.org", "Email is too long (at most 254 characters)"),
])
async def test_hostile_values_are_422_never_500(site, field, value, message) -> None:
    token = token_of((await site.get("/orders/new")).text)
    response = await site.post("/orders", data={**GOOD, field: value, "csrf_token": token})
    assert response.status_code == 422, response.text[:500]
    assert message in response.text


async def test_lone_surrogates_in_a_json_body_are_422_never_500(site) -> None:
    """A JSON ``\\udc00`` escape (or the bytes of an encoded surrogate) is not text: the field
    says so, and the page that shows the typed value back still encodes."""
    token = token_of((await site.get("/orders/new")).text)
    headers = {"x-csrf-token": token, "content-type": "application/json"}
    for doc in (b'{"customer": "A\\udc00", "notes": "\\ud800"}',
                b'{"customer": "A\xed\xa0\x80", "notes": "x"}'):
        fields = b', "email": "ada@example.org", "quantity": 2, "size": "l"}'
        response = await site.post("/orders", content=doc[:-1] + fields, headers=headers)
        assert response.status_code == 422, response.text[:500]
        assert "Customer is not valid text (it holds a lone surrogate)" in response.text
    unknown = await site.post("/orders", content=b'{"\\udc00": 1}', headers=headers)
    assert unknown.status_code == 422

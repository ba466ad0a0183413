"""The record pages over a real socket and PostgreSQL: list (search, filters, ordering,
keyset pages), detail, create (invalid then valid), edit, delete with confirmation, CSRF."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from admin_helpers import ADMIN_ID, csrf_token, log_in, running
from admin_models import SCHEMA, Product

import rum_admin

PRODUCTS = [("Dark rum", "rum", "24.50", True), ("White rum", "rum", "18.00", True),
            ("Dry gin", "gin", "21.00", False), ("Green tea", "tea", "4.20", True),
            ("Spiced rum", "rum", "26.00", None)]


async def seed(app, n_extra: int = 0) -> None:
    for name, category, price, stock in PRODUCTS:
        await Product.create(name=name, category=category, price=Decimal(price),
                             in_stock=True if stock is None else stock,
                             notes=None if stock is None else f"{name} notes")
    for i in range(n_extra):
        await Product.create(name=f"Tea {i:02d}", category="tea", price=Decimal(i),
                             notes=None)


def names(html: str) -> list[str]:
    """The names in the list's rows (the second column), in order."""
    rows = re.findall(r"<tr id=\"record-(\d+)\">(.*?)</tr>", html, re.S)
    cells = [(key, re.findall(r"<td>(?:<a [^>]*>)?([^<]*)", row)) for key, row in rows]
    for key, row in cells:   # the first column is the id, linked to the record
        assert row[0] == key and f'<a href="/admin/admin_products/{key}">{key}</a>' in html
    return [row[1] for _, row in cells]


def register_products(app) -> None:
    rum_admin.admin_state(app).register(
        Product, list_display=["id", "name", "category", "price", "in_stock"],
        search_fields=["name", "notes"], list_filter=["category", "in_stock"],
        ordering="name")


async def test_list_search_filter_and_order(make_admin_app):
    app = make_admin_app()
    register_products(app)
    async with running(app, SCHEMA) as (_, client):
        await seed(app)
        await log_in(client, ADMIN_ID)
        page = await client.get("/admin/admin_products")
        assert page.status_code == 200
        assert names(page.text) == ["Dark rum", "Dry gin", "Green tea", "Spiced rum",
                                    "White rum"]
        assert 'aria-sort="ascending"' in page.text
        searched = await client.get("/admin/admin_products", params={"q": "RUM"})
        assert names(searched.text) == ["Dark rum", "Spiced rum", "White rum"]
        by_notes = await client.get("/admin/admin_products", params={"q": "gin notes"})
        assert names(by_notes.text) == ["Dry gin"]
        wildcard = await client.get("/admin/admin_products", params={"q": "%"})
        assert names(wildcard.text) == []                   # % is a character, not a pattern
        filtered = await client.get("/admin/admin_products",
                                    params={"f.category": "rum", "f.in_stock": "true",
                                            "order": "-price"})
        assert names(filtered.text) == ["Spiced rum", "Dark rum", "White rum"]
        assert 'aria-sort="descending"' in filtered.text
        out_of_stock = await client.get("/admin/admin_products", params={"f.in_stock": "no"})
        assert names(out_of_stock.text) == ["Dry gin"]
        # the column headers link to the other order, keeping the filter
        header = re.search(r'<th scope="col"[^>]*><a href="([^"]+)">Price</a>',
                           filtered.text).group(1).replace("&amp;", "&")
        flipped = await client.get(header)
        assert names(flipped.text) == ["White rum", "Dark rum", "Spiced rum"]


async def test_keyset_pages_forwards_and_back(make_admin_app):
    app = make_admin_app()
    register_products(app)
    async with running(app, SCHEMA) as (_, client):
        await seed(app, n_extra=7)
        await log_in(client, ADMIN_ID)
        # "notes" is NULL for 8 of the 12 rows: the NULLs come last going up, first going down
        for order in ("name", "-price", "id", "-in_stock", "notes", "-notes"):
            everything = names((await client.get(
                "/admin/admin_products", params={"order": order, "per_page": "100"})).text)
            assert len(everything) == 12
            seen: list[list[str]] = []
            page = await client.get("/admin/admin_products",
                                    params={"order": order, "per_page": "5"})
            while True:
                assert page.status_code == 200
                seen.append(names(page.text))
                nxt = re.search(r'<a href="([^"]+)" rel="next">', page.text)
                if not nxt:
                    break
                page = await client.get(nxt.group(1).replace("&amp;", "&"))
            assert [len(p) for p in seen] == [5, 5, 2], order
            assert [name for p in seen for name in p] == everything, order
            back = []
            while True:
                prev = re.search(r'<a href="([^"]+)" rel="prev">', page.text)
                if not prev:
                    break
                page = await client.get(prev.group(1).replace("&amp;", "&"))
                back.append(names(page.text))
            assert back == [seen[1], seen[0]], order


async def test_the_list_query_is_keyset_and_bounded(make_admin_app):
    from rum.formdata import QueryParams
    from rum_admin.listing import build_page_query, parse_list_query

    app = make_admin_app()
    entry = rum_admin.admin_state(app).register(Product, search_fields=["name"],
                                                ordering="name")
    query = parse_list_query(entry, QueryParams([("q", "x'; DROP TABLE x;--"),
                                                 ("per_page", "10")]),
                             rum_admin.admin_state(app))
    sql, params = build_page_query(entry, query)
    assert "OFFSET" not in sql and "DROP" not in sql and sql.endswith("LIMIT $2")
    assert params == ["%x'; DROP TABLE x;--%", 11]


async def test_create_invalid_then_valid_edit_and_delete(make_admin_app):
    app = make_admin_app()
    register_products(app)
    async with running(app, SCHEMA) as (_, client):
        await log_in(client, ADMIN_ID)
        new = await client.get("/admin/admin_products/new")
        assert new.status_code == 200
        token = csrf_token(new.text)
        bad = {"name": "", "category": "beer", "price": "-3", "in_stock": "1", "notes": "",
               "csrf_token": token}
        invalid = await client.post("/admin/admin_products/new", data=bad)
        assert invalid.status_code == 422
        assert "Name can&#39;t be blank" in invalid.text or "Name can't be blank" in invalid.text
        assert "must be at least 0" in invalid.text and 'aria-invalid="true"' in invalid.text
        assert await Product.count() == 0
        good = {**bad, "name": "Old rum", "category": "rum", "price": "30"}
        created = await client.post("/admin/admin_products/new", data=good)
        assert created.status_code == 303
        product = await Product.all().fetch()
        assert (product.name, product.price, product.notes) == ("Old rum", Decimal("30.00"),
                                                                None)
        assert created.headers["location"] == f"/admin/admin_products/{product.id}"
        detail = await client.get(created.headers["location"])
        assert "Product " + str(product.id) + " was created" in detail.text
        assert "<dd>Old rum</dd>" in detail.text

        edit_url = f"/admin/admin_products/{product.id}/edit"
        edit = await client.get(edit_url)
        assert 'value="Old rum"' in edit.text
        refused = await client.post(edit_url, data={**good, "price": "abc",
                                                    "csrf_token": csrf_token(edit.text)})
        assert refused.status_code == 422 and 'value="abc"' in refused.text
        saved = await client.post(edit_url, data={**good, "name": "Older rum",
                                                  "csrf_token": csrf_token(edit.text)})
        assert saved.status_code == 303
        assert (await product.reload()).name == "Older rum"

        delete_url = f"/admin/admin_products/{product.id}/delete"
        confirm = await client.get(delete_url)
        assert confirm.status_code == 200 and "This cannot be undone" in confirm.text
        assert await Product.count() == 1                 # the page itself deletes nothing
        gone = await client.post(delete_url, data={"csrf_token": csrf_token(confirm.text)})
        assert gone.status_code == 303 and gone.headers["location"] == "/admin/admin_products"
        assert await Product.count() == 0
        listed = await client.get("/admin/admin_products")
        assert f"Product {product.id} was deleted" in listed.text
        assert (await client.get(f"/admin/admin_products/{product.id}")).status_code == 404


async def test_writes_without_the_csrf_token_are_refused(make_admin_app):
    app = make_admin_app()
    register_products(app)
    async with running(app, SCHEMA) as (_, client):
        await seed(app)
        await log_in(client, ADMIN_ID)
        product = await Product.all().order("id").limit(1).fetch()
        data = {"name": "Hacked", "category": "rum", "price": "1", "in_stock": "1"}
        for url, body in ((f"/admin/admin_products/{product.id}/edit", data),
                          (f"/admin/admin_products/{product.id}/delete", {}),
                          ("/admin/admin_products/new", data)):
            assert (await client.post(url, data=body)).status_code == 403, url
            forged = await client.post(url, data={**body, "csrf_token": "forged"})
            assert forged.status_code == 403, url
        assert (await product.reload()).name == "Dark rum"
        assert await Product.count() == len(PRODUCTS)


async def test_hostile_query_strings_are_4xx(make_admin_app):
    app = make_admin_app()
    register_products(app)
    async with running(app, SCHEMA) as (_, client):
        await seed(app)
        await log_in(client, ADMIN_ID)
        hostile = [
            {"order": "password"}, {"order": "name; DROP TABLE admin_products"},
            {"order": "notes\x00"}, {"f.notes": "x"}, {"f.category) OR (1=1": "x"},
            {"f.in_stock": "maybe"}, {"after": "not-a-cursor"}, {"before": "W10"},
            {"after": "WyJ4IiwieCJd"},            # ["x","x"]: the key is not a number
            {"after": "A" * 5000}, {"per_page": "1000000"}, {"per_page": "0"},
            {"per_page": "-1"}, {"per_page": "1e3"}, {"page": "2"}, {"offset": "10"},
            {"q": "x" * 500}, {"q": "a\x00b"},
        ]
        for params in hostile:
            response = await client.get("/admin/admin_products", params=params)
            assert response.status_code == 400, (params, response.status_code)
        twice = await client.get("/admin/admin_products?q=a&q=b")
        assert twice.status_code == 400
        assert (await client.get("/admin/nothing_here")).status_code == 404
        assert (await client.get("/admin/admin_products/abc")).status_code == 404
        assert (await client.get("/admin/admin_products/99999999999999999999")).status_code \
            == 404
        assert await Product.count() == len(PRODUCTS)


async def test_a_filter_without_choices_offers_the_common_values(make_admin_app):
    app = make_admin_app()
    rum_admin.admin_state(app).register(Product, list_display=["id", "name"],
                                        list_filter=["price"], ordering="name")
    async with running(app, SCHEMA) as (_, client):
        await seed(app)
        await Product.create(name="Cheap tea", category="tea", price=Decimal("4.20"))
        await log_in(client, ADMIN_ID)
        page = await client.get("/admin/admin_products")
        options = re.findall(r'<a href="[^"]*f.price=([0-9.]+)[^"]*">([^<]+)</a>', page.text)
        assert options[0] == ("4.20", "4.20")                 # the most common value first
        assert sorted(v for v, _ in options) == ["18.00", "21.00", "24.50", "26.00", "4.20"]
        cheap = await client.get("/admin/admin_products", params={"f.price": "4.2"})
        assert names(cheap.text) == ["Cheap tea", "Green tea"]
        assert 'aria-current="true">4.20</a>' in cheap.text
        assert (await client.get("/admin/admin_products",
                                 params={"f.price": "cheap"})).status_code == 400


async def test_database_constraints_are_answered_not_500(make_admin_app):
    """A write the model's validations allow but a constraint refuses: the form again with
    the database's reason (422); a delete that a foreign key refuses: the confirmation page
    with the reason (409). Values are escaped on every page."""
    app = make_admin_app()
    register_products(app)
    async with running(app, SCHEMA) as (_, client):
        await app.storage.execute("ALTER TABLE admin_products ADD CONSTRAINT price_cap "
                                  "CHECK (price < 1000)")
        await app.storage.execute("CREATE TABLE admin_reviews (id bigserial PRIMARY KEY, "
                                  "product_id bigint NOT NULL REFERENCES admin_products)")
        await log_in(client, ADMIN_ID)
        token = csrf_token((await client.get("/admin/admin_products/new")).text)
        data = {"name": "<script>alert(1)</script>", "category": "rum", "price": "5000",
                "in_stock": "1", "notes": "", "csrf_token": token}
        refused = await client.post("/admin/admin_products/new", data=data)
        assert refused.status_code == 422 and "price_cap" in refused.text
        assert "<script>alert(1)" not in refused.text
        created = await client.post("/admin/admin_products/new", data={**data, "price": "5"})
        assert created.status_code == 303
        product = await Product.all().fetch()
        listed = await client.get("/admin/admin_products")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listed.text
        assert "<script>alert(1)" not in listed.text
        await app.storage.execute("INSERT INTO admin_reviews (product_id) VALUES ($1)",
                                  product.id)
        delete_url = f"/admin/admin_products/{product.id}/delete"
        confirm = await client.get(delete_url)
        kept = await client.post(delete_url, data={"csrf_token": csrf_token(confirm.text)})
        assert kept.status_code == 409
        assert "other records refer to this one" in kept.text
        assert await Product.count() == 1


async def test_a_model_with_a_uuid_key_and_an_array_column(make_admin_app):
    from admin_models import TOKEN_SCHEMA, Token

    app = make_admin_app()
    entry = rum_admin.admin_state(app).register(Token, ordering="label")
    assert entry.form_fields == ("label",)                 # the array is shown, not edited
    async with running(app, TOKEN_SCHEMA) as (_, client):
        await log_in(client, ADMIN_ID)
        token = csrf_token((await client.get("/admin/admin_tokens/new")).text)
        created = await client.post("/admin/admin_tokens/new",
                                    data={"label": "deploy", "csrf_token": token})
        assert created.status_code == 303
        record = await Token.all().fetch()
        assert created.headers["location"] == f"/admin/admin_tokens/{record.id}"
        await Token.create(label="ci", tags=["a", "b"])
        listed = await client.get("/admin/admin_tokens", params={"per_page": "1"})
        assert ">ci<" in listed.text and ">deploy<" not in listed.text
        following = re.search(r'<a href="([^"]+)" rel="next">', listed.text).group(1)
        assert ">deploy<" in (await client.get(following.replace("&amp;", "&"))).text
        detail = await client.get(f"/admin/admin_tokens/{record.id}")
        assert detail.status_code == 200 and "<dd>deploy</dd>" in detail.text
        assert (await client.get("/admin/admin_tokens/not-a-uuid")).status_code == 404
        assert (await client.get("/admin/admin_tokens",
                                 params={"order": "tags"})).status_code == 400
    with pytest.raises(rum_admin.AdminDefinitionError, match=r"'tags'.*a form cannot edit"):
        rum_admin.ModelAdmin.build(Token, form_fields=["label", "tags"])

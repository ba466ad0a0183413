"""The order tracker's forms kit over a real socket on a real PostgreSQL: the order form is a
model form (errors inline, values kept, 422), a plain post redirects with a flash shown once,
a receipt is real mail through the job queue, and an order can carry an attached file."""

from __future__ import annotations

import re

import httpx
import pytest
import trio
from sample_support import DEMO_EMAIL, csrf_from, login

from rum_http.testing import serve_app
from rum_mail.testing import sent_mail
from rum_orm import Database

pytestmark = pytest.mark.postgres


async def test_plain_post_redirects_and_the_flash_shows_once(make_app) -> None:
    async with serve_app(make_app()) as url, httpx.AsyncClient(base_url=url) as client:
        await login(client)
        token = csrf_from((await client.get("/orders")).text)
        r = await client.post("/orders", data={
            "customer": "Dorothy Vaughan", "item": "FORTRAN primer", "quantity": "1",
            "total": "12.50", "csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == "/orders"
        page = (await client.get("/orders")).text
        match = re.search(r'<p class="flash flash-notice" role="status">Order #(\d+) for '
                          r'Dorothy Vaughan created.</p>', page)
        assert match, page[:3000]
        again = (await client.get("/orders")).text
        assert "flash-notice" not in again  # shown once


async def test_plain_invalid_post_shows_the_whole_page_again_with_422(make_app) -> None:
    async with serve_app(make_app()) as url, httpx.AsyncClient(base_url=url) as client:
        await login(client)
        token = csrf_from((await client.get("/orders")).text)
        r = await client.post("/orders", data={
            "customer": "Too long " * 30, "item": "", "quantity": "2.5", "total": "-1",
            "csrf_token": token})
    assert r.status_code == 422
    assert "<title>Orders · Rum order tracker</title>" in r.text  # the page, not a fragment
    assert "Customer is too long (at most 200 characters)" in r.text
    assert "Item can&#39;t be blank" in r.text
    assert "Quantity must be a whole number" in r.text
    assert "Total must be at least 0" in r.text
    assert 'value="2.5"' in r.text


async def test_the_receipt_is_mailed_by_the_job_and_recorded(make_app, database_url) -> None:
    app = make_app()
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        await login(client)
        token = csrf_from((await client.get("/orders")).text)
        r = await client.post("/orders", data={
            "customer": "Mary Jackson", "item": "Wind tunnel", "quantity": "3",
            "total": "1000", "csrf_token": token})
        assert r.status_code == 303
        async with Database.open(database_url) as db:
            order_id = await db.fetchval("SELECT id FROM orders WHERE customer = 'Mary Jackson'")
        subject = f"Receipt for order #{order_id}"
        with trio.fail_after(15):
            while not sent_mail(app=app, to=DEMO_EMAIL, subject=subject):
                await trio.sleep(0.1)
    [mail] = sent_mail(app=app, to=DEMO_EMAIL, subject=subject)
    message = mail.message
    assert message["From"] == "Rum order tracker <orders@example.com>"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html_part = message.get_body(("html",)).get_content()
    assert "3 x Wind tunnel, total 1000.00" in text
    assert "<strong>#" in html_part and "Mary Jackson" in html_part
    async with Database.open(database_url) as db:
        assert await db.fetchval("SELECT count(*) FROM outbox WHERE order_id = $1",
                                 order_id) == 1


async def test_an_order_carries_an_attached_file(make_app, tmp_path) -> None:
    async with serve_app(make_app()) as url, httpx.AsyncClient(base_url=url) as client:
        await login(client)
        token = csrf_from((await client.get("/orders")).text)
        data = b"%PDF-1.4 the purchase order\n" * 100
        r = await client.post(
            "/orders", data={"customer": "Annie Easley", "item": "Centaur stage",
                             "quantity": "1", "total": "99.99", "csrf_token": token},
            files={"attachment": ("purchase order (signed).pdf", data, "application/pdf")})
        assert r.status_code == 303, r.text
        page = (await client.get("/orders")).text
        link = re.search(r'<a class="attachment" href="(/orders/(\d+)/attachment)">'
                         r'purchase order \(signed\).pdf</a>', page)
        assert link, page[:4000]
        got = await client.get(link.group(1))
        assert got.status_code == 200 and got.content == data
        assert got.headers["content-disposition"] == (
            "attachment; filename=\"purchase_order__signed_.pdf\"; "
            "filename*=UTF-8''purchase%20order%20%28signed%29.pdf")
        stored = list((tmp_path / "uploads").rglob("*.pdf"))
        assert len(stored) == 1 and stored[0].read_bytes() == data
        async with httpx.AsyncClient(base_url=url) as stranger:
            assert (await stranger.get(link.group(1))).status_code in (302, 303)
        none = await client.get("/orders/1/attachment")  # a seeded order without a file
        assert none.status_code == 404


async def test_an_order_refused_after_its_file_was_stored_leaves_no_file(make_app,
                                                                         tmp_path) -> None:
    """The attachment is stored before the order is written; a name the model refuses (too
    long, a NUL) is a 422 and must not leave the stored file behind."""
    def body(filename: bytes) -> bytes:
        parts = [f'name="{k}"\r\n\r\n{v}'.encode() for k, v in (
            ("customer", "Hostile"), ("item", "Name"), ("quantity", "1"), ("total", "1"),
            ("csrf_token", token))]
        parts.append(b'name="attachment"; filename="' + filename
                     + b'"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 x')
        return b"".join(b"--B\r\nContent-Disposition: form-data; " + p + b"\r\n"
                        for p in parts) + b"--B--\r\n"

    async with serve_app(make_app()) as url, httpx.AsyncClient(base_url=url) as client:
        await login(client)
        token = csrf_from((await client.get("/orders")).text)
        for name in (b"n" * 300 + b".pdf", "\u00e9".encode() * 256, b"a\x00b.pdf"):
            r = await client.post("/orders", content=body(name),
                                  headers={"content-type": "multipart/form-data; boundary=B"})
            assert r.status_code == 422, r.text[:500]
        assert list((tmp_path / "uploads").rglob("*")) == []
        page = (await client.get("/orders")).text
        assert "Hostile" not in page

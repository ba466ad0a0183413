"""What visitors type into the account forms and the mail the tracker sends, over a real socket
on a real PostgreSQL: whatever the name typed on sign-up holds, the mail has one recipient
(the mailers pass ``(name, address)`` pairs, never ``f"{name} <{email}>"``); the reset form
does the same work for an address without an account as for one with."""

from __future__ import annotations

import email
import email.policy

import httpx
import pytest
import trio
from sample_support import csrf_from

from rum_http.testing import serve_app
from rum_mail.testing import sent_mail
from rum_orm import Database

pytestmark = pytest.mark.postgres

HOSTILE_NAME = "Eve <stranger@evil.example>, Eve"


async def test_a_name_with_an_address_in_it_adds_no_recipient(make_app) -> None:
    app = make_app()
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        page = await client.get("/signup")
        r = await client.post("/signup", data={
            "name": HOSTILE_NAME, "email": "eve@example.com",
            "password": "correct horse", "password_confirmation":
            "correct horse", "csrf_token": csrf_from(page.text)})
        assert r.status_code == 303, r.text[:2000]
        async with httpx.AsyncClient(base_url=url) as stranger:
            page = await stranger.get("/password/reset")
            r = await stranger.post("/password/reset", data={
                "email": "eve@example.com", "csrf_token": csrf_from(page.text)})
            assert r.status_code == 303
        with trio.fail_after(15):
            while not sent_mail(app=app, subject="Reset your password"):
                await trio.sleep(0.1)
    [mail] = sent_mail(app=app, subject="Reset your password")
    assert mail.recipients == ("eve@example.com",)
    assert mail.to == ["eve@example.com"]
    wire = email.message_from_bytes(mail.as_bytes(), policy=email.policy.default)
    assert [a.display_name for a in wire["To"].addresses] == [HOSTILE_NAME]
    assert b"stranger@evil.example>," not in mail.as_bytes().split(b"\r\n\r\n")[0].replace(
        b'"Eve <stranger@evil.example>, Eve"', b"")


async def test_the_reset_form_does_the_same_work_for_unknown_addresses(make_app,
                                                                       database_url) -> None:
    # Making the token and rendering the mail in the request, for known addresses only, let
    # the answer's timing tell who has an account (~15 ms against ~4 ms); now every address
    # typed costs one enqueue and the job looks the account up.
    app = make_app()
    async with serve_app(app) as url:
        for address in ("demo@example.com", "nobody@example.com"):
            async with httpx.AsyncClient(base_url=url) as client:
                page = await client.get("/password/reset")
                r = await client.post("/password/reset", data={
                    "email": address, "csrf_token": csrf_from(page.text)})
                assert r.status_code == 303 and r.headers["location"] == "/login"
        with trio.fail_after(15):
            while not sent_mail(app=app, subject="Reset your password"):
                await trio.sleep(0.1)
        async with Database.open(database_url) as db:
            jobs = await db.fetch("SELECT job, args->>'email' AS email FROM rum_jobs "
                                  "WHERE job NOT IN ('SendReceipt', 'OrderSummary') "
                                  "ORDER BY id")
    assert [(job["job"], job["email"]) for job in jobs] == [
        ("SendPasswordReset", "demo@example.com"), ("SendPasswordReset", "nobody@example.com")]
    assert [mail.recipients for mail in sent_mail(app=app, subject="Reset your password")] == [
        ("demo@example.com",)]


async def test_a_name_with_a_line_break_is_refused_at_sign_up(make_app) -> None:
    # It used to be stored; every mail to that account then failed as header injection (the
    # reset link could never be sent, and before the reset job, the reset form answered a
    # stranger 422 for that address where others got 303).
    app = make_app()
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        page = await client.get("/signup")
        r = await client.post("/signup", data={
            "name": "Eve\nBcc: stranger@evil.example", "email": "eve@example.com",
            "password": "correct horse", "password_confirmation": "correct horse",
            "csrf_token": csrf_from(page.text)})
        assert r.status_code == 422
        assert "must be one line of text" in r.text

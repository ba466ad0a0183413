"""``deliver_later()`` through the real PostgreSQL job queue: transactional with the caller's
writes, run by a worker, retried when the SMTP server is down, discarded when it refuses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from aiosmtpd.controller import Controller as SmtpController
from mail_helpers import RecordingHandler, SmtpServer, free_port, project

from rum import App, Controller, Request, Response
from rum.errors import UnprocessableEntity
from rum_jobs import get_job
from rum_jobs.testing import drain, enqueued
from rum_mail import DeliverMail, Envelope, Mail, Mailer
from rum_orm.testing import create_database, drop_database, unique_database_name

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def database_url(postgres_url: str) -> Iterator[str]:
    """One database for this module's tests (each test empties the jobs table first)."""
    name = unique_database_name("rum_mail_test")
    url = create_database(postgres_url, name)
    try:
        yield url
    finally:
        drop_database(postgres_url, name)


async def fresh_jobs(app: App) -> None:
    """The jobs tables, created if missing and emptied."""
    await app.jobs.ensure_schema()  # type: ignore[attr-defined]
    await app.storage.execute("TRUNCATE rum_jobs RESTART IDENTITY; "
                              "DROP TABLE IF EXISTS orders")


class OrderMailer(Mailer):
    default_from = "Shop <shop@example.com>"

    def receipt(self, order_id: int, to: str = "ada@example.com") -> Mail:
        return self.mail(to=to, subject=f"Receipt #{order_id}", template="order_mailer/receipt",
                         context={"order_id": order_id})


def make_app(tmp_path: Path, database_url: str, mail: dict[str, Any],
             **jobs: Any) -> App:
    return App(plugins=["orm", "templates", "jobs", "mail"], root=project(tmp_path), env="test",
               config={"database": {"url": database_url}, "mail": mail, "jobs": jobs})


async def test_a_worker_delivers_mail_enqueued_in_a_committed_transaction(
        tmp_path: Path, database_url: str, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server("none")
    app = make_app(tmp_path, database_url, server.config(smtp_security="none"),
                   run_worker_in_app=True, poll_interval=0.1)
    async with app.running():
        await fresh_jobs(app)
        await app.storage.execute("CREATE TABLE orders (id int PRIMARY KEY)")
        mail = OrderMailer().receipt(31)
        async with app.storage.transaction():
            await app.storage.execute("INSERT INTO orders VALUES (31)")
            job_id = await mail.deliver_later()
        with trio.fail_after(10):
            while not server.messages:
                await trio.sleep(0.02)
        with trio.fail_after(5):
            while (record := await get_job(app.storage, job_id)).status != "complete":
                await trio.sleep(0.02)
    assert record.job == "rum_mail.DeliverMail" and record.queue == "default"
    assert record.result == {"message_id": mail.message_id, "recipients": ["ada@example.com"]}
    [received] = server.messages
    assert received.rcpt_tos == ["ada@example.com"]
    assert f"Message-ID: {mail.message_id}".encode() in received.data
    assert b"Order 31: thank you." in received.data


async def test_the_job_stores_the_built_message(tmp_path: Path, database_url: str) -> None:
    app = make_app(tmp_path, database_url, {"backend": "test", "queue": "mail"})
    async with app.running():
        await fresh_jobs(app)
        mail = OrderMailer().receipt(5).attach("a.bin", b"\x00\x01")
        await mail.deliver_later(priority=3)
        [record] = await enqueued(DeliverMail)
        assert record.queue == "mail" and record.priority == 3
        stored = Envelope.from_job_args(record.args)
        assert stored.as_bytes() == mail.as_bytes()     # byte for byte what was built
        assert stored.attachments == [("a.bin", "application/octet-stream", b"\x00\x01")]


async def test_a_rolled_back_transaction_sends_no_mail(tmp_path: Path,
                                                      database_url: str) -> None:
    from rum_mail.testing import outbox

    app = make_app(tmp_path, database_url, {"backend": "test"})
    async with app.running():
        await fresh_jobs(app)
        with pytest.raises(RuntimeError, match="payment declined"):
            async with app.storage.transaction():
                await OrderMailer().receipt(1).deliver_later()
                assert len(await enqueued(DeliverMail)) == 1   # visible inside
                raise RuntimeError("payment declined")
        assert await enqueued(DeliverMail) == []
        assert await drain() == 0
        assert outbox() == []
        await OrderMailer().receipt(2).deliver_later()        # no transaction: committed
        assert await drain() == 1
        assert [m.subject for m in outbox()] == ["Receipt #2"]


async def test_a_failed_delivery_is_retried_by_the_queue(
        tmp_path: Path, database_url: str) -> None:
    port = free_port()  # nothing listens yet: connection refused
    app = make_app(tmp_path, database_url, {"backend": "smtp", "smtp_host": "127.0.0.1",
                                            "smtp_port": port, "smtp_security": "none",
                                            "smtp_timeout": 5.0})
    async with app.running():
        await fresh_jobs(app)
        job_id = await OrderMailer().receipt(8).deliver_later()
        assert await drain() == 1
        record = await get_job(app.storage, job_id)
        assert record.status == "retryable" and record.attempt == 1
        assert record.errors[0]["error"].startswith(
            f"MailDeliveryError: cannot send mail through 127.0.0.1:{port}")
        handler = RecordingHandler()
        controller = SmtpController(handler, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            await app.storage.execute("UPDATE rum_jobs SET run_at = now() WHERE id = $1",
                                      job_id)  # skip the backoff wait
            assert await drain() == 1
        finally:
            controller.stop()
        record = await get_job(app.storage, job_id)
        assert record.status == "complete" and record.attempt == 2
    assert [m.rcpt_tos for m in handler.messages] == [["ada@example.com"]]


async def test_a_permanent_refusal_is_discarded_not_retried(
        tmp_path: Path, database_url: str, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server("none")
    app = make_app(tmp_path, database_url, server.config(smtp_security="none"))
    async with app.running():
        await fresh_jobs(app)
        job_id = await OrderMailer().receipt(9, to="nobody@example.com").deliver_later()
        assert await drain() == 1
        record = await get_job(app.storage, job_id)
    assert record.status == "discarded" and record.attempt == 1
    assert "refused every recipient: nobody@example.com (550 5.1.1 no such user here)" in \
        str(record.errors or record.result)
    assert server.messages == []


class Checkout(Controller):
    """Records an order and enqueues its receipt in one transaction."""

    async def post(self, request: Request) -> Response:
        form = await request.form()
        db = request.app.storage  # type: ignore[union-attr]
        async with db.transaction():
            await db.execute("INSERT INTO orders VALUES ($1)", int(form["id"]))
            await OrderMailer().receipt(int(form["id"]), to=form["email"]).deliver_later()
            if form.get("coupon") == "expired":
                raise UnprocessableEntity("the coupon expired")  # rolls the order back
        return Response.text("ordered", 201)


async def test_a_request_enqueues_mail_with_its_writes(
        tmp_path: Path, database_url: str, browser: Any) -> None:
    from rum_mail.testing import assert_mail_sent, outbox

    app = App([Checkout.route("/checkout")],
              plugins=["http", "orm", "templates", "jobs", "mail"], root=project(tmp_path),
              env="test", config={"database": {"url": database_url}})
    async with browser(app) as client:
        await fresh_jobs(app)
        await app.storage.execute("CREATE TABLE orders (id int PRIMARY KEY)")
        ok = await client.post("/checkout", data={"id": "1", "email": "Ada <ada@example.com>"})
        assert ok.status_code == 201
        expired = await client.post("/checkout", data={"id": "2", "email": "bo@example.com",
                                                       "coupon": "expired"})
        assert expired.status_code == 422
        injected = await client.post("/checkout", data={
            "id": "3", "email": "eve@example.com\r\nBcc: everyone@example.com"})
        assert injected.status_code == 422      # unchecked user input: a 4xx, not a 500
        assert "line break" in injected.text
        bad = await client.post("/checkout", data={"id": "4", "email": "not an address"})
        assert bad.status_code == 422 and "is not an email address" in bad.text
        assert [r["id"] for r in await app.storage.fetch("SELECT id FROM orders")] == [1]
        assert len(await enqueued(DeliverMail)) == 1
        assert app.jobs.registered["rum_mail.DeliverMail"] is DeliverMail  # type: ignore[attr-defined]
        assert await drain() == 1
        assert_mail_sent(to="ada@example.com", subject="Receipt #1")
        assert len(outbox()) == 1


async def test_deliver_mail_needs_an_app(tmp_path: Path, database_url: str) -> None:
    from rum_orm import Database

    app = make_app(tmp_path, database_url, {"backend": "test"})
    async with app.running():
        await fresh_jobs(app)
        job_id = await OrderMailer().receipt(1).deliver_later()
    async with Database.open(database_url, pool_max=2) as db:   # no app: a bare worker
        assert await drain([DeliverMail], db=db) == 1
        record = await get_job(db, job_id)
    assert record.status == "retryable"
    assert "no app is running: run it with `rum worker`" in record.errors[0]["error"]

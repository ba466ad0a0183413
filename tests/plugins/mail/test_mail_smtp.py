"""The SMTP backend against a real SMTP server (aiosmtpd on a 127.0.0.1 port): plain, STARTTLS
and implicit TLS, with and without AUTH, and the failures each refuses clearly."""

from __future__ import annotations

import email
import email.policy
import functools
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio
from mail_helpers import SmtpServer, project

from rum import App
from rum_mail import Envelope, Mail, MailDeliveryError, Mailer, SmtpBackend


class OrderMailer(Mailer):
    default_from = "Shop <shop@example.com>"

    def receipt(self, order_id: int, to: str) -> Mail:
        return self.mail(to=to, bcc="audit@example.com", subject=f"Receipt #{order_id}",
                         template="order_mailer/receipt", context={"order_id": order_id})


def smtp_app(tmp_path: Path, server: SmtpServer, **mail: Any) -> App:
    return App(plugins=["templates", "mail"], root=project(tmp_path), env="production",
               config={"mail": server.config(**mail)})


async def test_plain_smtp_delivers_the_message_and_envelope(
        tmp_path: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server("none")
    app = smtp_app(tmp_path, server, smtp_security="none")
    async with app.running():
        mail = OrderMailer().receipt(42, "Ada <ada@example.com>")
        await mail.deliver_now()
    [received] = server.messages
    assert received.mail_from == "shop@example.com"
    assert received.rcpt_tos == ["ada@example.com", "audit@example.com"]
    assert received.login is None and not received.tls
    message = email.message_from_bytes(received.data, policy=email.policy.default)
    assert message["Subject"] == "Receipt #42"
    assert message["Message-ID"] == mail.message_id
    assert "Bcc" not in message and b"audit@example.com" not in received.data
    assert message.get_content_type() == "multipart/alternative"
    assert "Order 42: thank you." in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_a_name_and_address_pair_is_one_recipient_whatever_the_name(
        tmp_path: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server("none")
    app = smtp_app(tmp_path, server, smtp_security="none")
    hostile = "Eve <stranger@evil.example>, Ünï"
    async with app.running():
        await OrderMailer().mail(to=(hostile, "eve@example.com"), subject="Hi",
                                 text="t").deliver_now()
    [received] = server.messages
    assert received.rcpt_tos == ["eve@example.com"]
    message = email.message_from_bytes(received.data, policy=email.policy.default)
    [to] = message["To"].addresses
    assert (to.display_name, to.addr_spec) == (hostile, "eve@example.com")


async def test_starttls_with_auth(tmp_path: Path,
                                  smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server("starttls", users={"shop": "s3cret"})
    app = smtp_app(tmp_path, server, smtp_security="starttls", smtp_username="shop",
                   smtp_password="s3cret")
    async with app.running():
        await OrderMailer().receipt(1, "ada@example.com").deliver_now()
    [received] = server.messages
    assert received.tls and received.login == "shop"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd: TLS
async def test_implicit_tls_with_auth(tmp_path: Path,
                                      smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server("tls", users={"shop": "s3cret"})
    app = smtp_app(tmp_path, server, smtp_security="tls", smtp_username="shop",
                   smtp_password="s3cret")
    async with app.running():
        await OrderMailer().receipt(2, "ada@example.com").deliver_now()
    [received] = server.messages
    assert received.tls and received.login == "shop"


async def test_a_wrong_password_is_a_clear_delivery_error(
        tmp_path: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server("starttls", users={"shop": "s3cret"})
    app = smtp_app(tmp_path, server, smtp_username="shop", smtp_password="wrong")
    async with app.running():
        with pytest.raises(MailDeliveryError, match=r"refused the login of 'shop' \(535") as e:
            await OrderMailer().receipt(3, "ada@example.com").deliver_now()
    assert not e.value.permanent and server.messages == []


async def test_starttls_is_required_when_configured(
        tmp_path: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server("none")  # offers no STARTTLS
    app = smtp_app(tmp_path, server, smtp_security="starttls")
    async with app.running():
        with pytest.raises(MailDeliveryError, match="does not offer STARTTLS"):
            await OrderMailer().receipt(4, "ada@example.com").deliver_now()
    assert server.messages == []


async def test_an_untrusted_certificate_is_refused(
        tmp_path: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server("starttls")
    backend = SmtpBackend(server.host, server.port, security="starttls", timeout=5)
    mail = OrderMailer(App(plugins=["templates", "mail"], root=project(tmp_path), env="test")) \
        .receipt(5, "ada@example.com")
    with pytest.raises(MailDeliveryError, match=r"TLS with 127\.0\.0\.1:\d+ failed.*smtp_ca_file"):
        await mail.deliver_now(backend=backend)
    assert server.messages == []


async def test_refused_recipients_are_permanent_failures(
        tmp_path: Path, smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server("none")
    app = smtp_app(tmp_path, server, smtp_security="none")
    async with app.running():
        with pytest.raises(MailDeliveryError, match="refused every recipient") as caught:
            await Mailer().mail(from_="s@example.com", to="nobody@example.com", subject="x",
                                text="t").deliver_now()
        assert caught.value.permanent
        # one good recipient: delivered to it, the refusal is logged, not raised
        await Mailer().mail(from_="s@example.com", to=["nobody@example.com", "ok@example.com"],
                            subject="y", text="t").deliver_now()
    assert [m.rcpt_tos for m in server.messages] == [["ok@example.com"]]


async def test_internationalized_domains_go_out_in_ascii(
        smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server("none", enable_SMTPUTF8=False)
    mail = Mail(from_="Zoë <shop@bücher.example>", to="ada@例え.jp", subject="Grüße",
                text="Schöne Grüße")
    await mail.deliver_now(backend=SmtpBackend(server.host, server.port, security="none"))
    [received] = server.messages
    assert received.mail_from == "shop@xn--bcher-kva.example"
    assert received.rcpt_tos == ["ada@xn--r8jz45g.jp"]
    message = email.message_from_bytes(received.data, policy=email.policy.default)
    assert message["Subject"] == "Grüße" and message["From"] == "Zoë <shop@xn--bcher-kva.example>"
    assert received.data.isascii()
    # an envelope built by hand with a non-ASCII local part: the server cannot take it, ever
    raw = Envelope(mail.message, "shop@xn--bcher-kva.example", ("zoë@example.com",))
    with pytest.raises(MailDeliveryError, match="need a server with SMTPUTF8") as caught:
        await SmtpBackend(server.host, server.port, security="none").send(raw)
    assert caught.value.permanent and len(server.messages) == 1


async def test_a_silent_server_times_out(tmp_path: Path) -> None:
    with socket.socket() as listener:            # accepts connections, never says a word
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        backend = SmtpBackend("127.0.0.1", port, security="none", timeout=0.3)
        mail = Mail(from_="s@example.com", to="a@example.com", subject="x", text="t")
        started = time.monotonic()
        with pytest.raises(MailDeliveryError, match="timed out") as caught:
            await mail.deliver_now(backend=backend)
        assert time.monotonic() - started < 3
    assert not caught.value.permanent


async def test_connection_refused_is_a_retryable_delivery_error(tmp_path: Path) -> None:
    from mail_helpers import free_port

    backend = SmtpBackend("127.0.0.1", free_port(), security="none", timeout=2)
    mail = Mail(from_="s@example.com", to="a@example.com", subject="x", text="t")
    with pytest.raises(MailDeliveryError, match=r"cannot send mail through 127\.0\.0\.1:") as e:
        await mail.deliver_now(backend=backend)
    assert not e.value.permanent


class CountingBackend(SmtpBackend):
    """Records how many sends run at once (each holds its thread 50 ms longer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lock = threading.Lock()
        self.active = self.peak = 0

    def send_blocking(self, envelope: Any) -> None:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            time.sleep(0.05)
            super().send_blocking(envelope)
        finally:
            with self.lock:
                self.active -= 1


async def test_sends_run_off_the_event_loop_within_the_limit(
        smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server("none")
    backend = CountingBackend(server.host, server.port, security="none", timeout=5,
                              max_connections=2)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.sleep(0.005)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        async with trio.open_nursery() as senders:
            for i in range(6):
                mail = Mail(from_="s@example.com", to=f"r{i}@example.com", subject=f"n{i}",
                            text="t")
                senders.start_soon(functools.partial(mail.deliver_now, backend=backend))
        nursery.cancel_scope.cancel()
    assert sorted(m.rcpt_tos[0] for m in server.messages) == [f"r{i}@example.com"
                                                              for i in range(6)]
    assert backend.peak == 2          # the CapacityLimiter: never more than max_connections
    assert ticks >= 10                # the loop kept running while the sends were in threads


def test_rum_mail_test_sends_through_the_configured_server(
        tmp_path: Path, smtp_server: Callable[..., SmtpServer],
        capsys: pytest.CaptureFixture[str]) -> None:
    from rum.cli import main

    server = smtp_server("starttls", users={"ops": "pw"})
    (tmp_path / "Rum.toml").write_text(
        '[plugins]\nenabled = ["mail"]\n[mail]\nbackend = "smtp"\n'
        f'smtp_host = "127.0.0.1"\nsmtp_port = {server.port}\nsmtp_username = "ops"\n'
        f'smtp_password = "pw"\nsmtp_ca_file = "{server.ca_file}"\n'
        'default_from = "App <app@example.com>"\n')
    assert main(["--root", str(tmp_path), "mail", "test", "--to", "ops@example.com"]) == 0
    assert capsys.readouterr().out == (f"sent 'Rum mail test' to ops@example.com through "
                                       f"127.0.0.1:{server.port} (starttls)\n")
    [received] = server.messages
    assert received.rcpt_tos == ["ops@example.com"] and received.login == "ops" and received.tls
    # a refused login is exit 1 with the reason, a bad address exit 2
    (tmp_path / "Rum.toml").write_text(
        (tmp_path / "Rum.toml").read_text().replace('smtp_password = "pw"',
                                                    'smtp_password = "nope"'))
    assert main(["--root", str(tmp_path), "mail", "test", "--to", "ops@example.com"]) == 1
    assert "refused the login of 'ops' (535" in capsys.readouterr().err
    assert main(["--root", str(tmp_path), "mail", "test", "--to", "ops at example"]) == 2
    assert "is not an email address" in capsys.readouterr().err

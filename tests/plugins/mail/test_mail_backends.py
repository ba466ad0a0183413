"""Backends chosen by ``[mail]``: the development .eml files, the test outbox and its
assertions, and the configuration errors."""

from __future__ import annotations

import email
import email.policy
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from mail_helpers import project

from rum import App
from rum.errors import ConfigError, RumError
from rum_mail import FileBackend, Mail, Mailer, MailError, SmtpBackend, TestBackend, backend_of
from rum_mail.testing import (
    assert_mail_sent,
    clear_outbox,
    outbox,
    refute_mail_sent,
    sent_mail,
)


class OrderMailer(Mailer):
    default_from = "Shop <shop@example.com>"

    def receipt(self, order_id: int, to: str = "ada@example.com") -> Mail:
        return self.mail(to=to, subject=f"Receipt #{order_id}", template="order_mailer/receipt",
                         context={"order_id": order_id})


def make_app(tmp_path: Path, env: str, **mail: Any) -> App:
    return App(plugins=["templates", "mail"], root=project(tmp_path), env=env,
               config={"mail": mail} if mail else None)


@pytest.mark.parametrize("env, kind", [("development", FileBackend), ("test", TestBackend),
                                       ("production", SmtpBackend), ("staging", SmtpBackend)])
def test_the_default_backend_follows_the_environment(tmp_path: Path, env: str,
                                                     kind: type) -> None:
    backend = backend_of(make_app(tmp_path, env))
    assert type(backend) is kind
    if isinstance(backend, SmtpBackend):
        assert (backend.host, backend.port, backend.security) == ("localhost", 587, "starttls")


async def test_the_file_backend_writes_eml_files_and_logs_their_path(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(tmp_path, "development")
    caplog.set_level(logging.INFO, logger="rum.mail")
    async with app.running():
        await OrderMailer().receipt(9).deliver_now()
        await OrderMailer().receipt(10).deliver_now()
    files = sorted((tmp_path / "tmp" / "mail").iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]
    assert re.fullmatch(r"\d{8}-\d{6}-\d{6}-receipt-9-[0-9a-f]{8}\.eml", files[0].name)
    data = files[0].read_bytes()
    assert data.count(b"\r\n") > 5 and data.count(b"\n") == data.count(b"\r\n")
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert message["Subject"] == "Receipt #9" and message["To"] == "ada@example.com"
    lines = [r.getMessage() for r in caplog.records if r.name == "rum.mail"]
    assert lines == [f"mail 'Receipt #9' to ada@example.com: {files[0]}",
                     f"mail 'Receipt #10' to ada@example.com: {files[1]}"]
    assert backend_of(app).last_path == files[1]  # type: ignore[attr-defined]


async def test_file_path_is_configurable(tmp_path: Path) -> None:
    app = make_app(tmp_path, "development", file_path="var/outgoing")
    async with app.running():
        await OrderMailer().receipt(1).deliver_now()
    assert len(list((tmp_path / "var" / "outgoing").glob("*.eml"))) == 1


async def test_the_test_backend_and_its_assertions(tmp_path: Path) -> None:
    app = make_app(tmp_path, "test")
    async with app.running():
        assert outbox() == []
        await OrderMailer().receipt(1).deliver_now()
        await OrderMailer().mail(to="bob@example.com", cc="carol@example.com",
                                 bcc="dave@example.com", subject="Weekly news",
                                 text="Plain news", html="<p>News</p>").deliver_now()
        assert [m.subject for m in outbox()] == ["Receipt #1", "Weekly news"]
        sent = assert_mail_sent(to="ada@example.com", subject="Receipt #1")
        assert sent.text == "Order 1: thank you.\n"
        assert sent.html == "<p>Order 1: thank you.</p>\n"
        assert assert_mail_sent(cc="carol@example.com").subject == "Weekly news"
        assert assert_mail_sent(bcc="DAVE@example.com", text="Plain", html="<p>News").to == \
            ["bob@example.com"]
        assert_mail_sent(subject=re.compile(r"Receipt #\d+"), sender="shop@example.com",
                         count=1)
        assert len(sent_mail(sender="shop@example.com")) == 2
        refute_mail_sent(to="zed@example.com")
        with pytest.raises(AssertionError) as caught:
            assert_mail_sent(to="zed@example.com")
        assert str(caught.value) == (
            "expected a mail matching to='zed@example.com', found 0; outbox: 'Receipt #1' "
            "from shop@example.com to ada@example.com; 'Weekly news' from shop@example.com "
            "to bob@example.com, carol@example.com, dave@example.com")
        with pytest.raises(AssertionError, match="expected exactly 2 mail matching "
                                                 "subject='Receipt #1', found 1"):
            assert_mail_sent(subject="Receipt #1", count=2)
        with pytest.raises(AssertionError, match="expected no mail matching to='bob"):
            refute_mail_sent(to="bob@example.com")
        with pytest.raises(ValueError, match="use refute_mail_sent"):
            assert_mail_sent(count=0)
        clear_outbox()
        assert outbox() == []


def test_outboxes_belong_to_their_app(tmp_path: Path) -> None:
    first, second = make_app(tmp_path / "a", "test"), make_app(tmp_path / "b", "test")
    assert outbox(first) is not outbox(second)


def test_the_outbox_needs_the_test_backend(tmp_path: Path) -> None:
    app = make_app(tmp_path, "development")
    with pytest.raises(MailError, match=r'set \[mail\] backend = "test"'):
        outbox(app)


async def test_mail_needs_the_plugin_and_an_app(tmp_path: Path) -> None:
    bare = App(plugins=["templates"], root=tmp_path, env="test")
    mail = Mail(from_="s@example.com", to="a@example.com", subject="x", text="t")
    async with bare.running():
        with pytest.raises(MailError, match=r'add "mail" to \[plugins\] enabled'):
            await mail.deliver_now()
    with pytest.raises(MailError, match="no app is running"):
        await mail.deliver_now()


async def test_deliver_later_needs_the_jobs_plugin(tmp_path: Path) -> None:
    app = make_app(tmp_path, "test")
    async with app.running():
        with pytest.raises(MailError, match=r'deliver_later\(\) needs the jobs plugin: add '
                                            r'"jobs" to \[plugins\] enabled'):
            await OrderMailer().receipt(1).deliver_later()


@pytest.mark.parametrize("settings, message", [
    ({"backend": "carrier-pigeon"}, "backend"),
    ({"smtp_username": "shop"}, r"\[mail\] smtp_password is empty while smtp_username "
                                r"is set"),
    ({"smtp_password": "x"}, r"\[mail\] smtp_username is empty"),
    ({"backend": "smtp", "smtp_host": "mail.example.com", "smtp_security": "none",
      "smtp_username": "u", "smtp_password": "p"},
     r"\[mail\] smtp_security is \"none\" with a login to mail.example.com: the password "
     r"would cross the network in clear text"),
    ({"smtp_port": 70000}, r"\[mail\] smtp_port must be a TCP port"),
    ({"smtp_timeout": 0}, r"\[mail\] smtp_timeout must be a positive number"),
    ({"smtp_max_connections": 0}, r"\[mail\] smtp_max_connections must be at least 1"),
    ({"smtp_ca_file": "missing.pem"}, r"\[mail\] smtp_ca_file names .*missing.pem.*not a file"),
    ({"default_from": "shop at example"}, r"\[mail\] default_from is not one email address"),
    ({"base_url": "shop.example.com"}, r"\[mail\] base_url must start with http"),
    ({"smtp_security": "ssl"}, "smtp_security"),
])
def test_configuration_errors_name_the_setting(tmp_path: Path, settings: dict[str, Any],
                                               message: str) -> None:
    with pytest.raises((ConfigError, RumError), match=message):
        App(plugins=["mail"], root=tmp_path, env="production", config={"mail": settings})


def test_settings_from_rum_toml_are_named_with_their_file(tmp_path: Path) -> None:
    (tmp_path / "Rum.toml").write_text('[mail]\nbackend = "smtp"\nsmtp_port = -1\n')
    with pytest.raises(ConfigError, match=r"Rum.toml: \[mail\] smtp_port must be a TCP port"):
        App(plugins=["mail"], root=tmp_path, env="production")


def test_a_local_relay_may_take_a_login_without_tls(tmp_path: Path) -> None:
    app = App(plugins=["mail"], root=tmp_path, env="production",
              config={"mail": {"smtp_host": "127.0.0.1", "smtp_security": "none",
                               "smtp_username": "u", "smtp_password": "p"}})
    backend = backend_of(app)
    assert isinstance(backend, SmtpBackend) and backend.port == 25

"""Building mail: mailers and ERB templates, the MIME structure, headers, attachments, and the
refusal of header injection and malformed addresses."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path
from typing import Any

import pytest

from rum import App
from rum_mail import (
    Attachment,
    HeaderInjectionError,
    InvalidAddress,
    Mail,
    Mailer,
    MailError,
)
from rum_templates import TemplateNotFound


class OrderMailer(Mailer):
    default_from = "Shop <shop@example.com>"

    def receipt(self, order: dict[str, Any]) -> Mail:
        return self.mail(to=f"{order['name']} <{order['email']}>",
                         subject=f"Receipt #{order['id']}", template="order_mailer/receipt",
                         context={"order": order})


def write_templates(root: Path) -> None:
    folder = root / "templates" / "order_mailer"
    folder.mkdir(parents=True)
    (folder / "receipt.txt").write_text(
        "Hello <%= order.name %>,\n<% for item in order.lines %>\n- <%= item %>\n<% end %>\n"
        "Total: <%= order.total %>\n")
    (folder / "receipt.html").write_text(
        "<h1>Hello <%= order.name %></h1>\n<ul>\n<% for item in order.lines %>\n"
        "<li><%= item %></li>\n<% end %>\n</ul>\n")
    (folder / "text_only.txt").write_text("Just text for <%= who %>\n")


@pytest.fixture
def app(tmp_path: Path) -> App:
    write_templates(tmp_path)
    return App(plugins=["templates", "mail"], root=tmp_path, env="test")


ORDER = {"id": 7, "name": "Ada", "email": "ada@example.com", "lines": ["tea", "<rum>"],
         "total": "12.50"}


def parse(data: bytes) -> email.message.EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def test_a_mailer_renders_text_and_html_into_multipart_alternative(app: App) -> None:
    mail = OrderMailer(app).receipt(ORDER)
    data = mail.as_bytes()
    assert b"\r\n" in data and b"\n\n" not in data.replace(b"\r\n", b"")  # CRLF on the wire
    message = parse(data)
    assert message.get_content_type() == "multipart/alternative"
    assert message["From"] == "Shop <shop@example.com>"
    assert message["To"] == "Ada <ada@example.com>"
    assert message["Subject"] == "Receipt #7"
    assert message["Date"] and message["Message-ID"].endswith("@example.com>")
    assert "Bcc" not in message
    parts = [p.get_content_type() for p in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert text == "Hello Ada,\n- tea\n- <rum>\nTotal: 12.50\n"   # .txt: not escaped
    assert "<li>&lt;rum&gt;</li>" in html                         # .html: escaped


def test_one_template_kind_makes_a_single_part_message(app: App) -> None:
    mail = OrderMailer(app).mail(to="a@example.com", subject="Hi",
                                 template="order_mailer/text_only", context={"who": "you"})
    message = parse(mail.as_bytes())
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == "Just text for you\r\n"
    html_only = Mail(to="a@example.com", subject="Hi", from_="s@example.com", html="<p>x</p>")
    assert parse(html_only.as_bytes()).get_content_type() == "text/html"


def test_a_missing_template_names_both_files_and_the_directory(app: App) -> None:
    with pytest.raises(TemplateNotFound) as caught:
        OrderMailer(app).mail(to="a@example.com", subject="x", template="order_mailer/nope")
    message = str(caught.value)
    assert "'order_mailer/nope.txt' or 'order_mailer/nope.html'" in message
    assert str(app.root / "templates") in message


def test_templates_need_the_templates_plugin(tmp_path: Path) -> None:
    app = App(plugins=["mail"], root=tmp_path, env="test")
    with pytest.raises(MailError, match=r'add "templates" to \[plugins\] enabled'):
        OrderMailer(app).receipt(ORDER)
    plain = OrderMailer(app).mail(to="a@example.com", subject="x", text="plain body")
    assert plain.text == "plain body"


def test_cc_bcc_reply_to_headers_and_envelope(app: App) -> None:
    mail = OrderMailer(app).mail(
        to=["a@example.com", "Bé <b@example.com>"], cc="c@example.com, d@example.com",
        bcc="Secret <hidden@example.com>", reply_to="help@example.com", subject="Ünïcode ✓",
        text="body", headers={"X-Campaign": "spring"})
    message = parse(mail.as_bytes())
    assert message["Cc"] == "c@example.com, d@example.com"
    assert message["Reply-To"] == "help@example.com"
    assert message["X-Campaign"] == "spring"
    assert message["Subject"] == "Ünïcode ✓"
    assert "Bcc" not in message and b"hidden@example.com" not in mail.as_bytes()
    envelope = mail.envelope()
    assert envelope.sender == "shop@example.com"
    assert envelope.recipients == ("a@example.com", "b@example.com", "c@example.com",
                                   "d@example.com", "hidden@example.com")
    assert envelope.bcc == ["hidden@example.com"]
    assert envelope.to == ["a@example.com", "b@example.com"]


def test_attachments_make_multipart_mixed(app: App, tmp_path: Path) -> None:
    (tmp_path / "terms.txt").write_text("Terms ✓")
    mail = OrderMailer(app).receipt(ORDER)
    mail.attach("receipt.pdf", b"%PDF-1.7 \x00\xff")
    mail.attachments.append(Attachment.from_path(tmp_path / "terms.txt"))
    message = parse(mail.as_bytes())
    assert message.get_content_type() == "multipart/mixed"
    first, *files = list(message.iter_parts())
    assert first.get_content_type() == "multipart/alternative"
    assert [(f.get_filename(), f.get_content_type()) for f in files] == [
        ("receipt.pdf", "application/pdf"), ("terms.txt", "text/plain")]
    assert files[0].get_payload(decode=True) == b"%PDF-1.7 \x00\xff"
    assert mail.envelope().attachments[1] == ("terms.txt", "text/plain", "Terms ✓".encode())
    with pytest.raises(MailError, match="plain file name"):
        Attachment("../etc/passwd", b"")
    with pytest.raises(MailError, match="encoded word"):   # decoded: ../../etc/passwd
        Attachment("=?utf-8?q?=2E=2E=2F=2E=2E=2Fetc=2Fpasswd?=", b"")


@pytest.mark.parametrize("field, value", [
    ("subject", "Hello\r\nBcc: victim@example.com"),
    ("subject", "line\nbreak"),
    ("to", "a@example.com\nBcc: victim@example.com"),
    ("cc", ["ok@example.com", "x@example.com\r\n"]),
    ("reply_to", "r@example.com\rX: y"),
    ("from_", "s@example.com\nBcc: v@example.com"),
    # the other line ends of str.splitlines(), which the email package folds on
    ("subject", "Hello\x85Bcc: victim@example.com"),
    ("subject", "Hello\u2028Bcc: victim@example.com"),
    ("subject", "Hello\x0bBcc: victim@example.com"),
    ("to", "a@example.com\u2029"),
    # encoded words the email package decodes to a line break, then writes out as one
    ("subject", "=?utf-8?q?Hello=0D=0ABcc:_victim@example.com?="),
    ("to", "=?utf-8?q?a=0D=0ABcc:_x@evil.example?= <a@example.com>"),
])
def test_header_injection_is_refused_naming_the_header(app: App, field: str, value: Any) -> None:
    kwargs: dict[str, Any] = {"to": "a@example.com", "subject": "s", "text": "t", field: value}
    with pytest.raises(HeaderInjectionError, match="line break") as caught:
        OrderMailer(app).mail(**kwargs)
    header = {"subject": "Subject", "to": "To", "cc": "Cc", "reply_to": "Reply-To",
              "from_": "From"}[field]
    assert str(caught.value).startswith(header)
    assert "header injection" in str(caught.value)


def test_custom_headers_are_checked(app: App) -> None:
    mailer = OrderMailer(app)
    with pytest.raises(HeaderInjectionError, match="X-Tag"):
        mailer.mail(to="a@example.com", subject="s", text="t", headers={"X-Tag": "a\nb"})
    with pytest.raises(HeaderInjectionError, match="invalid header name"):
        mailer.mail(to="a@example.com", subject="s", text="t", headers={"X-Bad: y\nZ": "v"})
    with pytest.raises(MailError, match="pass bcc= to mail"):
        mailer.mail(to="a@example.com", subject="s", text="t", headers={"Bcc": "x@example.com"})
    with pytest.raises(HeaderInjectionError, match=r"X-Tag contains a line break.*decoded"):
        mailer.mail(to="a@example.com", subject="s", text="t",
                    headers={"X-Tag": "=?utf-8?b?YQ0KQmNjOiB4QGV2aWwuZXhhbXBsZQ==?="})
    with pytest.raises(HeaderInjectionError, match="attachment filename"):
        mailer.mail(to="a@example.com", subject="s", text="t",
                    attachments={"=?utf-8?q?a=0D=0AX:_y?=.txt": b""})


def test_encoded_words_in_display_names_are_refused(app: App) -> None:
    # would decode to "<stranger@evil.example>," and show a recipient who gets nothing
    with pytest.raises(InvalidAddress, match="encoded word"):
        OrderMailer(app).mail(to="=?utf-8?b?PHN0cmFuZ2VyQGV2aWwuZXhhbXBsZT4s?= <a@example.com>",
                              subject="s", text="t")
    with pytest.raises(InvalidAddress, match="encoded word"):
        OrderMailer(app).mail(to=("=?utf-8?q?Ann?=", "a@example.com"), subject="s", text="t")


def test_deeply_nested_comments_are_an_invalid_address(app: App) -> None:
    with pytest.raises(InvalidAddress, match="is not an email address"):
        OrderMailer(app).mail(to="(" * 5000 + "a@example.com", subject="s", text="t")


@pytest.mark.parametrize("value", ["not-an-address", "a@", "@b.com", "a b@c.com", "a@@b.com",
                                   "<>", "", "a@x.com b@y.com", "<a@x.com> <b@y.com>",
                                   "a@x.com;b@y.com", "Ada <a@x.com> junk",
                                   "alice@example.org)<bob@example.org>"])
def test_malformed_addresses_are_refused(app: App, value: str) -> None:
    with pytest.raises(InvalidAddress, match="is not an email address"):
        OrderMailer(app).mail(to=value, subject="s", text="t")


def test_non_ascii_local_parts_are_refused_clearly(app: App) -> None:
    with pytest.raises(InvalidAddress, match="non-ASCII characters before the @"):
        OrderMailer(app).mail(to="zoë@example.com", subject="s", text="t")


def test_missing_sender_recipient_or_body_are_clear_errors(app: App) -> None:
    with pytest.raises(InvalidAddress, match=r"no sender.*default_from"):
        Mailer(app).mail(to="a@example.com", subject="s", text="t")
    with pytest.raises(InvalidAddress, match="no recipient"):
        OrderMailer(app).mail(subject="s", text="t")
    with pytest.raises(MailError, match="no body"):
        OrderMailer(app).mail(to="a@example.com", subject="s")


def test_default_from_comes_from_the_config(tmp_path: Path) -> None:
    app = App(plugins=["mail"], root=tmp_path, env="test",
              config={"mail": {"default_from": "Team <team@example.com>"}})
    mail = Mailer(app).mail(to="a@example.com", subject="s", text="t")
    assert mail.from_ == "Team <team@example.com>"


def test_absolute_url_needs_base_url(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "reset.txt").write_text("<%= absolute_url('/reset/' + token) %>\n")
    app = App(plugins=["templates", "mail"], root=tmp_path, env="test",
              config={"mail": {"base_url": "https://shop.example.com/"}})
    mail = OrderMailer(app).mail(to="a@example.com", subject="s", template="reset",
                                 context={"token": "abc"})
    assert mail.text == "https://shop.example.com/reset/abc\n"
    bare = App(plugins=["templates", "mail"], root=tmp_path, env="test")
    with pytest.raises(Exception, match=r"needs \[mail\] base_url"):
        OrderMailer(bare).mail(to="a@example.com", subject="s", template="reset",
                               context={"token": "abc"})

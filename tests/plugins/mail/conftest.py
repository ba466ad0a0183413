"""A real SMTP server for the mail tests: aiosmtpd's ``Controller`` on a free 127.0.0.1 port,
in plain text, with STARTTLS or with implicit TLS, optionally requiring AUTH.

The TLS certificate is self-signed for ``localhost``/``127.0.0.1``, made with the
``cryptography`` package (installed with the dev dependencies); the client trusts it through
``[mail] smtp_ca_file``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None
    tls: bool


@dataclass
class RecordingHandler:
    """Accepts every message (recipients starting with ``refuse`` get a 550)."""

    messages: list[Received] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    refuse_prefix: str = "nobody@"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        if address.startswith(self.refuse_prefix):
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.login.decode() if session.authenticated else None
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      envelope.original_content or envelope.content, login,
                                      server.transport.get_extra_info("ssl_object")
                                      is not None))
        self.arrived.set()
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """A running test server: where it listens and what it received."""

    host: str
    port: int
    handler: RecordingHandler
    ca_file: str | None

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def config(self, **extra: Any) -> dict[str, Any]:
        """``[mail]`` settings that point the SMTP backend here."""
        settings: dict[str, Any] = {"backend": "smtp", "smtp_host": self.host,
                                    "smtp_port": self.port, "smtp_timeout": 5.0}
        if self.ca_file:
            settings["smtp_ca_file"] = self.ca_file
        return {**settings, **extra}


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate and key for localhost/127.0.0.1 (PEM files)."""
    pytest.importorskip("cryptography", reason="TLS tests need a certificate: "
                                                "pip install cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def smtp_server(request: pytest.FixtureRequest) -> Iterator[Callable[..., SmtpServer]]:
    """``start(security="none"|"starttls"|"tls", users={"name": "password"})``: a running
    aiosmtpd server, stopped after the test."""
    controllers: list[Controller] = []

    def start(security: str = "none", users: dict[str, str] | None = None,
              **options: Any) -> SmtpServer:
        handler = RecordingHandler()
        kwargs: dict[str, Any] = dict(options)  # aiosmtpd SMTP options
        ca_file = None
        if security != "none":
            cert, key = request.getfixturevalue("tls_files")
            server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            server_context.load_cert_chain(cert, key)
            ca_file = cert
            if security == "starttls":
                kwargs.update(tls_context=server_context, require_starttls=True)
            else:
                kwargs.update(ssl_context=server_context)
        if users is not None:
            def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                             auth_data: Any) -> AuthResult:
                ok = (isinstance(auth_data, LoginPassword)
                      and users.get(auth_data.login.decode()) == auth_data.password.decode())
                return AuthResult(success=ok, handled=False, auth_data=auth_data)

            kwargs.update(authenticator=authenticate, auth_required=True,
                          # aiosmtpd only counts STARTTLS as TLS; implicit TLS is TLS already
                          auth_require_tls=security == "starttls")
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port,
                                server_hostname="localhost", **kwargs)
        controller.start()
        controllers.append(controller)
        return SmtpServer("127.0.0.1", port, handler, ca_file)

    yield start
    for controller in controllers:
        controller.stop()


def project(tmp_path: Path) -> Path:
    """A project directory with the mailer templates the tests use."""
    folder = tmp_path / "templates" / "order_mailer"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "receipt.txt").write_text("Order <%= order_id %>: thank you.\n")
    (folder / "receipt.html").write_text("<p>Order <%= order_id %>: thank you.</p>\n")
    return tmp_path

"""A real SMTP server for the mail tests: aiosmtpd's ``Controller`` on a free 127.0.0.1 port,
in plain text, with STARTTLS or with implicit TLS, optionally requiring AUTH.

The TLS certificate is self-signed for ``localhost``/``127.0.0.1``, made with the
``cryptography`` package (installed with the dev dependencies); the client trusts it through
``[mail] smtp_ca_file``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from mail_helpers import RecordingHandler, SmtpServer, free_port


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



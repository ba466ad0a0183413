"""What the mail tests share besides fixtures: the recording SMTP handler, the server handle,
a free port and a project with mailer templates (imported by bare name, as
``from mail_helpers import ...``; fixtures are in this directory's ``conftest.py``)."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port



def project(tmp_path: Path) -> Path:
    """A project directory with the mailer templates the tests use."""
    folder = tmp_path / "templates" / "order_mailer"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "receipt.txt").write_text("Order <%= order_id %>: thank you.\n")
    (folder / "receipt.html").write_text("<p>Order <%= order_id %>: thank you.</p>\n")
    return tmp_path

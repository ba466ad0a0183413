"""``rum mail test --to ADDRESS``: send a test message through the configured backend (to
check SMTP settings before real mail depends on them)."""

from __future__ import annotations

import argparse
import socket
import sys
from typing import TYPE_CHECKING

from rum.cli import Command
from rum_mail.delivery import deliver_now
from rum_mail.errors import MailDeliveryError, MailError
from rum_mail.filebackend import FileBackend
from rum_mail.message import Mail
from rum_mail.smtp import SmtpBackend
from rum_mail.state import mail_state

if TYPE_CHECKING:
    from rum import App


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    test = sub.add_parser("test", help="send a test message through [mail] backend")
    test.add_argument("--to", required=True, help="recipient address")
    test.add_argument("--from", dest="sender", default=None,
                      help="sender (default: [mail] default_from)")


async def run(args: argparse.Namespace, app: App) -> int:
    """Build and send the test message; 0 when sent, 1 when delivery failed, 2 on bad input."""
    state = mail_state(app)
    try:
        mail = Mail(from_=args.sender or state.default_from, to=args.to,
                    subject="Rum mail test",
                    text=f"This test message was sent by `rum mail test` from "
                         f"{socket.gethostname()} ({app.root}).\n",
                    html=f"<p>This test message was sent by <code>rum mail test</code> from "
                         f"{socket.gethostname()}.</p>\n", app=app)
        await deliver_now(mail.envelope(), app=app)
    except MailDeliveryError as exc:
        print(f"rum: error: {exc}", file=sys.stderr)
        return 1
    except MailError as exc:
        print(f"rum: error: {exc}", file=sys.stderr)
        return 2
    print(f"sent {mail.subject!r} to {', '.join(mail.recipients)} {_where(state.backend)}")
    return 0


def _where(backend: object) -> str:
    if isinstance(backend, SmtpBackend):
        return f"through {backend.address} ({backend.security})"
    if isinstance(backend, FileBackend):
        return f"into {backend.last_path}"
    return f"with {type(backend).__name__}"


COMMAND = Command("mail", "send a test message through the configured mail backend", run,
                  _configure)

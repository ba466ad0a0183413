"""The SMTP backend: :mod:`smtplib` run in worker threads, with TLS and AUTH.

One connection per message (no pool): simple, and a broken connection never poisons the next
message. At most ``max_connections`` messages are being sent at once (a trio
``CapacityLimiter``), so a burst of mail never takes every worker thread. The blocking calls
are bounded by ``timeout`` (each socket operation); while a message is being sent, trio
cannot cancel the thread, so a cancelled task waits at most that long.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from typing import Literal

import trio

from rum_mail.envelope import Envelope
from rum_mail.errors import MailDeliveryError

logger = logging.getLogger("rum.mail")

Security = Literal["starttls", "tls", "none"]
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


class SmtpBackend:
    """Sends through an SMTP server.

    ``security``: ``"starttls"`` (connect in clear, then upgrade with STARTTLS; a server
    that does not offer it is refused rather than sent to in clear), ``"tls"`` (implicit TLS,
    usually port 465) or ``"none"`` (a trusted local relay only). Certificates are verified
    against the system's CAs, or ``ca_file`` (a PEM bundle) for a private relay.
    ``username``/``password`` log in with AUTH (after TLS). ``port`` 0 picks 587, 465 or 25.
    """

    def __init__(self, host: str = "localhost", port: int = 0, *,
                 security: Security = "starttls", username: str = "", password: str = "",
                 timeout: float = 30.0, ca_file: str | None = None,
                 local_hostname: str | None = None, max_connections: int = 4) -> None:
        if security not in DEFAULT_PORTS:
            raise ValueError(f"security must be one of {', '.join(DEFAULT_PORTS)}, "
                             f"got {security!r}")
        self.host = host
        self.port = port or DEFAULT_PORTS[security]
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout
        self.ca_file = ca_file or None
        self.local_hostname = local_hostname or None
        self.limiter = trio.CapacityLimiter(max_connections)

    @property
    def address(self) -> str:
        """``host:port``, for messages."""
        return f"{self.host}:{self.port}"

    async def send(self, envelope: Envelope) -> None:
        """Deliver ``envelope`` (in a worker thread, at most ``max_connections`` at once)."""
        await trio.to_thread.run_sync(self.send_blocking, envelope, limiter=self.limiter)
        logger.info("mail %r to %s sent through %s", envelope.subject,
                    ", ".join(envelope.recipients), self.address)

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying client context (system CAs, or ``ca_file``)."""
        return ssl.create_default_context(cafile=self.ca_file)

    def send_blocking(self, envelope: Envelope) -> None:
        """Connect, secure, log in and send; every failure is a :class:`MailDeliveryError`."""
        try:
            with self._connect() as client:
                self._secure_and_login(client)
                refused = client.send_message(envelope.message, from_addr=envelope.sender,
                                              to_addrs=list(envelope.recipients))
        except MailDeliveryError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise MailDeliveryError(
                f"{self.address} refused every recipient: {_describe(exc.recipients)}",
                permanent=all(code >= 500 for code in codes)) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise MailDeliveryError(
                f"{self.address} refused the login of {self.username!r} ({exc.smtp_code} "
                f"{_text(exc.smtp_error)}): check [mail] smtp_username and smtp_password") \
                from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise MailDeliveryError(f"{self.address} cannot take this message: {exc} (non-ASCII "
                                    f"addresses need a server with SMTPUTF8)",
                                    permanent=True) from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            what = "the sender" if isinstance(exc, smtplib.SMTPSenderRefused) else "the message"
            raise MailDeliveryError(f"{self.address} refused {what} ({exc.smtp_code} "
                                    f"{_text(exc.smtp_error)})",
                                    permanent=exc.smtp_code >= 500) from exc
        except ssl.SSLError as exc:
            raise MailDeliveryError(f"TLS with {self.address} failed: {exc} (a self-signed or "
                                    "private certificate needs [mail] smtp_ca_file)") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise MailDeliveryError(f"cannot send mail through {self.address}: "
                                    f"{type(exc).__name__}: {exc}") from exc
        if refused:
            # Some recipients took it: retrying would send it to them twice. Log the others.
            logger.warning("mail %r: %s refused some recipients: %s", envelope.subject,
                           self.address, _describe(refused))

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, local_hostname=self.local_hostname,
                                    timeout=self.timeout, context=self.ssl_context())
        return smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname,
                            timeout=self.timeout)

    def _secure_and_login(self, client: smtplib.SMTP) -> None:
        client.ehlo()
        if self.security == "starttls":
            if not client.has_extn("starttls"):
                raise MailDeliveryError(
                    f"{self.address} does not offer STARTTLS, and [mail] smtp_security = "
                    f"\"starttls\" never sends mail or passwords in clear text: use a server "
                    f"with TLS (or \"tls\" for implicit TLS; \"none\" only for a trusted "
                    f"local relay)")
            client.starttls(context=self.ssl_context())
            client.ehlo()
        if self.username:
            if not client.has_extn("auth"):
                raise MailDeliveryError(f"{self.address} does not offer AUTH, but [mail] "
                                        f"smtp_username is set: remove it or use a server "
                                        f"that authenticates")
            client.login(self.username, self.password)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _describe(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{addr} ({code} {_text(msg)})" for addr, (code, msg) in refused.items())

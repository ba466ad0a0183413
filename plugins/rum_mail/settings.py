"""``[mail]`` settings: the schema and the state built from them (with clear errors)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, cast

from rum import Setting
from rum.config import Config
from rum.errors import ConfigError
from rum_mail.backend import MailBackend
from rum_mail.errors import MailError
from rum_mail.filebackend import FileBackend
from rum_mail.headers import address
from rum_mail.smtp import SmtpBackend
from rum_mail.state import MailState
from rum_mail.testbackend import TestBackend

BACKENDS = ("smtp", "file", "test")
#: The backend when ``[mail] backend`` is not set, by environment (others: smtp).
DEFAULT_BACKENDS = {"development": "file", "test": "test"}

SCHEMA: dict[str, dict[str, Any]] = {
    "mail": {
        "backend": Setting(None, str, "how mail is delivered: smtp, file (.eml files; the "
                                      "default in development) or test (kept in memory; the "
                                      "default in test); smtp elsewhere", choices=BACKENDS),
        "default_from": Setting("", str, "sender of mail whose mailer names none, e.g. "
                                         "\"Shop <shop@example.com>\""),
        "base_url": Setting("", str, "origin of absolute links in mail (absolute_url), e.g. "
                                     "\"https://shop.example.com\"; never taken from a request's "
                                     "Host header"),
        "queue": Setting("default", str, "job queue of deliver_later()"),
        "file_path": Setting("tmp/mail", str, "directory of the file backend's .eml files, "
                                              "relative to the project"),
        "smtp_host": Setting("localhost", str, "SMTP server"),
        "smtp_port": Setting(0, int, "SMTP port; 0: 587 with starttls, 465 with tls, 25 with "
                                     "none"),
        "smtp_security": Setting("starttls", str, "starttls (upgrade, required), tls (implicit "
                                                  "TLS) or none (a trusted local relay)",
                                 choices=("starttls", "tls", "none")),
        "smtp_username": Setting("", str, "AUTH user name (empty: no login)"),
        "smtp_password": Setting("", str, "AUTH password; better set RUM_MAIL__SMTP_PASSWORD"),
        "smtp_timeout": Setting(30.0, float, "seconds each SMTP socket operation may take"),
        "smtp_ca_file": Setting("", str, "PEM file of the CAs to trust instead of the "
                                         "system's (a private relay's certificate)"),
        "smtp_local_hostname": Setting("", str, "name sent with EHLO (default: this host's "
                                                "FQDN)"),
        "smtp_max_connections": Setting(4, int, "messages sent at the same time by one "
                                                "process"),
    },
}


def build_state(config: Config) -> MailState:
    """The app's :class:`MailState` from its validated ``[mail]`` settings."""
    kind = config.get_str("mail", "backend") or DEFAULT_BACKENDS.get(config.env, "smtp")
    default_from = config.get_str("mail", "default_from", "") or ""
    if default_from:
        try:
            default_from = address("[mail] default_from", default_from)
        except MailError:
            raise _error(config, "default_from", f"is not one email address: "
                                                 f"{default_from!r} (expected "
                                                 f"'Shop <shop@example.com>')") from None
    base_url = (config.get_str("mail", "base_url", "") or "").rstrip("/")
    if base_url and not base_url.startswith(("http://", "https://")):
        raise _error(config, "base_url", f"must start with http:// or https://, got "
                                         f"{base_url!r}")
    queue = config.get_str("mail", "queue", "default") or ""
    if not queue:
        raise _error(config, "queue", "must name a job queue, e.g. \"default\" or \"mail\"")
    return MailState(backend=_backend(config, kind), backend_name=kind,
                     default_from=default_from, base_url=base_url, queue=queue)


def _backend(config: Config, kind: str) -> MailBackend:
    if kind == "test":
        return TestBackend()
    if kind == "file":
        return FileBackend(cast(Path, config.get_path("mail", "file_path", "tmp/mail")))
    return smtp_backend(config)


def smtp_backend(config: Config) -> SmtpBackend:
    """The :class:`SmtpBackend` the ``smtp_*`` settings describe (checked)."""
    host = config.get_str("mail", "smtp_host", "localhost") or ""
    port = config.get_int("mail", "smtp_port", 0) or 0
    security = config.get_str("mail", "smtp_security", "starttls") or "starttls"
    username = config.get_str("mail", "smtp_username", "") or ""
    password = config.get_str("mail", "smtp_password", "") or ""
    timeout = config.get_float("mail", "smtp_timeout", 30.0) or 0.0
    limit = config.get_int("mail", "smtp_max_connections", 4) or 0
    ca_file = config.get_path("mail", "smtp_ca_file", "") if config.get_str(
        "mail", "smtp_ca_file") else None
    if not host:
        raise _error(config, "smtp_host", "is empty: name the SMTP server")
    if not 0 <= port <= 65535:
        raise _error(config, "smtp_port", f"must be a TCP port (1-65535, or 0 for the "
                                          f"default), got {port}")
    if not timeout > 0:
        raise _error(config, "smtp_timeout", "must be a positive number of seconds")
    if limit < 1:
        raise _error(config, "smtp_max_connections", "must be at least 1")
    if bool(username) != bool(password):
        missing, given = (("smtp_password", "smtp_username") if username
                          else ("smtp_username", "smtp_password"))
        raise _error(config, missing, f"is empty while {given} is set: set both "
                                      f"smtp_username and smtp_password, or neither",
                     source_key=given)
    if username and security == "none" and not _is_loopback(host):
        raise _error(config, "smtp_security", f"is \"none\" with a login to {host}: the "
                                              f"password would cross the network in clear "
                                              f"text; use \"starttls\" or \"tls\"")
    if ca_file is not None and not ca_file.is_file():
        raise _error(config, "smtp_ca_file", f"names {str(ca_file)!r}, which is not a file")
    return SmtpBackend(host, port, security=cast(Any, security), username=username,
                       password=password, timeout=timeout,
                       ca_file=str(ca_file) if ca_file else None,
                       local_hostname=config.get_str("mail", "smtp_local_hostname", "") or None,
                       max_connections=limit)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _error(config: Config, key: str, problem: str, *, source_key: str | None = None) \
        -> ConfigError:
    where = config.sources.get(("mail", source_key or key)) or config.describe_file()
    return ConfigError(f"{where}: [mail] {key} {problem}")

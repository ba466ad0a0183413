"""Hook implementations of the mail plugin: ``[mail]`` settings, the app's backend, and the
``DeliverMail`` job registered with the jobs plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rum import hookimpl
from rum_mail.job import DeliverMail
from rum_mail.settings import SCHEMA, build_state

if TYPE_CHECKING:
    from rum import App
    from rum.cli import Command
    from rum.config import Config

name = "mail"
# Both optional: templates render mailer templates, jobs run deliver_later().
works_with = ("templates", "jobs")


@hookimpl
def rum_config_schema() -> dict[str, dict[str, Any]]:
    """``[mail]``: the backend, the default sender, SMTP settings."""
    return SCHEMA


@hookimpl
def rum_configure(config: Config, app: App) -> None:
    """Build ``app.extensions["mail"]`` and register ``DeliverMail`` with the job queue."""
    app.extensions["mail"] = build_state(config)
    if app.plugins.pm.get_plugin("jobs") is not None:
        register = getattr(app.jobs, "register", None)
        if register is not None:
            register(DeliverMail)


@hookimpl
def rum_cli_commands(app: App | None) -> list[Command]:
    """``rum mail test --to ADDRESS``."""
    from rum_mail.cli import COMMAND

    return [COMMAND]

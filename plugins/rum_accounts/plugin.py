"""Hook implementations of the accounts plugin: ``[accounts]`` and the per-app toolkit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rum import hookimpl
from rum_accounts.accounts import Accounts
from rum_accounts.settings import SCHEMA

if TYPE_CHECKING:
    from rum.app import App
    from rum.config import Config

name = "accounts"
#: ``[general] secret_key`` is parsed with the sessions plugin's rules, and the log-in flow
#: this plugin serves is the sessions plugin's ``login``/``logout``.
requires = ("sessions",)
#: ``throttle_store = "database"`` counts in the ORM's database (its table: ``migrations/``)
works_with = ("orm",)


@hookimpl
def rum_config_schema() -> dict[str, dict[str, Any]]:
    """``[accounts]``: Argon2id parameters, password length cap, log-in throttling."""
    return {"accounts": dict(SCHEMA)}


@hookimpl
def rum_configure(config: Config, app: App) -> None:
    """Build the app's :class:`Accounts` (``app.extensions["accounts"]``)."""
    app.extensions["accounts"] = Accounts.from_config(config, app)

"""Hook implementations of the auth plugin: the "basic" and "token" handlers and ``[auth]``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rum import hookimpl
from rum.config import Setting
from rum.errors import ConfigError
from rum_auth.basic import BasicAuth
from rum_auth.bearer import TokenAuth

if TYPE_CHECKING:
    from rum.app import App

name = "auth"


@hookimpl
def rum_config_schema() -> dict[str, dict[str, Any]]:
    """``[auth]``: defaults for handlers chosen by name (``auth = "basic"``)."""
    return {"auth": {
        "realm": Setting("Rum", str, "realm shown in WWW-Authenticate challenges"),
        "basic_user": Setting(None, str, "user name for the \"basic\" handler"),
        "basic_password": Setting(None, str, "password for the \"basic\" handler"),
        "tokens": Setting([], list, "bearer tokens accepted by the \"token\" handler"),
    }}


@hookimpl
def rum_auth_handlers(app: App) -> dict[str, Any]:
    """The ``basic`` and ``token`` handler factories; credentials default to ``[auth]``."""
    config = app.config
    where = config.describe_file()

    def basic(**kwargs: Any) -> BasicAuth:
        kwargs.setdefault("realm", config.get_str("auth", "realm") or "Rum")
        if "users" not in kwargs and "user" not in kwargs:
            user = config.get_str("auth", "basic_user")
            password = config.get_str("auth", "basic_password")
            if not user or password is None:
                raise ConfigError(f"the \"basic\" auth handler needs credentials: set "
                                  f"[auth] basic_user and basic_password in {where} (or "
                                  f"RUM_AUTH__BASIC_PASSWORD), or use BasicAuth(user=..., "
                                  f"password=...) in the controller")
            kwargs.update(user=user, password=password)
        return BasicAuth(**kwargs)

    def token(tokens: Any = None, **kwargs: Any) -> TokenAuth:
        kwargs.setdefault("realm", config.get_str("auth", "realm") or "Rum")
        if tokens is None and "lookup" not in kwargs:
            tokens = [str(t) for t in config.get_list("auth", "tokens")]
            if not tokens:
                raise ConfigError(f"the \"token\" auth handler needs tokens: set [auth] tokens "
                                  f"= [\"...\"] in {where}, or use TokenAuth(tokens=[...]) / "
                                  f"TokenAuth(lookup=...) in the controller")
        return TokenAuth(tokens, **kwargs)

    return {"basic": basic, "token": token}

"""The admin's per-app state, ``app.extensions["admin"]``: settings, models, templates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rum import ConfigError
from rum_admin.registry import ModelAdmin
from rum_templates import Templates

if TYPE_CHECKING:
    from rum import AppLike
    from rum_forms import ModelForm
    from rum_orm import Model

TEMPLATES = Path(__file__).resolve().parent / "templates"


class AdminState:
    """What the admin knows about one app (``admin_state(app)``).

    ``prefix`` is where it is mounted (``/admin``); ``models`` the :class:`ModelAdmin` of
    each model it shows, by slug; ``templates`` the engine that renders the pages under
    ``rum_admin/templates`` (``admin/layout.html``...) with the app's template globals
    (``form_with``, ``csrf_input``, ``flash_messages``, ``turbo_script_tag``...).
    """

    def __init__(self, *, prefix: str, models: list[ModelAdmin], user_ids: frozenset[str],
                 per_page: int, max_per_page: int, statement_timeout_ms: int,
                 templates: Templates) -> None:
        self.prefix = prefix
        self.models: dict[str, ModelAdmin] = {m.slug: m for m in models}
        self.user_ids = user_ids
        self.per_page = per_page
        self.max_per_page = max_per_page
        self.statement_timeout_ms = statement_timeout_ms
        self.templates = templates
        #: the ``ModelForm`` class of each model, by slug (made on first use)
        self.forms: dict[str, type[ModelForm]] = {}

    def register(self, model: type[Model], /, **options: Any) -> ModelAdmin:
        """Show ``model`` in this app's admin (options as for ``rum_admin.register``)."""
        entry = ModelAdmin.build(model, **options)
        self.models[entry.slug] = entry
        return entry

    def url(self, *parts: Any) -> str:
        """``prefix`` joined with ``parts``: ``url("orders", 7)`` → ``/admin/orders/7``."""
        return "/".join([self.prefix, *(str(p) for p in parts)])

    def list_url(self, entry: ModelAdmin) -> str:
        """The list page of ``entry``'s model."""
        return self.url(entry.slug)

    @property
    def entries(self) -> list[ModelAdmin]:
        """The models shown, in registration order (for the navigation)."""
        return list(self.models.values())


def admin_state(app: AppLike) -> AdminState:
    """The admin's state of ``app``; a clear error when the admin plugin is not enabled."""
    state = app.extensions.get("admin")
    if not isinstance(state, AdminState):
        raise ConfigError(f"the admin pages need the admin plugin: add \"admin\" to [plugins] "
                          f"enabled in {app.config.describe_file()}")
    return state


def check_prefix(prefix: str, where: str) -> str:
    """``[admin] prefix``, checked: an absolute path without a trailing slash."""
    if not prefix.startswith("/") or prefix == "/" or prefix.endswith("/") or \
            any(c in prefix for c in "<>?#% \t"):
        raise ConfigError(f"{where}: [admin] prefix must be a path such as \"/admin\" (leading "
                          f"slash, no trailing slash, no parameters), got {prefix!r}")
    return prefix

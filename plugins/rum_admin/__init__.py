"""Rum admin: record pages for registered models and live dashboards, mounted at ``/admin``.

Public API (see ``docs/admin.md``):

- :func:`register` / :class:`ModelAdmin` — which models the admin shows and how;
- :class:`AdminController` — base class of admin pages, guarded by the access gate
  (:class:`AdminAuth`: logged-in users the app's ``rum_admin_allowed`` hook or
  ``[admin] user_ids`` admit; anonymous visitors are sent to ``[sessions] login_url``, others
  get 403); :func:`admin_allowed` is the same check for code that is not a controller;
- :func:`render_admin` — renders a template under ``rum_admin/templates`` (which extends
  ``admin/layout.html``);
- :func:`admin_state` — the app's :class:`AdminState` (``prefix``, ``url(...)``, ``entries``).

The dashboards (``rum_admin.dashboards``) are built from the same pieces.
"""

from rum_admin.access import AdminAuth, admin_allowed
from rum_admin.controller import AdminController, render_admin
from rum_admin.registry import AdminDefinitionError, ModelAdmin, register
from rum_admin.state import AdminState, admin_state

__all__ = ["AdminAuth", "AdminController", "AdminDefinitionError", "AdminState", "ModelAdmin",
           "admin_allowed", "admin_state", "register", "render_admin"]

"""The app's own plugin: its ``[tracker]`` settings, its routes and its cron entry.

Apps can use the same hooks as the bundled plugins; this one is passed to
``App(plugins=[...])`` instead of being installed through an entry point.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rum import Setting, hookimpl

if TYPE_CHECKING:
    from rum import App, Route


def assets(app: App) -> Any:
    """The app's fingerprinted static files (built on first use)."""
    from tracker.assets import Assets

    found = app.extensions.get("tracker.assets")
    if found is None:
        found = app.extensions["tracker.assets"] = Assets(app.root / "static")
    return found


def presence_meta(ws: Any) -> dict[str, Any]:
    """What the orders page's "who is here" list shows for a connection: the signed-in user's
    name, kept in the session at log-in (``tracker.accounts.log_in``)."""
    session = ws.request.session
    name = session.get("name") if session is not None else None
    return {"id": ws.user, "name": name or "guest"}


class TrackerPlugin:
    """Settings (``[tracker]``), routes and the summary schedule of the order tracker."""

    name = "tracker"

    @hookimpl
    def rum_config_schema(self) -> dict[str, dict[str, Any]]:
        return {"tracker": {
            "create_database": Setting(True, bool, "create the database at start-up if the "
                                                   "server does not have it"),
            "migrate": Setting(True, bool, "apply pending migrations at start-up"),
            "seed": Setting(True, bool, "add the demo user and orders to an empty database"),
            "summary_cron": Setting("*/30 * * * * *", str,
                                    "when the order summary job runs (6 fields: seconds "
                                    "first; empty: never)"),
        }}

    @hookimpl
    def rum_routes(self, app: App) -> list[Route]:
        from rum_static import StaticFiles
        from tracker.accounts import LogIn, LogOut, PasswordReset, PasswordResetRequest, SignUp
        from tracker.api import api_routes
        from tracker.assets import PREFIX
        from tracker.controllers import Hello, OrderAttachment, Orders, Outbox, ShipOrder

        return [
            Hello.route("/", name="hello"),
            SignUp.route("/signup", name="signup"),
            LogIn.route("/login", name="login"),
            LogOut.route("/logout", name="logout"),
            PasswordResetRequest.route("/password/reset", name="password_reset_request"),
            PasswordReset.route("/password/reset/<token>", name="password_reset"),
            Orders.route("/orders", name="orders"),
            ShipOrder.route("/orders/<int:id>/ship", name="ship_order"),
            OrderAttachment.route("/orders/<int:id>/attachment", name="order_attachment"),
            Outbox.route("/outbox", name="outbox"),
            StaticFiles(assets(app).directory).route(f"{PREFIX}/<path:path>", name="assets"),
            *api_routes(app),
        ]

    @hookimpl
    def rum_configure(self, app: App) -> None:
        from rum_turbo import set_presence_meta

        set_presence_meta(app, presence_meta)

    @hookimpl
    def rum_template_globals(self, app: App) -> dict[str, Any]:
        return {"asset_path": assets(app).path}

    @hookimpl
    async def rum_shutdown(self, app: App) -> None:
        found = app.extensions.get("tracker.assets")
        if found is not None:
            found.close()

    @hookimpl
    def rum_cron_entries(self, app: App) -> list[Any]:
        """The summary cron entry, for the jobs plugin's clock."""
        from tracker.jobs import OrderSummary

        cron = app.config.get_str("tracker", "summary_cron")
        return [OrderSummary.schedule(None, cron, name="order-summary")] if cron else []

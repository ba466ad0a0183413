"""``[admin]`` settings and registrations: mistakes are start-up errors that name the fix;
``models = ["all"]`` finds the app's models; a list query past the time cap is a 503."""

from __future__ import annotations

import sys

import pytest
from admin_helpers import ADMIN_ID, log_in, running
from admin_models import Product

import rum_admin
from rum import App, ConfigError


def test_register_checks_names_against_the_model() -> None:
    with pytest.raises(rum_admin.AdminDefinitionError, match=r"'nme'.*fields: id, name"):
        rum_admin.ModelAdmin.build(Product, list_display=["nme"])
    with pytest.raises(rum_admin.AdminDefinitionError, match="list of field names"):
        rum_admin.ModelAdmin.build(Product, search_fields="name")
    with pytest.raises(rum_admin.AdminDefinitionError, match="ordering '-nope'"):
        rum_admin.ModelAdmin.build(Product, ordering="-nope")
    with pytest.raises(rum_admin.AdminDefinitionError, match="slug 'dashboards'"):
        rum_admin.ModelAdmin.build(Product, slug="dashboards")
    entry = rum_admin.ModelAdmin.build(Product)
    assert (entry.slug, entry.label, entry.ordering) == ("admin_products", "Product", "-id")
    assert entry.form_fields == ("name", "category", "price", "in_stock", "notes")


@pytest.mark.parametrize(("extra", "message"), [
    ('prefix = "admin/"', "prefix must be a path"),
    ('prefix = "/"', "prefix must be a path"),
    ("per_page = 500", "per_page"),
    ("statement_timeout_ms = -1", "statement_timeout_ms"),
    ("dashboard_window = 0", r"\[admin\] dashboard settings: DashboardSettings.window must be "
                             "a positive number"),
    ("dashboard_refresh = -2", "refresh_interval must be a positive number"),
])
def test_bad_settings_are_start_up_errors(make_admin_app, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_admin_app(extra)


def test_dashboard_settings_come_from_the_admin_table(make_admin_app) -> None:
    from rum_admin.dashboards import dashboards_of

    app = make_admin_app("dashboard_window = 600\ndashboard_refresh = 5\nrecord_requests = false")
    settings = dashboards_of(app).settings
    assert (settings.window, settings.refresh_interval, settings.record_requests) == \
        (600.0, 5.0, False)
    assert settings.keep >= settings.window


def test_bad_model_references_name_the_setting(make_admin_app, tmp_path) -> None:
    (tmp_path / "Rum.toml").write_text(
        '[plugins]\nenabled = ["templates", "orm", "sessions", "forms", "admin"]\n'
        f'[general]\nsecret_key = "{"7d" * 32}"\n[admin]\nmodels = ["no_such_module:Order"]\n')
    with pytest.raises(ConfigError, match=r"\[admin\] models: cannot import 'no_such_module'"):
        App([], root=tmp_path)
    (tmp_path / "Rum.toml").write_text(
        '[plugins]\nenabled = ["templates", "orm", "sessions", "forms", "admin"]\n'
        f'[general]\nsecret_key = "{"7d" * 32}"\n[admin]\nmodels = ["Order"]\n')
    with pytest.raises(ConfigError, match='must be "module:Class"'):
        App([], root=tmp_path)


def test_all_shows_every_model_of_the_app(tmp_path) -> None:
    (tmp_path / "admin_all_models.py").write_text(
        "from rum_orm import Model\n\n\nclass Invoice(Model):\n    number: str\n\n\n"
        "class Supplier(Model):\n    name: str\n")
    sys.path.insert(0, str(tmp_path))
    try:
        __import__("admin_all_models")
        (tmp_path / "Rum.toml").write_text(
            '[plugins]\nenabled = ["templates", "orm", "sessions", "forms", "admin"]\n'
            f'[general]\nsecret_key = "{"7d" * 32}"\n[admin]\nmodels = ["all"]\n')
        app = App([], root=tmp_path)
        # only the app's own models: not Product, defined outside the app's root
        assert list(rum_admin.admin_state(app).models) == ["invoices", "suppliers"]
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("admin_all_models", None)


async def test_a_list_query_past_the_time_cap_is_a_503(make_admin_app):
    app = make_admin_app("statement_timeout_ms = 1")
    rum_admin.admin_state(app).register(Product, search_fields=["name", "notes"])
    schema = ("CREATE TABLE admin_products (id bigserial PRIMARY KEY, name text NOT NULL, "
              "category text NOT NULL, price numeric(8, 2) NOT NULL, in_stock boolean NOT NULL "
              "DEFAULT true, notes text)")
    async with running(app, schema) as (_, client):
        await app.storage.execute(
            "INSERT INTO admin_products (name, category, price, notes) SELECT 'p' || i, 'rum', "
            "1, repeat(md5(i::text), 8) FROM generate_series(1, 200000) i")
        await log_in(client, ADMIN_ID)
        slow = await client.get("/admin/admin_products", params={"q": "no such thing"})
        assert slow.status_code == 503
        assert "statement_timeout_ms" in slow.text
        # the cap is per transaction: the app's own queries are not limited afterwards
        assert await app.storage.fetchval(
            "SELECT count(*) FROM admin_products WHERE notes ILIKE '%zz%'") >= 0


def test_record_requests_off_registers_no_timing_hooks(make_admin_app) -> None:
    """With ``record_requests = false`` requests are not timed at all: the dashboards'
    request observer and exception hook are not registered, and an app with no other observer
    notes nothing per request (on, they are; no per-request hook is needed)."""
    def timing(app) -> list[str]:
        return [i.plugin_name for hook in ("rum_request", "rum_response", "rum_exception",
                                           "rum_request_observer")
                for i in getattr(app.plugins.hook, hook).get_hookimpls()
                if i.plugin_name.startswith("admin")]

    off = make_admin_app("record_requests = false")
    assert timing(off) == []
    if off.plugins.pm.get_plugin("metrics") is None:
        assert off.tally.observers == [] and off._note is None
    assert timing(make_admin_app("")) == ["admin.dashboards.timing"] * 2

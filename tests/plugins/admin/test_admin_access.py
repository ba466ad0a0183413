"""The admin's gate: anonymous visitors go to the log-in page, logged-in users the app's hook
refuses get 403, users the hook or ``[admin] user_ids`` admit see the pages."""

from __future__ import annotations

from admin_helpers import ADMIN_ID, CONFIG_ADMIN_ID, NOT_ADMIN_ID, log_in, running
from admin_models import SCHEMA


async def test_anonymous_visitors_are_sent_to_the_login_url(make_admin_app):
    async with running(make_admin_app(), SCHEMA) as (_, client):
        for path in ("/admin", "/admin/admin_products", "/admin/admin_products/new"):
            response = await client.get(path)
            assert response.status_code == 302, path
            assert response.headers["location"] == "/login"
        api = await client.get("/admin", headers={"accept": "application/json"})
        assert api.status_code == 403


async def test_a_user_the_hook_refuses_gets_403(make_admin_app):
    async with running(make_admin_app(), SCHEMA) as (_, client):
        await log_in(client, NOT_ADMIN_ID)
        response = await client.get("/admin")
        assert response.status_code == 403
        assert "only for administrators" in response.text


async def test_a_user_nobody_admits_is_refused_by_default(make_admin_app):
    async with running(make_admin_app(), SCHEMA) as (_, client):
        await log_in(client, 3)   # the hook answers None, not in user_ids: deny
        assert (await client.get("/admin")).status_code == 403


async def test_the_hook_and_user_ids_admit(make_admin_app):
    async with running(make_admin_app(), SCHEMA) as (_, client):
        for user in (ADMIN_ID, CONFIG_ADMIN_ID):
            await log_in(client, user)
            page = await client.get("/admin")
            assert page.status_code == 200
            assert '<a href="/admin/admin_products">Product</a>' in page.text
            assert '<a href="/admin/dashboards/jobs">Jobs</a>' in page.text
            assert "/_rum/turbo.js" in page.text      # Turbo's script, from the turbo plugin


async def test_the_prefix_setting_moves_the_admin(make_admin_app):
    async with running(make_admin_app('prefix = "/backoffice"'), SCHEMA) as (_, client):
        await log_in(client, ADMIN_ID)
        assert (await client.get("/backoffice")).status_code == 200
        assert (await client.get("/admin")).status_code == 404

"""The sample app as an API client and an attacker see it: problem JSON errors, no cookies for
token-authenticated API calls, and no login from a cookie-less post (login CSRF)."""

from __future__ import annotations

import httpx
import pytest
from sample_support import API_TOKEN, DEMO_EMAIL, login

from rum_http.testing import serve_app

pytestmark = pytest.mark.postgres
BEARER = {"authorization": f"Bearer {API_TOKEN}"}


async def test_api_clients_get_problem_json_and_no_cookie(make_app) -> None:
    async with serve_app(make_app()) as url, httpx.AsyncClient(base_url=url) as client:
        r = await client.get("/api/orders")  # no Accept: still an API route
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.json()["status"] == 401 and r.json()["instance"] == "/api/orders"

        r = await client.get("/nowhere", headers={"accept": "application/json"})
        assert r.status_code == 404 and r.json()["title"] == "Not Found"
        client.cookies.clear()  # that was not an API route: it may start a session

        for response in (await client.get("/api/orders", headers=BEARER),
                         await client.post("/api/orders", headers=BEARER, json={
                             "user_id": 1, "customer": "API", "item": "Widget",
                             "total": "1.00"})):
            assert response.status_code in (200, 201), response.text
            assert response.headers.get_list("set-cookie") == []
        assert not client.cookies


async def test_cookieless_login_post_is_refused(make_app) -> None:
    async with serve_app(make_app()) as url, httpx.AsyncClient(base_url=url) as curl:
        forged = await curl.post("/login", data={"email": DEMO_EMAIL, "password": "rum-demo"})
        assert forged.status_code == 403 and "no session cookie" in forged.text
        assert (await curl.get("/orders")).status_code == 302  # not logged in

        r = await login(curl)  # the browser flow: GET the form (cookie + token), then POST
        assert r.status_code == 303 and r.headers["location"] == "/orders"
        assert (await curl.get("/orders")).status_code == 200

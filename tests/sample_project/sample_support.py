"""Helpers shared by the sample project's tests (path setup, login, CSRF tokens)."""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import trio

SAMPLE = Path(__file__).resolve().parents[2] / "sample_project"
if str(SAMPLE) not in sys.path:
    sys.path.insert(0, str(SAMPLE))

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "rum-demo"
API_TOKEN = "dev-api-token"


def merged(base: dict[str, dict[str, Any]], extra: dict[str, dict[str, Any]]) -> dict:
    """``base`` with the tables of ``extra`` merged in, key by key."""
    out = {section: dict(table) for section, table in base.items()}
    for section, table in extra.items():
        out.setdefault(section, {}).update(table)
    return out


def csrf_from(page: str) -> str:
    """The CSRF token of the first form on ``page``."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no csrf_token field in the page:\n{page[:2000]}"
    return html.unescape(match.group(1))


async def login(client: httpx.AsyncClient, email: str = DEMO_EMAIL,
                password: str = DEMO_PASSWORD) -> httpx.Response:
    """Sign in through the login form (GET for the token, POST the form)."""
    page = await client.get("/login")
    assert page.status_code == 200
    return await client.post("/login", data={"email": email, "password": password,
                                             "csrf_token": csrf_from(page.text)})


async def receive_until(ws, text: str, timeout: float = 10) -> str:
    """The first message containing ``text``."""
    with trio.fail_after(timeout):
        while True:
            message = await ws.receive(timeout=timeout)
            if text in message:
                return message

"""Hostile ``Cookie`` headers over a real socket: answered at once, never a stall or a 500.

Before the fix the kernel unquoted a quoted cookie value with ``http.cookies.SimpleCookie``,
whose unquoting is quadratic in the backslashes of the value on the Pythons before 3.11.10
and 3.12.6 (CVE-2024-7592): one 60 KB ``Cookie: x="\\\\\\..."`` header kept the event loop
busy for ~8 s, on any request that read ``request.cookies`` (every session lookup).
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import trio

from rum import App, Controller, Request, Response
from rum_http.testing import serve_app

SECRET = "33" * 32


class Home(Controller):
    async def get(self, request: Request) -> Response:
        s = request.session
        return Response.json({"anonymous": s.is_anonymous,
                              "theme": request.cookies.get("theme")})


def make_app(tmp_path: Path) -> App:
    return App([Home.route("/")], plugins=["http", "sessions"], root=tmp_path,
               config={"general": {"secret_key": SECRET}, "http": {"access_log": False}})


async def test_a_quoted_cookie_full_of_backslashes_is_answered_at_once(tmp_path: Path) -> None:
    hostile = 'x="' + "\\" * 60_000 + '"'
    async with serve_app(make_app(tmp_path)) as base, httpx.AsyncClient(base_url=base) as client:
        started = time.perf_counter()
        with trio.fail_after(5):
            r = await client.get("/", headers={"cookie": hostile})
        elapsed = time.perf_counter() - started
        assert r.status_code == 200 and r.json()["anonymous"] is True
        assert elapsed < 0.5, f"a 60 KB cookie took {elapsed:.2f} s"
        for octal_heavy in ('x="' + "\\0" * 30_000 + '"', 'x="' + '\\"' * 30_000 + '"'):
            started = time.perf_counter()
            assert (await client.get("/", headers={"cookie": octal_heavy})).status_code == 200
            assert time.perf_counter() - started < 0.5
        # quoted values are still unescaped as RFC 2109 clients write them
        r = await client.get("/", headers={"cookie": r'theme="dark \"blue\" \101\\"'})
        assert r.json()["theme"] == 'dark "blue" A\\'

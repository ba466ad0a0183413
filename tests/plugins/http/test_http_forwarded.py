"""``[http] trusted_proxies``: X-Forwarded-For/-Proto set request.client and request.scheme
only when the connection comes from a trusted proxy; forged entries left of the proxy's own
are ignored. Over a real socket (the test client connects from 127.0.0.1)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from rum import App, ConfigError, Controller, Response
from rum_http import serve_app
from rum_http.forwarded import TrustedProxies


class Who(Controller):
    async def get(self, request: Any) -> Response:
        host = request.client[0] if request.client else "-"
        return Response.json({"client": host, "scheme": request.scheme})


async def ask(url: str, headers: dict[str, str]) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=url) as client:
        data: dict[str, str] = (await client.get("/", headers=headers)).json()
        return data


def app(root: Path, trusted: list[str] | None) -> App:
    http = {} if trusted is None else {"trusted_proxies": trusted}
    return App([Who.route("/")], plugins=["http"], root=root, config={"http": http})


async def test_headers_from_a_trusted_proxy_set_client_and_scheme(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rum.access")
    async with serve_app(app(tmp_path, ["127.0.0.1", "10.0.0.0/8"])) as url:
        assert await ask(url, {"x-forwarded-for": "203.0.113.9",
                               "x-forwarded-proto": "https"}) == {
            "client": "203.0.113.9", "scheme": "https"}
        # the client wrote the left part: only the rightmost untrusted address counts
        assert (await ask(url, {"x-forwarded-for": "6.6.6.6, 203.0.113.9, 10.1.2.3"}))[
            "client"] == "203.0.113.9"
        assert await ask(url, {"x-forwarded-for": "not-an-ip"}) == {
            "client": "127.0.0.1", "scheme": "http"}
        assert (await ask(url, {}))["client"] == "127.0.0.1"
    assert any(r.getMessage().startswith('203.0.113.9 - "GET /') for r in caplog.records)


@pytest.mark.parametrize("trusted", [None, ["10.0.0.1"]])
async def test_headers_from_anyone_else_are_ignored(tmp_path: Path,
                                                    trusted: list[str] | None) -> None:
    async with serve_app(app(tmp_path, trusted)) as url:
        assert await ask(url, {"x-forwarded-for": "203.0.113.9",
                               "x-forwarded-proto": "https"}) == {
            "client": "127.0.0.1", "scheme": "http"}


def test_a_bad_entry_is_refused_naming_the_setting(tmp_path: Path) -> None:
    from rum_http import ServerSettings

    bad = app(tmp_path, ["127.0.0.1", "proxy.local"])
    with pytest.raises(ConfigError, match=r"\[http\] trusted_proxies: 'proxy.local'"):
        ServerSettings.from_config(bad.config)
    proxies = TrustedProxies(["::1", "192.168.0.0/16"])
    assert proxies.trusts("::ffff:192.168.1.20") and proxies.trusts("::1")
    assert not proxies.trusts("192.169.0.1") and not proxies.trusts(None)

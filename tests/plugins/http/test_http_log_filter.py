"""Secrets in paths stay out of the access log: route parameters whose names look secret
(``<token>``, ``<api_key>``...) are written as ``[FILTERED]`` (``[http] log_filter``)."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from rum import App, ConfigError, Controller, Request, Response
from rum_http.logfilter import PathFilter
from rum_http.testing import serve_app


class Echo(Controller):
    async def get(self, request: Request) -> Response:
        return Response.text(" ".join(str(v) for v in request.path_params.values()))


ROUTES = [Echo.route("/password/reset/<token>"), Echo.route("/users/<int:id>/keys/<api_key>"),
          Echo.route("/authors/<author>")]


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "rum.access"]


async def test_secret_route_parameters_are_filtered_out_of_the_access_log(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rum.access")
    app = App(ROUTES, plugins=["http"], root=tmp_path)
    secret = "Zm9vYmFy.c2lnbmF0dXJl"
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.get(f"/password/reset/{secret}")).text == secret
        assert (await client.get("/users/7/keys/ak%20secret")).text == "7 ak secret"
        assert (await client.get("/authors/ada")).text == "ada"
        assert (await client.get("/password/reset")).status_code == 404
    lines = access_lines(caplog)
    assert len(lines) == 4
    assert '"GET /password/reset/[FILTERED] HTTP/1.1" 200' in lines[0]
    assert '"GET /users/7/keys/[FILTERED] HTTP/1.1" 200' in lines[1]
    assert '"GET /authors/ada HTTP/1.1" 200' in lines[2]  # "author" is not a secret
    assert not [line for line in lines if secret in line or "secret" in line]
    records = [r for r in caplog.records if r.name == "rum.access"]
    assert records[0].path == "/password/reset/[FILTERED]"  # the structured field too


async def test_the_filter_is_configurable(tmp_path: Path,
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rum.access")
    app = App(ROUTES, plugins=["http"], root=tmp_path,
              config={"http": {"log_filter": ["author"]}})
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        await client.get("/password/reset/abc")
        await client.get("/authors/ada")
    lines = access_lines(caplog)
    assert '"GET /password/reset/abc HTTP/1.1"' in lines[0]
    assert '"GET /authors/[FILTERED] HTTP/1.1"' in lines[1]
    with pytest.raises(ConfigError, match=r"\[http\] log_filter must be a list of strings"):
        async with serve_app(App(ROUTES, plugins=["http"], root=tmp_path,
                                 config={"http": {"log_filter": [1]}})):
            pass


def test_only_whole_segments_of_the_value_are_replaced() -> None:
    class Route:
        path = "/r/<token>/<name>"

    logged = PathFilter().logged_path("/r/abc/abc-abc", Route(), {"token": "abc",
                                                                 "name": "abc-abc"})
    assert logged == "/r/[FILTERED]/abc-abc"

"""rum-cors, the third-party-style plugin in contrib/: installed from its own pyproject.toml,
discovered by entry point, enabled from Rum.toml, and seen over a real socket.

The distribution is installed into a throwaway virtual environment layered on this one
(``venv_helpers.overlay_venv``), not into the shared environment itself: other test runs in the
same environment load "every installed plugin" when nothing is configured, and must not see a
plugin appear and vanish under them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio
from venv_helpers import overlay_venv

from rum import App, ConfigError, Controller, Request, Response
from rum.plugins import installed_plugins
from rum_http.testing import serve_app

CORS_SRC = Path(__file__).resolve().parents[3] / "contrib" / "rum_cors"


def _import_plugin() -> object:
    """The plugin module straight from the source tree (for in-process tests)."""
    if str(CORS_SRC / "src") not in sys.path:
        sys.path.insert(0, str(CORS_SRC / "src"))
    from rum_cors import plugin

    return plugin


class Items(Controller):
    async def get(self, request: Request) -> Response:
        return Response.json([1, 2]).header("x-request-id", request.id)

    async def post(self, request: Request) -> Response:
        return Response.json(request.json(), 201)


def make_app(tmp_path: Path, **cors: object) -> App:
    return App([Items.route("/api/items"), Items.route("/other")],
               plugins=["http", _import_plugin()], root=tmp_path, config={"cors": cors})


async def test_preflight_and_simple_requests(tmp_path: Path) -> None:
    app = make_app(tmp_path, allow_origins=["https://app.example.com", "https://*.example.org"],
                   expose_headers=["x-request-id"], max_age=120, paths=["/api/"])
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        r = await client.options("/api/items", headers={
            "origin": "https://app.example.com", "access-control-request-method": "PUT",
            "access-control-request-headers": "Content-Type, Authorization"})
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == "https://app.example.com"
        assert r.headers["access-control-allow-methods"] == "GET, HEAD, POST, PUT, PATCH, DELETE"
        assert r.headers["access-control-allow-headers"] == \
            "content-type, authorization, x-requested-with"
        assert r.headers["access-control-max-age"] == "120"
        assert "access-control-allow-credentials" not in r.headers

        r = await client.get("/api/items", headers={"origin": "https://shop.example.org"})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://shop.example.org"
        assert r.headers["access-control-expose-headers"] == "x-request-id"
        assert r.headers["vary"] == "Origin"

        r = await client.get("/api/items", headers={"origin": "https://evil.example.net"})
        assert r.status_code == 200
        assert "access-control-allow-origin" not in r.headers
        assert r.headers["vary"] == "Origin"

        r = await client.options("/api/items", headers={
            "origin": "https://evil.example.net", "access-control-request-method": "GET"})
        assert r.status_code == 403
        assert "origin https://evil.example.net is not in [cors] allow_origins" in r.text

        r = await client.options("/api/items", headers={
            "origin": "https://app.example.com", "access-control-request-method": "TRACE"})
        assert r.status_code == 403 and "method TRACE" in r.text

        r = await client.options("/api/items", headers={
            "origin": "https://app.example.com", "access-control-request-method": "POST",
            "access-control-request-headers": "x-secret"})
        assert r.status_code == 403 and "header(s) x-secret" in r.text

        # outside [cors] paths: no CORS at all
        r = await client.get("/other", headers={"origin": "https://app.example.com"})
        assert "access-control-allow-origin" not in r.headers
        # no Origin: not a CORS request
        r = await client.get("/api/items")
        assert "access-control-allow-origin" not in r.headers and "vary" not in r.headers


async def test_any_origin_answers_a_star_and_never_with_credentials(tmp_path: Path) -> None:
    app = make_app(tmp_path, allow_origins=["*"], allow_headers=["*"])
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        r = await client.options("/api/items", headers={
            "origin": "null", "access-control-request-method": "POST",
            "access-control-request-headers": "x-anything"})
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in r.headers
        assert r.headers["access-control-allow-headers"] == "x-anything"
        r = await client.post("/api/items", json={"a": 1},
                              headers={"origin": "http://localhost:3000"})
        assert r.status_code == 201
        assert r.headers["access-control-allow-origin"] == "*"
    # "*" with credentials used to echo every origin (null too) with Allow-Credentials: any
    # site could read the answers to requests made with its visitors' cookies
    with pytest.raises(ConfigError, match=r"\[cors\] allow_origins = \[\"\*\"\] with "
                                          r"allow_credentials = true.*list the origins"):
        make_app(tmp_path, allow_origins=["*"], allow_credentials=True)
    listed = make_app(tmp_path, allow_origins=["https://*.example.org"], allow_credentials=True)
    async with serve_app(listed) as base, httpx.AsyncClient(base_url=base) as client:
        r = await client.get("/api/items", headers={"origin": "https://a.example.org"})
        assert r.headers["access-control-allow-origin"] == "https://a.example.org"
        assert r.headers["access-control-allow-credentials"] == "true"
        r = await client.get("/api/items", headers={"origin": "null"})
        assert "access-control-allow-origin" not in r.headers


async def test_a_long_origin_against_several_stars_costs_no_backtracking(
        tmp_path: Path) -> None:
    # As a regular expression, https://*.*.*.example.org took 9 s on a 2 KB origin of dots
    # (seconds on this 1.5 KB one; cubic in the length), with the event loop blocked: every
    # other client waited.
    app = make_app(tmp_path, allow_origins=["https://*.*.*.example.org"])
    hostile = "https://" + "." * 1500 + "x"
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        with trio.fail_after(1):
            r = await client.get("/api/items", headers={"origin": hostile})
            assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
            r = await client.options("/api/items", headers={
                "origin": hostile, "access-control-request-method": "GET"})
            assert r.status_code == 403
        r = await client.get("/api/items", headers={"origin": "https://a.b.c.example.org"})
        assert r.headers["access-control-allow-origin"] == "https://a.b.c.example.org"
        r = await client.get("/api/items", headers={"origin": "https://a.b.example.org"})
        assert "access-control-allow-origin" not in r.headers


def test_bad_origin_in_config_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[cors\] allow_origins entry 'example.com' is not "
                                          r"an origin.*'https://example.com'"):
        make_app(tmp_path, allow_origins=["example.com"])


# -- installed from its own pyproject.toml ----------------------------------------------------


@pytest.fixture(scope="module")
def overlay_python(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A venv layered on this environment with rum-cors installed from contrib/rum_cors."""
    root = tmp_path_factory.mktemp("cors-install")
    source = root / "rum_cors"  # a copy: building writes build/ and *.egg-info next to sources
    shutil.copytree(CORS_SRC, source, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__"))
    python = overlay_venv(root)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-build-isolation", "--no-index", str(source)],
                   check=True, capture_output=True)
    yield python


def test_main_distribution_does_not_ship_rum_cors() -> None:
    from setuptools import find_packages

    found = find_packages(str(CORS_SRC.parent), include=["rum*"])
    assert "rum_metrics" in found
    assert not [p for p in found if p.startswith("rum_cors")]


@pytest.mark.slow
def test_rum_plugins_lists_cors_from_its_distribution(overlay_python: Path,
                                                      tmp_path: Path) -> None:
    (tmp_path / "Rum.toml").write_text('[plugins]\nenabled = ["cors"]\n')
    out = subprocess.run([str(overlay_python), "-m", "rum.cli", "--root", str(tmp_path),
                          "plugins", "--json"], check=True, capture_output=True, text=True)
    infos = {info["name"]: info for info in json.loads(out.stdout)}
    assert infos["cors"]["distribution"] == "rum-cors"
    assert infos["cors"]["module"] == "rum_cors.plugin"
    assert {"rum_config_schema", "rum_configure", "rum_request", "rum_response"} <= set(
        infos["cors"]["hooks"])
    # and it is really not installed in the shared environment
    assert "cors" not in installed_plugins()


@pytest.mark.slow
async def test_enabled_from_rum_toml_over_a_real_socket(overlay_python: Path, tmp_path: Path,
                                                        unused_port: int) -> None:
    (tmp_path / "Rum.toml").write_text(
        '[plugins]\nenabled = ["http", "cors"]\n\n'
        f'[http]\nport = {unused_port}\naccess_log = false\n\n'
        '[cors]\nallow_origins = ["https://app.example.com"]\n')
    (tmp_path / "app.py").write_text(
        "from rum import App, Controller, Response\n\n"
        "class Hello(Controller):\n"
        "    async def get(self, request):\n"
        "        return Response.json({'hello': 'cors'})\n\n"
        "app = App(routes=[Hello.route('/hello')])\n")
    process = await trio.lowlevel.open_process(
        [str(overlay_python), "-m", "rum.cli", "--root", str(tmp_path), "run"],
        cwd=str(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{unused_port}"
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            with trio.fail_after(15):
                while True:
                    try:
                        r = await client.get("/hello", headers={"origin": "https://app.example.com"})
                        break
                    except httpx.TransportError:
                        if process.poll() is not None:
                            err = await process.stderr.receive_some()  # type: ignore[union-attr]
                            raise AssertionError(f"rum run exited: {err!r}") from None
                        await trio.sleep(0.05)
            assert r.json() == {"hello": "cors"}
            assert r.headers["access-control-allow-origin"] == "https://app.example.com"
            r = await client.options("/hello", headers={
                "origin": "https://app.example.com", "access-control-request-method": "GET"})
            assert r.status_code == 204
            assert r.headers["access-control-allow-origin"] == "https://app.example.com"
    finally:
        process.terminate()
        with trio.fail_after(10):
            await process.wait()

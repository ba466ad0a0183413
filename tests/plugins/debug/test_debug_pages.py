"""The debug plugin's pages over a real socket: the development error page (the app's frames
first, with source), clean production 404/500 pages, the app's own templates replacing them,
and problem+json kept for API clients. Headless Chromium screenshots go to
``test-artifacts/debug/``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio
from browser_helpers import launch_chromium, needs_chromium

from rum import Controller, HTTPError, Response
from rum_http.testing import serve_app

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "debug"
BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
SECRET = '[general]\nsecret_key = "' + "5e" * 32 + '"\n'


def total_for(order_id: int) -> int:
    lines = {1: [3, 4]}
    return sum(lines[order_id])  # KeyError for unknown orders: the app's bug


class Checkout(Controller):
    async def get(self, request):
        return Response.text(str(total_for(int(request.query.get("order", "2")))))


class Teapot(Controller):
    async def get(self, request):
        raise HTTPError("short and stout", status=418, headers={"x-teapot": "yes"})


class OnlyGet(Controller):
    async def get(self, request):
        return Response.text("ok")


ROUTES = [Checkout.route("/checkout"), Teapot.route("/teapot"), OnlyGet.route("/only-get")]


def make(rum_app_factory, env: str, plugins=("http", "debug"), toml: str = ""):
    return rum_app_factory(ROUTES, plugins=list(plugins), env=env, toml=SECRET + toml)


async def test_development_page_shows_app_frames_first_with_source(rum_app_factory) -> None:
    app = make(rum_app_factory, "development")
    async with serve_app(app) as url, httpx.AsyncClient() as client:
        response = await client.get(f"{url}/checkout?order=2",
                                    headers={**BROWSER, "authorization": "Bearer s3cret",
                                             "x-request-id": "dbg-1"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<style>" in page and "500 · KeyError" in page
    # the app's frames come first, innermost first, with their source lines highlighted
    app_part, _, framework_part = page.partition("framework frames")
    assert app_part.index("in <b>total_for</b>") < app_part.index("in <b>get</b>")
    assert '<span class="hl"><i>' in app_part
    assert "return sum(lines[order_id])  # KeyError" in app_part
    assert "test_debug_pages.py" in app_part
    # Rum's frames are collapsed below, in a <details>
    assert "<details><summary>" in page and "rum/app.py" in framework_part
    assert "rum/app.py" not in app_part
    # request details, without the Authorization value, and the copy-as-text block
    assert "GET http://127.0.0.1:" in page and "dbg-1" in page
    assert "s3cret" not in page and "(hidden)" in page
    assert '<textarea id="rum-trace" readonly>' in page and "Traceback (most recent call last)" \
        in page


async def test_production_pages_are_clean(rum_app_factory) -> None:
    app = make(rum_app_factory, "production")
    async with serve_app(app) as url, httpx.AsyncClient() as client:
        crash = await client.get(f"{url}/checkout", headers=BROWSER)
        missing = await client.get(f"{url}/chekout", headers=BROWSER)
        teapot = await client.get(f"{url}/teapot", headers=BROWSER)
        wrong = await client.post(f"{url}/only-get", headers=BROWSER)
    assert crash.status_code == 500 and "<style>" in crash.text
    assert "Something went wrong" in crash.text
    for leak in ("Traceback", "KeyError", "total_for", "test_debug_pages", "lines[order_id]"):
        assert leak not in crash.text
    assert missing.status_code == 404 and "Not Found" in missing.text
    assert "did you mean /checkout?" in missing.text and "<style>" in missing.text
    assert teapot.status_code == 418 and "short and stout" in teapot.text
    assert teapot.headers["x-teapot"] == "yes"
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, HEAD"


async def test_api_clients_keep_problem_json(rum_app_factory) -> None:
    app = make(rum_app_factory, "development")
    async with serve_app(app) as url, httpx.AsyncClient() as client:
        crash = await client.get(f"{url}/checkout", headers={"accept": "application/json"})
        missing = await client.get(f"{url}/nope", headers={"accept": "application/json"})
    assert crash.status_code == 500
    assert crash.headers["content-type"] == "application/problem+json"
    assert crash.json()["detail"].startswith("KeyError") and "traceback" in crash.json()
    assert missing.status_code == 404 and missing.json()["title"] == "Not Found"


async def test_app_templates_replace_the_pages(rum_app_factory, tmp_path) -> None:
    errors = tmp_path / "templates" / "errors"
    errors.mkdir(parents=True)
    (errors / "404.html").write_text("<h1>Lost at sea</h1><p><%= detail %></p>"
                                     "<small><%= request_id %></small>")
    (errors / "500.html").write_text("<h1>Our fault</h1><%= broken(%>")  # a syntax error
    app = make(rum_app_factory, "production", plugins=("http", "templates", "debug"))
    async with serve_app(app) as url, httpx.AsyncClient() as client:
        missing = await client.get(f"{url}/nowhere", headers={**BROWSER, "x-request-id": "r-9"})
        crash = await client.get(f"{url}/checkout", headers=BROWSER)
        teapot = await client.get(f"{url}/teapot", headers=BROWSER)
    assert missing.status_code == 404
    assert "<h1>Lost at sea</h1>" in missing.text and "no route matches /nowhere" in missing.text
    assert "r-9" in missing.text
    # a broken errors/500.html falls back to the built-in page (and is logged)
    assert crash.status_code == 500 and "Something went wrong" in crash.text
    assert "Our fault" not in crash.text
    assert teapot.status_code == 418 and "short and stout" in teapot.text  # no 418.html


def screenshots(url: str) -> dict[str, str]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots = {"debug": str(ARTIFACTS / "development-error-page.png"),
             "404": str(ARTIFACTS / "production-404.png")}
    seen: dict[str, str] = {}
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{url}/checkout?order=7")
            seen["title"] = page.title()
            seen["header"] = page.inner_text("header.error h1")
            seen["first_frame"] = page.inner_text(".frame.app .loc")
            seen["details_open"] = str(page.eval_on_selector("details", "d => d.open"))
            page.screenshot(path=shots["debug"], full_page=True)
        finally:
            browser.close()
    return {**seen, **{f"shot_{k}": v for k, v in shots.items()}}


def screenshot_404(url: str, path: str) -> str:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(f"{url}/orders/missing")
            text = page.inner_text("body")
            page.screenshot(path=path, full_page=True)
        finally:
            browser.close()
    return text


@pytest.mark.browser
@needs_chromium
async def test_screenshots_of_the_development_page_and_the_production_404(
        rum_app_factory, tmp_path_factory, record_property) -> None:
    dev = make(rum_app_factory, "development")
    async with serve_app(dev) as url:
        with trio.fail_after(90):
            seen = await trio.to_thread.run_sync(screenshots, url)
    assert seen["title"] == "500 KeyError" and seen["header"] == "7"
    assert "total_for" in seen["first_frame"] and seen["details_open"] == "False"
    prod = rum_app_factory(ROUTES, plugins=["http", "debug"], env="production",
                           root=tmp_path_factory.mktemp("prod"))
    async with serve_app(prod) as url:
        with trio.fail_after(90):
            text = await trio.to_thread.run_sync(screenshot_404, url, seen["shot_404"])
    assert "404" in text and "Not Found" in text and "Back to the home page" in text
    for key in ("shot_debug", "shot_404"):
        record_property("screenshot", seen[key])
        assert Path(seen[key]).stat().st_size > 5000

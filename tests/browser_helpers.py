"""Headless Chromium for the browser suites: Debian's chromium, driven by Playwright's sync API
from a worker thread (it must not block the trio loop serving the pages).

Tests are not packages: suites import this module by bare name (``from browser_helpers import
...``); pytest puts this directory on ``sys.path`` because it holds the root ``conftest.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import trio

from rum_websockets import pubsub_for

CHROMIUM: str | None = next(
    (p for p in ("/usr/bin/chromium", shutil.which("chromium") or "",
                 shutil.which("chromium-browser") or "") if p and Path(p).exists()),
    None)
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
needs_chromium = pytest.mark.skipif(CHROMIUM is None,
                                    reason="chromium not found (apt-get install chromium)")


def launch_chromium(playwright: Any) -> Any:
    """A headless Chromium from ``sync_playwright()``'s object; the caller closes it."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)


def wait_for_subscribers(app: Any, channel: str, count: int, token: trio.lowlevel.TrioToken,
                         timeout: float) -> None:
    """From the scenario's worker thread: wait until ``channel`` of the app's pub/sub hub has
    ``count`` subscribers (the pages' ``<turbo-stream-source>`` sockets); fail after
    ``timeout`` seconds."""

    async def poll() -> None:
        hub = pubsub_for(app)
        with trio.fail_after(timeout):
            while hub.subscriber_count(channel) < count:
                await trio.sleep(0.02)

    trio.from_thread.run(poll, trio_token=token)

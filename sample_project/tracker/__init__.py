"""The order tracker: Rum's sample app. ``create_app()`` builds it; ``rum run`` serves it.

Where each plugin is used is listed in ``docs/sample_project.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rum import App

ROOT = Path(__file__).resolve().parent.parent


def create_app(*, config: dict[str, Any] | None = None, root: Path | None = None,
               env: str | None = None) -> App:
    """The sample app, configured by ``Rum.toml`` (+ overlays, env vars, ``config``)."""
    from tracker.plugin import TrackerPlugin
    from tracker.setup import CreateDatabase, MigrateAndSeed

    return App(plugins=[TrackerPlugin(), CreateDatabase(), MigrateAndSeed()],
               config=config, root=root or ROOT, env=env)

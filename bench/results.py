"""Appending a dated section to ``bench/RESULTS.md`` (shared by the benchmark scripts).

Scripts run as ``python bench/<name>.py``, so they import this module by bare name.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def environment() -> str:
    """The machine facts every section repeats: CPUs and Python version."""
    return f"{os.cpu_count()} CPUs shared with other work, Python {sys.version.split()[0]}"


def append_section(title: str, description: str, table: str) -> None:
    """Append ``## title (timestamp)`` with ``description`` and a Markdown ``table``."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(f"\n## {title} ({stamp})\n\n{description}\n\n{table}\n")

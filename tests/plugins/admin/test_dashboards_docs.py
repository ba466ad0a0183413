"""The examples of docs/admin.md's Dashboards section run, in order, over a real socket and
PostgreSQL; its settings table matches ``DashboardSettings``.

The section's examples are fenced as ``py`` so that the guide's own test
(``test_admin_docs.py``, which runs the ``python`` blocks) leaves them to this one.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from dashboards_helpers import PLUGINS, SECRET
from doc_examples import run_example

from rum_admin.dashboards import DashboardSettings

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "admin.md"


def section() -> tuple[int, str]:
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index("\n## Dashboards\n")
    end = text.find("\n## ", start + 1)
    return text.count("\n", 0, start) + 1, text[start:end if end > 0 else len(text)]


def test_the_settings_table_matches_dashboard_settings() -> None:
    _, text = section()
    rows = dict(re.findall(r"^\| `(\w+)` \| `([^`]+)` \|", text, re.M))
    defaults = {f.name: f.default for f in dataclasses.fields(DashboardSettings)}
    assert set(rows) == set(defaults)
    for name, shown in rows.items():
        assert shown == repr(defaults[name]), name


async def test_the_dashboards_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           database_url: str) -> None:
    (tmp_path / "Rum.toml").write_text(
        f"[plugins]\nenabled = {json.dumps(['http', *PLUGINS])}\n"
        f'[general]\nsecret_key = "{SECRET}"\n[database]\nurl = "{database_url}"\n')
    monkeypatch.chdir(tmp_path)
    offset, text = section()
    examples = [(offset + text.count("\n", 0, m.start()) + 1, m.group(1))
                for m in re.finditer(r"```py\n(.*?)```", text, re.S)]
    assert len(examples) == 2
    namespace: dict[str, object] = {"__name__": "dashboards_guide"}
    for line, code in examples:
        await run_example(GUIDE, line + 1, code, namespace, dont_inherit=True)

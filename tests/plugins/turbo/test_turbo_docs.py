"""The Python examples of docs/turbo.md's model broadcasts and refresh sections run, in order,
in a running app on a real database, and send what the guide says (presence's guide,
docs/presence.md, is run by test_presence_docs.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import trio
from doc_examples import run_example

from rum_websockets import subscribe

pytestmark = pytest.mark.postgres
GUIDE = Path(__file__).resolve().parents[3] / "docs" / "turbo.md"


def section_examples() -> list[tuple[int, str]]:
    text = GUIDE.read_text(encoding="utf-8")
    start, end = text.index("## Model broadcasts"), text.index("## Presence")
    out = []
    for match in re.finditer(r"```python\n(.*?)```", text[start:end], re.S):
        line = text.count("\n", 0, start + match.start()) + 2
        out.append((line, match.group(1)))
    return out


async def test_model_broadcast_and_refresh_examples_run(rum_app_factory, database_url, db):
    await db.execute("CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL)")
    await db.execute("CREATE TABLE notes (id serial PRIMARY KEY, text text NOT NULL)")
    app = rum_app_factory(plugins=["orm", "websockets", "turbo"], config={
        "general": {"secret_key": "ab" * 32}, "database": {"url": database_url}})
    examples = section_examples()
    assert len(examples) == 4
    async with app.running(), subscribe("turbo-streams:orders", app=app) as orders, \
            subscribe("turbo-refresh:notes", app=app) as notes:
        namespace: dict[str, object] = {"__name__": "turbo_guide", "app": app}
        for line, code in examples:
            await run_example(GUIDE, line, code, namespace)
        with trio.fail_after(5):
            first, second = await orders.receive(), await orders.receive()
            refreshes = [await notes.receive(), await notes.receive()]
        assert first.startswith('<turbo-stream action="append" target="orders">')
        assert ">tea</li>" in first
        assert second.startswith('<turbo-stream action="replace" target="order_1">')
        assert ">coffee</li>" in second
        assert refreshes == ['{"request_id":null}'] * 2  # Note.create, broadcast_refresh
        with trio.move_on_after(0.5):
            extra = await orders.receive()
            raise AssertionError(f"the rolled-back create was broadcast: {extra!r}")

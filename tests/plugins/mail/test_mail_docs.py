"""Every Python example of docs/mail.md runs, in order, in a running app (real PostgreSQL job
queue, test backend), with the guide's ERB templates written to the project; its [mail]
settings table names exactly the settings the plugin declares, with their defaults."""

from __future__ import annotations

import re
import textwrap
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from doc_examples import run_example

from rum import App
from rum_mail.settings import SCHEMA
from rum_mail.testing import outbox

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "mail.md"


def blocks(language: str) -> list[tuple[int, str]]:
    text = GUIDE.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1))
            for m in re.finditer(rf"^ *```{language}\n(.*?)^ *```", text, re.S | re.M)]


@dataclass
class Order:
    id: int = 42
    name: str = "Ada"
    email: str = "ada@example.com"
    lines: list[str] = field(default_factory=lambda: ["Tea <green>", "Rum"])
    total: str = "12.50"


@pytest.mark.postgres
async def test_mail_guide_examples_run(tmp_path: Path, database_url: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    templates = blocks("erb")
    assert len(templates) == 2
    for _, source in templates:
        name = re.match(r"<%# (\S+) %>\n", source)
        assert name, "each template example starts with <%# path %>"
        path = tmp_path / name.group(1)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    app = App(plugins=["orm", "templates", "jobs", "mail"], root=tmp_path, env="test",
              config={"database": {"url": database_url},
                      "mail": {"base_url": "https://shop.example.com"}})
    namespace: dict[str, object] = {"__name__": "mail_guide", "order": Order()}
    async with app.running():
        await app.jobs.ensure_schema()  # type: ignore[attr-defined]
        await app.storage.execute("CREATE TABLE orders (id int PRIMARY KEY, status text);"
                                  "INSERT INTO orders VALUES (42, 'new')")
        examples = blocks("python")
        assert len(examples) == 7
        for line, code in examples:
            code = textwrap.dedent(code)  # the security example is indented in a list
            await run_example(GUIDE, line, code, namespace)
        assert await app.storage.fetchval("SELECT status FROM orders") == "paid"
        sent = outbox()
    printed = capsys.readouterr().out
    assert "Your order #42 -> ada@example.com" in printed                 # PrintBackend
    assert "Subject contains a line break or NUL (\\r)" in printed       # HeaderInjectionError
    assert [m.subject for m in sent] == ["Your order #42", "Invoice for order #42",
                                         "Your order #42"]
    receipt = sent[0]
    assert receipt.text == ("Hello Ada,\n\nThank you for your order #42:\n- Tea <green>\n"
                            "- Rum\nTotal: 12.50\n\n"
                            "Track it at https://shop.example.com/orders/42\n")
    assert "<li>Tea &lt;green&gt;</li>" in (receipt.html or "")
    invoice = sent[1]
    assert invoice.bcc == ["archive@example.com"] and invoice.cc == ["accounts@example.com"]
    assert invoice.reply_to == ["help@example.com"]
    assert [a[0] for a in invoice.attachments] == ["invoice-42.pdf", "terms.txt"]
    assert invoice.message["X-Order-Id"] == "42"


def test_the_settings_table_matches_the_plugin() -> None:
    tables = [tomllib.loads(code) for _, code in blocks("toml")]
    reference = tables[-1]["mail"]
    assert set(reference) | {"backend"} == set(SCHEMA["mail"])
    for key, value in reference.items():
        assert value == SCHEMA["mail"][key].default, key
    for table in tables:
        assert set(table.get("mail", {})) <= set(SCHEMA["mail"])
